import { PassThrough } from 'node:stream';
import { JoinSlots } from '../../src/livekit/join-slots';
import { createRoomJoiner, type RoomJoinerOptions } from '../../src/livekit/room-joiner';
import { createLogger } from '../../src/ops/logger';
import type { RoomJoiner } from '../../src/session/room-link';
import { deferred, FakeRoom, fakeOutputs } from './rtc-fakes';

/** Lets queued work run (token signing needs a turn of the event loop) until `done`, bounded. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error(`never happened: ${what}`);
}

function setup(cap: number, extra: Partial<RoomJoinerOptions> = {}) {
  const rooms: FakeRoom[] = [];
  const gauge: number[] = [];
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  const outputs = fakeOutputs();
  const join = createRoomJoiner({
    url: 'ws://127.0.0.1:7880',
    apiKey: 'devkey',
    apiSecret: 'secret-secret-secret-secret-secret-0123',
    identity: 'music-bridge',
    name: 'Music',
    connectTimeoutMs: 60000,
    format: { sampleRate: 48000, channels: 1 },
    queueMs: 200,
    bitrate: 96000,
    maxJoinsInFlight: cap,
    log: createLogger('debug', out),
    inFlight: { set: (n) => gauge.push(n) },
    createRoom: () => {
      const room = new FakeRoom();
      rooms.push(room);
      return room;
    },
    createOutput: outputs.create,
    ...extra,
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { join, rooms, gauge, lines, outputs };
}

describe('createRoomJoiner', () => {
  test('fits the session layer\'s RoomJoiner port', () => {
    const join: RoomJoiner = setup(1).join; // a compile-time check as much as a runtime one
    expect(typeof join).toBe('function');
  });

  test('a join connects, publishes the music track and hands over a working room link', async () => {
    const { join, rooms, outputs, lines } = setup(2);
    const joining = join('r1', new AbortController().signal);
    await until(() => rooms.length === 1, 'room created');
    rooms[0]!.connecting.resolve();
    const link = await joining;
    expect(rooms[0]!.participant.published).toHaveLength(1);
    await link.track.capture(new Int16Array(960));
    expect(outputs.made[0]!.source.frames).toHaveLength(1);
    await link.leave();
    expect(rooms[0]!.disconnects).toBe(1);
    expect(lines().find((l) => l.message === 'joining room')).toMatchObject({ level: 'debug', room: 'r1', joins_in_flight: 1 });
  });

  test('a publish failure after connect closes source and track and leaves the room', async () => {
    const { join, rooms, outputs, gauge } = setup(2);
    const joining = join('r1', new AbortController().signal).catch((err: Error) => err.message);
    await until(() => rooms.length === 1, 'room created');
    const refused = deferred<{ sid?: string }>();
    rooms[0]!.participant.publishOutcomes.push(refused);
    refused.reject(new Error('publish refused'));
    rooms[0]!.connecting.resolve();
    expect(await joining).toBe('publish refused');
    expect(outputs.made[0]!.source.closed).toBe(true);
    expect(outputs.made[0]!.track.closed).toBe(true);
    expect(rooms[0]!.disconnects).toBe(1);
    expect(rooms[0]!.emitted).toEqual([]);
    expect(gauge.at(-1)).toBe(0); // the slot is free again
  });

  test('joins in flight never exceed the cap with many concurrent joins; aborted joins release their slots', async () => {
    const cap = 3;
    const total = 40;
    const { join, rooms, gauge, lines } = setup(cap);
    const aborters = Array.from({ length: total }, () => new AbortController());
    let settled = 0;
    const results = aborters.map((a, i) =>
      join(`room-${i}`, a.signal)
        .then(
          (link) => link.leave().then(() => 'joined'),
          (err: Error) => `failed: ${err.message}`,
        )
        .finally(() => settled++),
    );
    // Some joins are stopped while they wait for a slot: they must never take one.
    for (const i of [30, 31, 35, 39]) aborters[i]!.abort(new Error('stopped while waiting'));
    const connecting = () => rooms.filter((r) => !r.connecting.settled);
    let most = 0;
    for (let step = 0; settled < total; step++) {
      if (step > 200) throw new Error('joins did not finish');
      await until(() => connecting().length > 0 || settled === total, 'a join connecting');
      const open = connecting();
      most = Math.max(most, open.length);
      if (open.length === 0) break;
      const room = open[0]!;
      if (step % 3 === 1) {
        // Stopped mid-connect: the join fails at once, its slot passes on, and the connect
        // that lands later is left by the joiner.
        aborters[room.joinIndex]!.abort(new Error('stopped while connecting'));
      }
      room.connecting.resolve();
      await until(() => !connecting().includes(room), 'the connect completes');
    }
    const outcomes = await Promise.all(results);
    expect(most).toBe(cap);
    expect(outcomes.filter((o) => o === 'failed: stopped while waiting')).toHaveLength(4);
    expect(outcomes.filter((o) => o === 'failed: stopped while connecting').length).toBeGreaterThan(5);
    expect(outcomes.every((o) => o === 'joined' || o.startsWith('failed: stopped'))).toBe(true);
    expect(Math.max(...gauge)).toBe(cap);
    expect(gauge.at(-1)).toBe(0);
    const starts = lines().filter((l) => l.message === 'joining room');
    expect(starts).toHaveLength(total - 4);
    expect(Math.max(...starts.map((l) => Number(l.joins_in_flight)))).toBeLessThanOrEqual(cap);
    // Every room that connected is left again, whether its join was given up on or not.
    await until(() => rooms.every((r) => !r.isConnected), 'every room left');
    expect(rooms.every((r) => r.emitted.length === 0)).toBe(true);
  });
});

describe('JoinSlots', () => {
  test('a waiter whose signal aborts leaves the queue at once and takes no slot', async () => {
    const slots = new JoinSlots(1);
    const first = await slots.acquire(new AbortController().signal);
    const aborter = new AbortController();
    const waiting = slots.acquire(aborter.signal);
    const after = slots.acquire(new AbortController().signal);
    expect(slots.queued).toBe(2);
    aborter.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(slots.queued).toBe(1);
    first();
    first(); // a second release changes nothing
    const release = await after;
    expect(slots.inFlight).toBe(1);
    release();
    expect(slots.inFlight).toBe(0);
  });

  test('an aborted signal is refused before queueing', async () => {
    const slots = new JoinSlots(2);
    const aborter = new AbortController();
    aborter.abort();
    await expect(slots.acquire(aborter.signal)).rejects.toThrow();
    expect(slots.inFlight).toBe(0);
  });

  test('a capacity below 1 is refused', () => {
    expect(() => new JoinSlots(0)).toThrow(/positive integer/);
  });
});
