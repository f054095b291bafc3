import { Daemon, type DaemonConfig } from '../support/daemon';
import { AUDIBLE_RMS, type Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { joinWithTones, median, toneCatalog, toneFrames, transitions } from './audio-support';

const LOW = 400;
const HIGH = 1000;

/**
 * Song changes measured at a real listener: what is heard between two songs, gapless and with a
 * crossfade. Two songs of distinct tones alternate (the playlist never repeats a song back to
 * back), and the listener reports each 10 ms frame's level at both frequencies.
 */
describe('audio: song transitions heard in the room', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function play(room: string, device: string, catalog: string, audio: DaemonConfig[string]): Promise<{ listener: Listener; app: AppClient }> {
    const daemon = await Daemon.start({ catalog: { location: catalog }, audio });
    cleanup.push(() => daemon.stop());
    const app = await AppClient.connect(daemon.baseTopic);
    cleanup.push(() => app.close());
    const listener = await joinWithTones(room, [LOW, HIGH]);
    cleanup.push(() => listener.stop());
    const started = await app.command(device, { type: 'start_continuous_music', session_id: room });
    expect(started).toMatchObject({ ok: true });
    return { listener, app };
  }

  async function heardTransitions(l: Listener, count: number, timeoutMs: number) {
    await l.lines.until(() => transitions(toneFrames(l), LOW, HIGH).length >= count, `${count} song changes`, timeoutMs);
    return transitions(toneFrames(l), LOW, HIGH);
  }

  test('gapless: no silence is added between songs (≤ 20 ms at each change), for mp3 and Ogg songs', async () => {
    // Short read-ahead: the next song starts decoding only half a second before it is needed.
    const catalog = await toneCatalog('gapless', [
      { title: 'Low', language: 'Test', genres: ['gapless'], hz: LOW, seconds: 3, format: 'mp3' },
      { title: 'High', language: 'Test', genres: ['gapless'], hz: HIGH, seconds: 3, format: 'ogg' },
    ]);
    const { listener } = await play('audio-gapless-changes', 'aabbccddeeb1', catalog, { readAheadMs: 500 });
    const changes = await heardTransitions(listener, 3, 30000);
    const silentMs = changes.slice(0, 3).map((c) => c.between.filter((f) => f.rms < AUDIBLE_RMS / 4).length * 10);
    expect(Math.max(...silentMs)).toBeLessThanOrEqual(20);
    // Back to back, not overlapping: at most the frames that hold the boundary have both tones.
    expect(Math.max(...changes.slice(0, 3).map((c) => c.overlap.length))).toBeLessThanOrEqual(2);
  }, 60000);

  test('crossfade: both songs are heard together for about audio.crossfadeMs, at constant loudness', async () => {
    const crossfadeMs = 1000;
    const catalog = await toneCatalog('crossfade', [
      { title: 'Low', language: 'Test', genres: ['crossfade'], hz: LOW, seconds: 4, format: 'mp3' },
      { title: 'High', language: 'Test', genres: ['crossfade'], hz: HIGH, seconds: 4, format: 'mp3' },
    ]);
    const { listener } = await play('audio-crossfade', 'aabbccddeeb2', catalog, { crossfadeMs });
    const changes = await heardTransitions(listener, 2, 30000);
    const frames = toneFrames(listener);
    const steady = median(frames.filter((f) => f.rms >= AUDIBLE_RMS).map((f) => f.rms));
    for (const change of changes.slice(0, 2)) {
      // Each tone is above a tenth of its level (-20 dB) for all but the outer 6.4 % at each end
      // of an equal-power crossfade: 87 % of its length.
      const overlapMs = change.overlap.length * 10;
      expect(overlapMs).toBeGreaterThanOrEqual(0.87 * crossfadeMs * 0.75);
      expect(overlapMs).toBeLessThanOrEqual(0.87 * crossfadeMs * 1.25);
      // Equal power: unlike a linear crossfade (-3 dB in the middle, for hundreds of ms), the
      // loudness holds. Measured over 50 ms windows: a lone 10 ms frame that a starved listener's
      // jitter buffer concealed on a loaded machine is not the crossfade's loudness.
      const windows = loudnessWindows(change.overlap.map((f) => f.rms), 5);
      expect(20 * Math.log10(Math.min(...windows) / steady)).toBeGreaterThan(-1.5);
      expect(20 * Math.log10(Math.max(...windows) / steady)).toBeLessThan(1.5);
    }
  }, 60000);
  test('skips are click-free: the energy outside the two tones stays far below the music', async () => {
    // A cut mid-cycle splatters energy across the spectrum (measured: about half the music's level
    // with audio.fadeMs 0); a 30 ms fade-out and fade-in keep it near an eighth.
    const catalog = await toneCatalog('click', [
      { title: 'Low', language: 'Test', genres: ['click'], hz: LOW, seconds: 10, format: 'mp3' },
      { title: 'High', language: 'Test', genres: ['click'], hz: HIGH, seconds: 10, format: 'mp3' },
    ]);
    const { listener, app } = await play('audio-click', 'aabbccddeeb3', catalog, { fadeMs: 30 });
    let playing = await listener.hearTone([LOW, HIGH], 'the first song');
    const steady = median(toneFrames(listener).filter((f) => f.rms >= AUDIBLE_RMS).map((f) => f.rms));
    const residues: number[] = [];
    for (let i = 0; i < 4; i++) {
      const mark = listener.mark;
      await app.command('aabbccddeeb3', { type: 'skip_music' });
      playing = await listener.hearTone([LOW, HIGH].filter((hz) => hz !== playing), `the song after skip ${i + 1}`, mark);
      const residue = toneFrames(listener, mark).map((f) => Math.sqrt(Math.max(0, f.rms ** 2 - (f.tones[String(LOW)] ?? 0) ** 2 - (f.tones[String(HIGH)] ?? 0) ** 2)));
      residues.push(Math.max(...residue) / steady);
    }
    expect(Math.max(...residues)).toBeLessThan(0.25);
  }, 60000);
});

/** RMS of each run of `n` consecutive frames (frames' RMS combined as power). */
function loudnessWindows(rms: number[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + n <= rms.length; i++) out.push(Math.sqrt(rms.slice(i, i + n).reduce((a, r) => a + r * r, 0) / n));
  return out;
}
