import { DisconnectReason, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { abandonedJoins, BotConnection, MAX_SPEECH_TRACKS, type JoinOptions, type LevelStream, type RemotePublication } from '../../src/livekit/bot-connection';
import { TimeLimitError } from '../../src/ops/time-limit';
import { deferred, FakeRoom, flush } from './rtc-fakes';

function options(room: FakeRoom, extra: Partial<JoinOptions> = {}): JoinOptions {
  return {
    url: 'ws://127.0.0.1:7880',
    apiKey: 'devkey',
    apiSecret: 'secret-secret-secret-secret-secret-0123',
    identity: 'music-bridge',
    name: 'Music',
    room: 'r1',
    timeoutMs: 1000,
    leaveTimeoutMs: 500,
    createRoom: () => room,
    ...extra,
  };
}

/** Waits (bounded, no timers) until the join has asked the room to connect. */
async function connectCalled(spy: jest.SpyInstance): Promise<void> {
  for (let i = 0; i < 200 && spy.mock.calls.length === 0; i++) await new Promise((r) => setImmediate(r));
  expect(spy).toHaveBeenCalledTimes(1);
}

describe('BotConnection', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test('a join that connects in time gives a connection on the room', async () => {
    const room = new FakeRoom();
    room.connecting.resolve();
    room.remoteParticipants.set('phone', { trackPublications: new Map() });
    const bot = await BotConnection.join(options(room), new AbortController().signal);
    expect(bot.participant).toBe(room.participant);
    expect(bot.otherParticipants).toBe(1);
    expect(bot.connected).toBe(true);
    expect(abandonedJoins()).toBe(0);
    await bot.send('music', { type: 'now_playing' });
    expect(room.participant.data).toEqual([{ topic: 'music', text: '{"type":"now_playing"}' }]);
  });

  test('a timed-out join rejects at once and its room is left the moment the connect completes (no ghost)', async () => {
    const room = new FakeRoom();
    const connect = jest.spyOn(room, 'connect');
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const joining = BotConnection.join(options(room), new AbortController().signal);
    const outcome = joining.then(() => 'joined', (err: Error) => err.message);
    await connectCalled(connect);
    await jest.advanceTimersByTimeAsync(1000);
    expect(await outcome).toMatch(/timed out after 1000 ms/);
    // Disconnecting now would be a no-op in rtc-node: the room is owned until the connect lands.
    expect(abandonedJoins()).toBe(1);
    expect(room.disconnects).toBe(0);

    room.connecting.resolve(); // the server let the bot in after all
    await flush();
    expect(room.disconnects).toBe(1);
    expect(room.isConnected).toBe(false);
    expect(room.emitted).toEqual([]); // nobody heard a thing from the ghost
    expect(abandonedJoins()).toBe(0);
  });

  test('an aborted join rejects at once and its room is left when the connect completes', async () => {
    const room = new FakeRoom();
    const connect = jest.spyOn(room, 'connect');
    const aborter = new AbortController();
    const joining = BotConnection.join(options(room), aborter.signal);
    const outcome = joining.then(() => 'joined', (err: Error) => err.message);
    await connectCalled(connect);
    aborter.abort(new Error('session stopped'));
    expect(await outcome).toBe('session stopped');
    expect(abandonedJoins()).toBe(1);
    room.connecting.resolve();
    await flush();
    expect(room.disconnects).toBe(1);
    expect(room.emitted).toEqual([]);
    expect(abandonedJoins()).toBe(0);
  });

  test('a fresh join of a room waits until the earlier join given up on is out, so the ghost never kicks it', async () => {
    const ghost = new FakeRoom();
    const fresh = new FakeRoom();
    const ghostConnect = jest.spyOn(ghost, 'connect');
    const freshConnect = jest.spyOn(fresh, 'connect');
    const aborter = new AbortController();
    const first = BotConnection.join(options(ghost), aborter.signal).catch((err: Error) => err.message);
    await connectCalled(ghostConnect);
    aborter.abort(new Error('gave up'));
    expect(await first).toBe('gave up');

    fresh.connecting.resolve();
    const second = BotConnection.join(options(fresh), new AbortController().signal);
    await flush();
    expect(freshConnect).not.toHaveBeenCalled(); // held back while the ghost may still land
    ghost.connecting.resolve();
    const bot = await second;
    expect(ghost.disconnects).toBe(1);
    expect(freshConnect).toHaveBeenCalledTimes(1);
    expect(bot.connected).toBe(true);
    expect(fresh.emitted).toEqual([]);
  });

  test('waiting for an earlier join given up on is bounded, and ends at once when the join is aborted', async () => {
    const ghost = new FakeRoom();
    const ghostConnect = jest.spyOn(ghost, 'connect');
    const aborter = new AbortController();
    const first = BotConnection.join(options(ghost), aborter.signal).catch((err: Error) => err.message);
    await connectCalled(ghostConnect);
    aborter.abort(new Error('gave up'));
    await first;

    const stopped = new AbortController();
    const waiting = BotConnection.join(options(new FakeRoom()), stopped.signal).catch((err: Error) => err.message);
    await flush();
    stopped.abort(new Error('session stopped'));
    expect(await waiting).toBe('session stopped');

    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const fresh = new FakeRoom();
    fresh.connecting.resolve();
    const freshConnect = jest.spyOn(fresh, 'connect');
    const joining = BotConnection.join(options(fresh), new AbortController().signal);
    await jest.advanceTimersByTimeAsync(2000); // the ghost's connect never lands: join anyway, after twice the join timeout
    await connectCalled(freshConnect);
    await expect(joining).resolves.toBeInstanceOf(BotConnection);
    ghost.connecting.reject(new Error('never connected'));
    await flush();
    expect(abandonedJoins()).toBe(0);
  });

  test('a join given up on whose connect then fails leaves nothing behind', async () => {
    const room = new FakeRoom();
    const connect = jest.spyOn(room, 'connect');
    const aborter = new AbortController();
    const outcome = BotConnection.join(options(room), aborter.signal).catch((err: Error) => err.message);
    await connectCalled(connect);
    aborter.abort();
    await outcome;
    room.connecting.reject(new Error('could not connect'));
    await flush();
    expect(room.disconnects).toBe(0);
    expect(abandonedJoins()).toBe(0);
  });

  test('an already aborted signal never creates a room', async () => {
    const aborter = new AbortController();
    aborter.abort(new Error('too late'));
    const createRoom = jest.fn(() => new FakeRoom());
    await expect(BotConnection.join(options(new FakeRoom(), { createRoom }), aborter.signal)).rejects.toThrow('too late');
    expect(createRoom).not.toHaveBeenCalled();
  });

  test('a connect that fails is the join failure, with nothing abandoned', async () => {
    const room = new FakeRoom();
    room.connecting.reject(new Error('401 unauthorized'));
    await expect(BotConnection.join(options(room), new AbortController().signal)).rejects.toThrow('401 unauthorized');
    expect(abandonedJoins()).toBe(0);
  });

  test('final disconnect reasons are not recoverable; a server or network loss is', async () => {
    const room = new FakeRoom();
    room.connecting.resolve();
    const bot = await BotConnection.join(options(room), new AbortController().signal);
    const seen: Array<[string, boolean]> = [];
    bot.on('disconnected', (reason, recoverable) => seen.push([reason, recoverable]));
    for (const reason of [
      DisconnectReason.ROOM_DELETED,
      DisconnectReason.ROOM_CLOSED,
      DisconnectReason.PARTICIPANT_REMOVED,
      DisconnectReason.DUPLICATE_IDENTITY,
      DisconnectReason.CLIENT_INITIATED,
      DisconnectReason.SIGNAL_CLOSE,
      DisconnectReason.SERVER_SHUTDOWN,
      DisconnectReason.CONNECTION_TIMEOUT,
    ]) {
      room.emit(RoomEvent.Disconnected, reason);
    }
    expect(seen).toEqual([
      ['ROOM_DELETED', false],
      ['ROOM_CLOSED', false],
      ['PARTICIPANT_REMOVED', false],
      ['DUPLICATE_IDENTITY', false],
      ['CLIENT_INITIATED', false],
      ['SIGNAL_CLOSE', true],
      ['SERVER_SHUTDOWN', true],
      ['CONNECTION_TIMEOUT', true],
    ]);
  });

  test('room events reach the session until leave, none after', async () => {
    const room = new FakeRoom();
    room.connecting.resolve();
    const bot = await BotConnection.join(options(room), new AbortController().signal);
    const seen: string[] = [];
    bot.on('reconnecting', () => seen.push('reconnecting'));
    bot.on('reconnected', () => seen.push('reconnected'));
    bot.on('participantsChanged', (n) => seen.push(`others:${n}`));
    bot.on('disconnected', (reason) => seen.push(`disconnected:${reason}`));
    room.emit(RoomEvent.Reconnecting);
    room.emit(RoomEvent.Reconnected);
    room.remoteParticipants.set('phone', { trackPublications: new Map() });
    room.emit(RoomEvent.ParticipantConnected);
    await bot.leave();
    room.emit(RoomEvent.Reconnecting);
    expect(seen).toEqual(['reconnecting', 'reconnected', 'others:1']);
    expect(room.disconnects).toBe(1);
  });

  test('leave is bounded when the disconnect hangs, and a second leave returns at once', async () => {
    const room = new FakeRoom();
    room.connecting.resolve();
    const bot = await BotConnection.join(options(room), new AbortController().signal);
    room.disconnectGate = deferred();
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const leaving = bot.leave().then(() => 'left', (err: unknown) => err);
    await jest.advanceTimersByTimeAsync(500);
    const outcome = await leaving;
    expect(outcome).toBeInstanceOf(TimeLimitError);
    expect(String(outcome)).toMatch(/leaving the room timed out after 500 ms/);
    await expect(bot.leave()).resolves.toBeUndefined();
    room.disconnectGate.resolve();
    await flush();
    expect(room.emitted).toEqual([]);
  });

  describe('speakers (for ducking)', () => {
    const settle = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) await flush();
    };
    const audio = () => ({ kind: TrackKind.KIND_AUDIO, setSubscribed: jest.fn() });
    const claims = (connect: jest.SpyInstance) => JSON.parse(Buffer.from(String(connect.mock.calls[0][1]).split('.')[1]!, 'base64url').toString()) as { video: { canSubscribe?: boolean } };

    /** A decoded track the test feeds frame by frame. */
    class FakeLevels implements LevelStream {
      private readonly frames: Array<{ data: Int16Array }> = [];
      private wake: (() => void) | undefined;
      cancelled = false;
      push(level: number, n = 1): void {
        for (let i = 0; i < n; i++) this.frames.push({ data: new Int16Array(160).fill(level) });
        this.wake?.();
      }
      async cancel(): Promise<void> {
        this.cancelled = true;
        this.wake?.();
      }
      async *[Symbol.asyncIterator]() {
        while (!this.cancelled) {
          const f = this.frames.shift();
          if (f) yield f;
          else await new Promise<void>((r) => (this.wake = r));
        }
      }
    }

    test('subscribes to the others\' audio (present and later), hears when one of them speaks, stops on unsubscribe and leave', async () => {
      const room = new FakeRoom();
      room.connecting.resolve();
      const present = audio();
      const video = { kind: TrackKind.KIND_VIDEO, setSubscribed: jest.fn() };
      room.remoteParticipants.set('phone', { trackPublications: new Map<string, RemotePublication>([['a', present], ['v', video]]) });
      const connect = jest.spyOn(room, 'connect');
      const streams: FakeLevels[] = [];
      const bot = await BotConnection.join(options(room, { speakers: true, openLevelStream: () => streams[streams.push(new FakeLevels()) - 1]! }), new AbortController().signal);
      expect(claims(connect).video.canSubscribe).toBe(true);
      expect(present.setSubscribed).toHaveBeenCalledWith(true);
      expect(video.setSubscribed).not.toHaveBeenCalled();
      const later = audio();
      room.emit(RoomEvent.TrackPublished, later);
      expect(later.setSubscribed).toHaveBeenCalledWith(true);

      const heard: boolean[] = [];
      bot.on('speaking', (on) => heard.push(on));
      room.emit(RoomEvent.TrackSubscribed, { kind: TrackKind.KIND_AUDIO }, { sid: 'TR_phone' });
      room.emit(RoomEvent.TrackSubscribed, { kind: TrackKind.KIND_AUDIO }, { sid: 'TR_agent' });
      room.emit(RoomEvent.TrackSubscribed, { kind: TrackKind.KIND_AUDIO }, { sid: 'TR_phone' }); // twice: one stream
      expect(streams).toHaveLength(2);
      const [phone, agent] = streams as [FakeLevels, FakeLevels];
      phone.push(30, 20); // -61 dBFS: a quiet room
      await settle(30);
      expect(heard).toEqual([]);
      phone.push(3000, 2); // -21 dBFS: a voice
      await settle(10);
      expect(heard).toEqual([true]);
      agent.push(3000, 5); // both speak: still one "speaking"
      phone.push(0, 60);
      await settle(80);
      expect(heard).toEqual([true]);
      agent.push(0, 60); // 600 ms of quiet: over
      await settle(80);
      expect(heard).toEqual([true, false]);

      agent.push(3000, 2);
      await settle(10);
      expect(heard).toEqual([true, false, true]);
      room.emit(RoomEvent.TrackUnsubscribed, {}, { sid: 'TR_agent' });
      expect(agent.cancelled).toBe(true);
      expect(heard).toEqual([true, false, true, false]);
      await bot.leave();
      expect(phone.cancelled).toBe(true);
    });

    test('follows at most MAX_SPEECH_TRACKS tracks', async () => {
      const room = new FakeRoom();
      room.connecting.resolve();
      let opened = 0;
      await BotConnection.join(options(room, { speakers: true, openLevelStream: () => (opened++, new FakeLevels()) }), new AbortController().signal);
      for (let i = 0; i < MAX_SPEECH_TRACKS + 3; i++) room.emit(RoomEvent.TrackSubscribed, { kind: TrackKind.KIND_AUDIO }, { sid: `TR_${i}` });
      expect(opened).toBe(MAX_SPEECH_TRACKS);
    });

    test('without `speakers` the bot may not subscribe and subscribes to nothing', async () => {
      const room = new FakeRoom();
      room.connecting.resolve();
      const present = audio();
      room.remoteParticipants.set('phone', { trackPublications: new Map<string, RemotePublication>([['a', present]]) });
      const connect = jest.spyOn(room, 'connect');
      const open = jest.fn();
      await BotConnection.join(options(room, { openLevelStream: open }), new AbortController().signal);
      expect(claims(connect).video.canSubscribe).toBe(false);
      room.emit(RoomEvent.TrackPublished, audio());
      room.emit(RoomEvent.TrackSubscribed, { kind: TrackKind.KIND_AUDIO }, { sid: 'TR_x' });
      expect(present.setSubscribed).not.toHaveBeenCalled();
      expect(open).not.toHaveBeenCalled();
    });
  });
});
