import { AUDIBLE_RMS } from '../support/listener';
import { daemonAndListener, toneCatalog, toneFrames } from './audio-support';

const START_HZ = 300;
const HZ_PER_S = 100;
/** The position (ms) a frame of the sweep was taken from, by its pitch. */
const positionOf = (hz: number) => ((hz - START_HZ) / HZ_PER_S) * 1000;

/**
 * Seek as heard: the song is a sweep (300 Hz rising by 100 Hz a second), so the pitch the listener
 * hears tells where in the song it is.
 */
describe('seek_music, heard in the room', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  test('the song goes on from the asked position (within 100 ms), without a click; beyond the song is invalid_field', async () => {
    const catalog = await toneCatalog('seek', [{ title: 'Sweep', language: 'Test', genres: ['sweep'], hz: START_HZ, seconds: 20, format: 'mp3', sweepHzPerSecond: HZ_PER_S }]);
    const room = 'seek-room';
    const { app, listener } = await daemonAndListener({ catalog, audio: { loudnessTarget: 'off' }, room, tones: [START_HZ], cleanup });
    const device = 'aabbccddeec1';
    expect(await app.command(device, { type: 'start_continuous_music', session_id: room })).toMatchObject({ ok: true, state: { song: { duration_ms: 20000 } } });
    await listener.lines.until((items) => items.filter((h) => (h.rms ?? 0) >= AUDIBLE_RMS).length >= 50, 'half a second of the sweep', 20000);

    const mark = listener.mark;
    const reply = await app.command(device, { type: 'seek_music', position_ms: 12000 });
    expect(reply).toMatchObject({ ok: true, state: { position_ms: 12000 } });
    // The first steady frames from near the new position (12 s: 1500 Hz); the sweep before the seek was below 600 Hz.
    const frames = () => toneFrames(listener, mark).filter((f) => f.rms >= AUDIBLE_RMS);
    await listener.lines.until(() => frames().filter((f) => (f.hz ?? 0) > 1000).length >= 30, 'the sweep after the seek', 10000);
    const after = frames().filter((f) => (f.hz ?? 0) > 1000);
    // Each frame's position, taken back to the first frame's time: where the song was restarted.
    const starts = after.slice(3, 30).map((f) => positionOf(f.hz ?? 0) - (f.t - after[0]!.t));
    const restart = starts.sort((a, b) => a - b)[Math.floor(starts.length / 2)]!;
    process.stdout.write(`seek: heard from ${restart.toFixed(0)} ms (asked 12000)\n`);
    expect(Math.abs(restart - 12000)).toBeLessThanOrEqual(100);
    // Click-free: nothing louder than the sweep itself during the change.
    const steady = Math.max(...frames().slice(0, 5).map((f) => f.rms));
    expect(Math.max(...toneFrames(listener, mark).map((f) => f.rms))).toBeLessThan(steady * 1.1);

    expect(await app.command(device, { type: 'seek_music', position_ms: 20000 })).toMatchObject({ ok: false, error: 'invalid_field' });
    await app.command(device, { type: 'stop_continuous_music' });
  }, 60000);
});
