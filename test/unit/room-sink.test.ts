import { TimeLimitError } from '../../src/ops/time-limit';
import { RoomSink } from '../../src/session/room-sink';
import { FakeTrack, flush } from '../support/session-fakes';

function sink(extra: { captureTimeoutMs?: number } = {}) {
  const aborter = new AbortController();
  const stalls: number[] = [];
  const s = new RoomSink({ signal: aborter.signal, captureTimeoutMs: extra.captureTimeoutMs ?? 1000, onStall: (ms) => stalls.push(ms) });
  return { s, aborter, stalls };
}

function flag(p: Promise<unknown>) {
  const f = { done: false, error: undefined as unknown };
  p.then(
    () => (f.done = true),
    (err: unknown) => {
      f.done = true;
      f.error = err;
    },
  );
  return f;
}

describe('RoomSink', () => {
  test('a capture without a track waits until a track is attached, then goes into it', async () => {
    const { s } = sink();
    const track = new FakeTrack();
    track.auto = true;
    const c = flag(s.capture(new Int16Array(4)));
    await flush();
    expect(c.done).toBe(false);
    s.attach(track);
    await flush();
    expect(c.done).toBe(true);
    expect(track.captured).toBe(1);
  });

  test('closing releases every waiting capture, and later captures return at once', async () => {
    const { s } = sink();
    const waits = [flag(s.capture(new Int16Array(4))), flag(s.capture(new Int16Array(4)))];
    await flush();
    s.close();
    await flush();
    expect(waits.every((w) => w.done && w.error === undefined)).toBe(true);
    const track = new FakeTrack();
    s.attach(track); // too late: a closed sink takes no track
    await s.capture(new Int16Array(4));
    expect(track.captured).toBe(0);
  });

  test('the session signal aborting releases a waiting capture (nothing to fade into)', async () => {
    const { s, aborter } = sink();
    const w = flag(s.capture(new Int16Array(4)));
    await flush();
    aborter.abort();
    await flush();
    expect(w.done).toBe(true);
    await s.capture(new Int16Array(4)); // returns at once
  });

  test('after the abort a capture still goes into an attached track (the fade-out is heard)', async () => {
    const { s, aborter } = sink();
    const track = new FakeTrack();
    track.auto = true;
    s.attach(track);
    aborter.abort();
    await s.capture(new Int16Array(4));
    expect(track.captured).toBe(1);
  });

  test('a stalled capture becomes an output error after its bound, and is reported', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const { s, stalls } = sink({ captureTimeoutMs: 500 });
      const track = new FakeTrack();
      s.attach(track);
      const c = flag(s.capture(new Int16Array(4)));
      jest.advanceTimersByTime(499);
      await flush();
      expect(c.done).toBe(false);
      jest.advanceTimersByTime(1);
      await flush();
      expect(c.error).toBeInstanceOf(TimeLimitError);
      expect(stalls).toEqual([500]);
      track.settleOne(new Error('late failure')); // a late rejection is nobody's: not unhandled
      await flush();
    } finally {
      jest.useRealTimers();
    }
  });
});
