import type { RoomJoiner, RoomLink } from '../../src/session/room-link';
import type { RoomSession } from '../../src/session/room-session';
import { FakeDecoder, FakeJoiner, FakeLink, flush, makeSession } from '../support/session-fakes';

/** Resolves `p` into a flag the test can read without awaiting (a hang shows as false, not as a timeout). */
function track<T>(p: Promise<T>): { done: boolean; value?: T } {
  const t: { done: boolean; value?: T } = { done: false };
  void p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

async function playing(joiner: FakeJoiner) {
  const session = makeSession(joiner.join);
  const started = session.start({});
  await flush();
  const link = joiner.pending[0].succeed();
  expect((await started).ok).toBe(true);
  await flush();
  // The player is running: a capture waits in the track.
  expect(link.track.pending.length).toBe(1);
  link.track.settleOne();
  await flush();
  return { session, link };
}

/** Starts, aborts while the join is in flight (a shutdown), and ends as the registry would. */
async function abortWhileJoining(session: RoomSession): Promise<void> {
  const started = session.start({}).then(
    () => 'resolved',
    (err: Error) => `rejected: ${err.message}`,
  );
  await flush();
  session.abort('shutdown');
  expect(await started).toBe('rejected: the session ended while it joined');
  await session.end('start failed', 'cancelled');
}

afterEach(() => {
  for (const d of FakeDecoder.open) d.kill();
});

describe('RoomSession', () => {
  test('stop() completes when a final disconnect lands during the fade-out', async () => {
    const joiner = new FakeJoiner();
    const { session, link } = await playing(joiner);
    const stopped = track(session.stop());
    await flush();
    link.emit('disconnected', 'ROOM_DELETED', false);
    link.track.settleOne(); // the capture in flight when the room went away
    await flush(10);
    expect(stopped.done).toBe(true);
    expect(session.phase).toBe('ended');
    expect(link.left).toBe(true);
    expect(FakeDecoder.open.size).toBe(0);
  });

  test('stop() completes when the connection drops during the fade-out, and no rejoin starts', async () => {
    const joiner = new FakeJoiner();
    const { session, link } = await playing(joiner);
    const stopped = track(session.stop());
    await flush();
    link.emit('disconnected', 'SIGNAL_CLOSE', true);
    link.track.settleOne();
    await flush(10);
    expect(stopped.done).toBe(true);
    expect(joiner.calls).toBe(1);
    expect(joiner.joined).toEqual([]);
  });

  test('a stop while the session is ending awaits the same ending', async () => {
    const joiner = new FakeJoiner();
    const { session, link } = await playing(joiner);
    const first = track(session.stop('first'));
    await flush();
    const second = track(session.stop('second'));
    await flush();
    expect(first.done).toBe(false); // the fade-out waits for its capture
    expect(second.done).toBe(false);
    while (link.track.settleOne()) await flush();
    await flush(10);
    expect(first.done && second.done).toBe(true);
    expect(session.status().reason).toBe('first');
  });

  test('a room that ends asks its owner to end the session; waiting captures are released', async () => {
    const joiner = new FakeJoiner();
    const { session, link } = await playing(joiner);
    const requested: string[] = [];
    session.on('endRequested', (reason) => requested.push(reason));
    link.emit('disconnected', 'SIGNAL_CLOSE', true); // the player now waits in the sink
    link.track.settleOne();
    await flush();
    expect(joiner.pending.length).toBe(1); // rejoining
    expect(session.phase).toBe('running');
    expect(session.status().state).toBe('reconnecting');
    const rejoin = joiner.pending[0];
    // The new connection is refused for good: the second link says the room was deleted.
    const fresh = rejoin.succeed();
    await flush();
    expect(fresh.track.pending.length).toBe(1); // the waiting capture went into the new track
    fresh.emit('disconnected', 'ROOM_DELETED', false);
    fresh.track.settleOne(); // the one in flight when the room was deleted
    await flush();
    expect(requested).toEqual(['left the room: ROOM_DELETED']);
    expect(session.over).toBe(true);
    const ended = track(session.end('ignored: the room said why first'));
    await flush(10);
    expect(ended.done).toBe(true);
    expect(session.status().reason).toBe('left the room: ROOM_DELETED');
    expect(joiner.joined).toEqual([]);
  });

  test('a session ended while it joins throws from start; a connect that completes later is left', async () => {
    const joiner = new FakeJoiner();
    const session = makeSession(joiner.join);
    await abortWhileJoining(session);
    expect(session.phase).toBe('ended');
    joiner.pending[0].succeed(); // the connect completes after all
    await flush();
    expect(joiner.joined).toEqual([]);
  });

  test('a data channel that never answers costs at most its bound on the way down', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const joiner = new FakeJoiner();
      const { session, link } = await playing(joiner);
      link.send = () => new Promise<void>(() => undefined);
      link.track.hangUnpublish = true;
      link.track.auto = true;
      while (link.track.settleOne()) await flush();
      const stopped = track(session.stop());
      await flush(10);
      expect(stopped.done).toBe(false);
      for (let i = 0; i < 20 && !stopped.done; i++) {
        jest.advanceTimersByTime(250);
        await flush();
      }
      expect(stopped.done).toBe(true);
      expect(link.left).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a joiner that ignores the signal: the start still gives up at once, and the late connection is left', async () => {
    let complete: (link: RoomLink) => void = () => undefined;
    const deaf: RoomJoiner = () => new Promise<RoomLink>((resolve) => (complete = resolve));
    const session = makeSession(deaf);
    await abortWhileJoining(session);
    const link = new FakeLink('room1');
    complete(link);
    await flush();
    expect(link.left).toBe(true);
  });

  test('a capture that never returns (stalled native call) holds the stop at most its bounds', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const joiner = new FakeJoiner();
      const { session, link } = await playing(joiner);
      expect(link.track.pending.length).toBe(1); // in flight, and it never settles
      const stopped = track(session.stop());
      let waited = 0;
      for (; waited < 5000 && !stopped.done; waited += 100) {
        jest.advanceTimersByTime(100);
        await flush();
      }
      expect(stopped.done).toBe(true);
      expect(waited).toBeLessThanOrEqual(2000); // the player's bound (1.5 s), not forever
      expect(link.left).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  describe('ducking under speech', () => {
    const DUCK = { depthDb: -12, sampleRate: 48000, channels: 1, attackMs: 40, releaseMs: 400 };

    async function playingWithDuck(duck = true) {
      const joiner = new FakeJoiner();
      const session = makeSession(joiner.join, duck ? { duck: DUCK } : {});
      const started = session.start({});
      await flush();
      const link = joiner.pending[0].succeed();
      expect((await started).ok).toBe(true);
      await flush();
      return { session, link };
    }

    /** Stops with every capture answered at once (the fade-out goes out). */
    async function stopped(session: RoomSession, link: FakeLink): Promise<void> {
      link.track.auto = true;
      while (link.track.settleOne()) await flush();
      await session.stop();
    }

    test('others speaking duck the music (status ducked); set_ducking off restores it and keeps it up', async () => {
      const { session, link } = await playingWithDuck();
      const statuses: Array<{ ducking: boolean; ducked: boolean }> = [];
      session.on('status', (s) => statuses.push({ ducking: s.ducking, ducked: s.ducked }));
      expect(session.status()).toMatchObject({ ducking: true, ducked: false });
      link.emit('speaking', true);
      expect(session.status().ducked).toBe(true);
      link.emit('speaking', false);
      expect(session.status().ducked).toBe(false);
      link.emit('speaking', true);
      expect(session.setDucking(false)).toEqual({ ok: true, message: 'Ducking under speech off' });
      expect(session.status()).toMatchObject({ ducking: false, ducked: false });
      link.emit('speaking', false);
      link.emit('speaking', true);
      expect(session.status().ducked).toBe(false);
      expect(session.setDucking(true)).toMatchObject({ ok: true });
      expect(session.status().ducked).toBe(true); // someone is still speaking
      expect(statuses).toEqual([
        { ducking: true, ducked: true },
        { ducking: true, ducked: false },
        { ducking: true, ducked: true },
        { ducking: false, ducked: false },
        { ducking: true, ducked: true },
      ]);
      expect(link.sent.filter((t) => t === 'music_ducking_changed')).toHaveLength(2);
      await stopped(session, link);
    });

    test('the captured frames go down by the ducking depth', async () => {
      const { session, link } = await playingWithDuck();
      const level = () => Math.max(...[...link.track.lastFrame!].map(Math.abs));
      for (let i = 0; i < 5; i++) {
        link.track.settleOne();
        await flush();
      }
      const before = level();
      link.emit('speaking', true);
      for (let i = 0; i < 10; i++) {
        link.track.settleOne();
        await flush();
      }
      expect(20 * Math.log10(level() / before)).toBeCloseTo(-12, 0);
      await stopped(session, link);
    });

    test('with audio.duck off, set_ducking is refused and speech changes nothing', async () => {
      const { session, link } = await playingWithDuck(false);
      expect(session.setDucking(true)).toMatchObject({ ok: false, code: 'invalid_field' });
      link.emit('speaking', true);
      expect(session.status()).toMatchObject({ ducking: false, ducked: false });
      await stopped(session, link);
    });
  });

  test('seek reopens the current song from the position (no new song announced); the status carries it', async () => {
    const joiner = new FakeJoiner();
    const opened: Array<[string, number | undefined]> = [];
    const session = makeSession(joiner.join, {
      openDecoder: (song, startMs) => {
        opened.push([song.id, startMs]);
        return new FakeDecoder(480);
      },
    });
    expect(session.seek(1000)).toMatchObject({ ok: false, code: 'not_playing' });
    const started = session.start({});
    await flush();
    const link = joiner.pending[0]!.succeed();
    await started;
    link.track.auto = true;
    await flush(20);
    const song = session.status().song!.id;
    expect(session.status().position_ms).toEqual(expect.any(Number));
    expect(session.seek(5000)).toEqual({ ok: true, message: 'Seeked to 0:05.000' });
    expect(session.status()).toMatchObject({ position_ms: 5000, song: { id: song } });
    await flush(20);
    expect(opened).toContainEqual([song, 5000]);
    expect(link.sent.filter((t) => t === 'music_playback_started')).toHaveLength(1);
    expect(link.sent).toContain('music_seeked');
    expect(session.status().position_ms).toBeGreaterThanOrEqual(5000);
    await session.stop();
  });
});
