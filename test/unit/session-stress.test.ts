/**
 * Seeded randomised stress of the session layer: thousands of interleaved commands (start, skip,
 * stop, room moves, pause, volume, ...), joins and captures settling in random order, rooms
 * dropping, the clock jumping, and a shutdown, for several devices against fakes. Afterwards every
 * command must have been answered exactly once, no link may be left joined, no player running, and
 * no promise rejection unhandled. A failure names its seed: STRESS_SEED=<seed> replays it.
 */
import { seededRandom } from '../../src/player/random';
import type { Command } from '../../src/session/commands';
import { SessionRegistry, type CommandResult } from '../../src/session/registry';
import { RoomResolver } from '../../src/session/room-resolver';
import { RoomSession } from '../../src/session/room-session';
import { FakeDecoder, FakeJoiner, type FakeLink, flush, quietLog, sessionDeps } from '../support/session-fakes';

const DEVICES = ['d0', 'd1', 'd2', 'd3'];
const ROOMS = ['r0', 'r1', 'r2', 'r3', 'r4'];
const STEPS = 1200;
const SEEDS = process.env.STRESS_SEED ? [Number(process.env.STRESS_SEED)] : [1, 2, 3, 4, 5, 6, 7, 8];

interface Run {
  sent: number;
  answers: Map<number, CommandResult[]>;
  failures: unknown[];
  unhandled: unknown[];
  codes: Map<string, number>;
}

async function stress(seed: number): Promise<Run> {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const joiner = new FakeJoiner();
  const registry = new SessionRegistry({
    rooms: new RoomResolver({ strategy: 'session_id', template: '{device}' }),
    maxSessions: 3,
    queueLimit: 4,
    maxRememberedDevices: 3,
    log: quietLog(),
    createSession: (device, room) =>
      new RoomSession(sessionDeps(joiner.join, { device, room, rng: seededRandom(seed + room.length), jitter: rnd, emptyRoomTimeoutMs: 3000, rejoinTimeoutMs: 5000, maxFailuresInRow: 2 })),
  });
  const run: Run = { sent: 0, answers: new Map(), failures: [], unhandled: [], codes: new Map() };
  const onUnhandled = (err: unknown) => run.unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  const answered = () => [...run.answers.values()].filter((a) => a.length > 0).length + run.failures.length;

  const send = (device: string, command: Command, sessionId?: string) => {
    const id = run.sent++;
    run.answers.set(id, []);
    registry.execute(device, { command, sessionId }).then(
      (r) => {
        run.answers.get(id)!.push(r);
        run.codes.set(r.code ?? 'ok', (run.codes.get(r.code ?? 'ok') ?? 0) + 1);
      },
      (err: unknown) => run.failures.push(err),
    );
  };
  const commands: Array<() => Command> = [
    () => ({ type: 'start_continuous_music', genre: rnd() < 0.3 ? 'rock' : undefined }),
    () => ({ type: 'stop_continuous_music' }),
    () => ({ type: 'skip_music' }),
    () => ({ type: 'previous_music' }),
    () => ({ type: 'pause_music' }),
    () => ({ type: 'resume_music' }),
    () => ({ type: 'set_volume', volume: Math.floor(rnd() * 101) }),
    () => ({ type: 'play_song', query: 'song b' }),
    () => ({ type: 'get_status' }),
  ];
  const live = (): FakeLink[] => joiner.links.filter((l) => !l.left);
  const shutdownAt = Math.floor(STEPS * (0.6 + 0.4 * rnd()));
  let shutdown: Promise<void> | undefined;

  try {
    for (let step = 0; step < STEPS; step++) {
      if (step === shutdownAt) {
        if (process.env.STRESS_VERBOSE) process.stderr.write(`seed ${seed}: shutdown at step ${step}, joins in flight ${joiner.pending.length}, sessions ${registry.size}\n`);
        shutdown = registry.shutdown('stress shutdown');
      }
      const r = rnd();
      if (r < 0.35) {
        const command = pick(commands)();
        send(pick(DEVICES), command, command.type === 'start_continuous_music' ? pick(ROOMS) : undefined);
      } else if (r < 0.5) {
        // After the shutdown, joins in flight hang (a LiveKit server that never answers).
        const join = joiner.pending.length && !shutdown ? pick(joiner.pending) : undefined;
        if (join && rnd() < 0.75) join.succeed();
        else join?.fail();
      } else if (r < 0.75) {
        const withCaptures = live().filter((l) => l.track.pending.length > 0);
        for (let n = Math.floor(rnd() * 4); n >= 0 && withCaptures.length; n--) pick(withCaptures).track.settleOne(rnd() < 0.05 ? new Error('capture failed') : undefined);
      } else if (r < 0.83) {
        const link = live().length ? pick(live()) : undefined;
        const e = rnd();
        if (!link) continue;
        if (e < 0.3) link.emit('disconnected', 'SIGNAL_CLOSE', true);
        else if (e < 0.45) link.emit('disconnected', pick(['ROOM_DELETED', 'PARTICIPANT_REMOVED', 'DUPLICATE_IDENTITY']), false);
        else if (e < 0.65) link.emit('reconnecting');
        else if (e < 0.8) link.emit('reconnected');
        else {
          link.otherParticipants = rnd() < 0.5 ? 0 : 1;
          link.emit('participantsChanged', link.otherParticipants);
        }
      } else {
        jest.advanceTimersByTime(Math.floor(rnd() * 1500));
      }
      await flush(rnd() < 0.5 ? 1 : 3);
      // One bot per room at any time: two would kick each other out (one identity per room).
      const rooms = live().map((l) => l.room);
      if (new Set(rooms).size !== rooms.length) throw new Error(`step ${step}: two links in one room: ${rooms.join(',')}`);
    }
    shutdown ??= registry.shutdown('stress shutdown');
    // Drain: every capture now plays at once and time moves on, but joins in flight never answer
    // (a LiveKit server that hangs): the shutdown alone must cancel them and answer everything.
    for (let i = 0; i < 100 && (answered() < run.sent || registry.size > 0 || registry.queuedDevices > 0); i++) {
      for (const link of joiner.links) {
        link.track.auto = true;
        while (link.track.settleOne());
      }
      jest.advanceTimersByTime(100);
      await flush(3);
    }
    await shutdown;
    expect({ seed, unanswered: run.sent - answered() }).toEqual({ seed, unanswered: 0 });
    for (const join of [...joiner.pending]) join.succeed(); // connects that complete after everything: left by the joiner
    await flush(3);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  const open = FakeDecoder.open.size;
  for (const d of FakeDecoder.open) d.kill();
  const halfOpen = { sessions: registry.size, queues: registry.queuedDevices, joined: joiner.joined.length, decoders: open };
  expect({ seed, ...halfOpen }).toEqual({ seed, sessions: 0, queues: 0, joined: 0, decoders: 0 });
  return run;
}

describe('session layer under a seeded random storm', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  test.each(SEEDS)('seed %i: every command answered once, nothing half-open, no unhandled rejection', async (seed) => {
    let run: Run | undefined;
    try {
      run = await stress(seed);
      const counts = [...run.answers.values()].map((a) => a.length);
      if (process.env.STRESS_VERBOSE) process.stderr.write(`seed ${seed}: ${run.sent} commands, codes ${JSON.stringify([...run.codes])}, joins ${0}\n`);
      expect(run.failures).toEqual([]);
      expect(run.unhandled).toEqual([]);
      expect(counts.filter((c) => c !== 1).length).toBe(0);
      // The storm did reach the interesting places.
      expect(run.codes.get('ok') ?? 0).toBeGreaterThan(50);
      expect(run.codes.get('shutting_down') ?? 0).toBeGreaterThan(0);
    } catch (err) {
      process.stderr.write(`session stress failed with seed ${seed} (replay: STRESS_SEED=${seed}); codes: ${JSON.stringify([...(run?.codes ?? [])])}\n`);
      throw err;
    }
  });
});
