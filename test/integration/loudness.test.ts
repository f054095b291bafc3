import { readFileSync, writeFileSync } from 'node:fs';
import type { Daemon } from '../support/daemon';
import type { Listener } from '../support/listener';
import { daemonAndListener, median, toneCatalog, toneFrames } from './audio-support';

const LOUD_HZ = 880;
const QUIET_HZ = 440;

/**
 * Even loudness as heard: two songs mastered 12 dB apart (sine tones at 0.5 and 0.125 of full
 * scale), measured by ffmpeg's ebur128 in the background at start-up, then heard by a listener.
 */
describe('loudness normalisation, heard in the room', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  /** The heard level (dBFS of the tone) of each song, from 30 steady frames of each. */
  async function heardLevels(room: string, device: string, target: string): Promise<{ loud: number; quiet: number; daemon: Daemon }> {
    const catalog = await toneCatalog(`loud-${target}`, [
      { title: 'Loud Master', language: 'Test', genres: ['loud'], hz: LOUD_HZ, seconds: 3, format: 'mp3', amplitude: 0.5 },
      { title: 'Quiet Master', language: 'Test', genres: ['loud'], hz: QUIET_HZ, seconds: 3, format: 'mp3', amplitude: 0.125 },
    ]);
    // Without duration_ms: the length comes from the measurement too.
    const manifest = JSON.parse(readFileSync(catalog, 'utf8')) as { songs: Array<Record<string, unknown>> };
    for (const s of manifest.songs) delete s.duration_ms;
    writeFileSync(catalog, JSON.stringify(manifest));
    const { daemon, app, listener } = await daemonAndListener({ catalog, audio: { loudnessTarget: target }, room, tones: [LOUD_HZ, QUIET_HZ], cleanup });
    if (target !== 'off') await daemon.lines.until((l) => l.filter((x) => x.message === 'loudness measured').length >= 2, 'both songs measured', 20000);
    expect(await app.command(device, { type: 'start_continuous_music', session_id: room })).toMatchObject({ ok: true });
    const level = async (hz: number, l: Listener): Promise<number> => {
      const mark = l.mark;
      await l.hearTone([hz], `the ${hz} Hz song`, mark, 15000, 40);
      // The middle of the run just heard (away from the song's edges).
      const run = toneFrames(l, mark).filter((f) => (f.tones[String(hz)] ?? 0) > 0.01);
      return 20 * Math.log10(median(run.slice(-30, -5).map((f) => f.tones[String(hz)]!)));
    };
    const [loud, quiet] = [await level(LOUD_HZ, listener), await level(QUIET_HZ, listener)];
    const status = await app.command(device, { type: 'get_status' });
    const duration = (status.state as { song: { duration_ms: number | null } }).song.duration_ms;
    if (target === 'off') expect(duration).toBeNull();
    else expect(Math.abs(duration! - 3000)).toBeLessThanOrEqual(30);
    return { loud, quiet, daemon };
  }

  test('on (-16 LUFS): the two songs are heard within 1.5 LU of each other', async () => {
    const { loud, quiet, daemon } = await heardLevels('loud-on', 'aabbccddeef1', '-16');
    process.stdout.write(`loudness on: loud ${loud.toFixed(1)} dB, quiet ${quiet.toFixed(1)} dB\n`);
    expect(Math.abs(loud - quiet)).toBeLessThanOrEqual(1.5);
    const measured = daemon.lines.items.filter((l) => l.message === 'loudness measured').map((l) => (l as unknown as { lufs: number }).lufs);
    // ebur128 saw them about 12 LU apart (K-weighting tells 440 Hz and 880 Hz apart by about 0.5 dB).
    expect(Math.abs(Math.abs(measured[0]! - measured[1]!) - 12)).toBeLessThanOrEqual(1);
  }, 60000);

  test('off: they are heard 12 dB apart, as mastered', async () => {
    const { loud, quiet } = await heardLevels('loud-off', 'aabbccddeef2', 'off');
    process.stdout.write(`loudness off: loud ${loud.toFixed(1)} dB, quiet ${quiet.toFixed(1)} dB\n`);
    expect(Math.abs(loud - quiet - 12)).toBeLessThanOrEqual(1);
  }, 60000);
});
