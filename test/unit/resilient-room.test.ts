import { PassThrough } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import type { BotConnectionEvents } from '../../src/livekit/bot-connection';
import { createLogger } from '../../src/ops/logger';
import { ResilientRoom, type ResilientRoomOptions } from '../../src/session/resilient-room';
import type { RoomLink } from '../../src/session/room-link';

class FakeLink extends EventEmitter<BotConnectionEvents> implements RoomLink {
  otherParticipants = 1;
  left = false;
  readonly track = {
    capture: async () => undefined,
    clear: () => undefined,
    drain: async () => undefined,
    republish: async () => undefined,
    unpublish: async () => undefined,
  };
  async send(): Promise<void> {}
  async leave(): Promise<void> {
    this.left = true;
  }
}

/** A joiner that hands out prepared outcomes in order: a link, or an error to throw. */
function joiner(outcomes: Array<FakeLink | Error>) {
  const calls: string[] = [];
  const join = async (room: string): Promise<RoomLink> => {
    calls.push(room);
    const next = outcomes.shift();
    if (!next) throw new Error('no more outcomes');
    if (next instanceof Error) throw next;
    return next;
  };
  return { join, calls };
}

function options(join: ResilientRoomOptions['join'], extra: Partial<ResilientRoomOptions> = {}): ResilientRoomOptions {
  return { room: 'r1', join, log: createLogger('error', new PassThrough()), signal: new AbortController().signal, rejoinTimeoutMs: 60000, emptyRoomTimeoutMs: 0, random: () => 0.5, ...extra };
}

function recorder(room: ResilientRoom) {
  const events: string[] = [];
  room.on('reconnecting', (reason) => events.push(`reconnecting:${reason}`));
  room.on('reconnected', () => events.push('reconnected'));
  room.on('ended', (reason, error) => events.push(`ended:${reason}${error ? `|${error}` : ''}`));
  return events;
}

/** Lets pending promise callbacks run (no timers). */
const flush = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

const nextEvent = (room: ResilientRoom, name: 'reconnected' | 'ended') => new Promise<void>((resolve) => room.once(name, () => resolve()));

describe('ResilientRoom', () => {
  test('an SDK resume is reported as reconnecting and reconnected on the same link', async () => {
    const link = new FakeLink();
    const room = await ResilientRoom.open(options(joiner([link]).join));
    const events = recorder(room);
    link.emit('reconnecting');
    link.emit('reconnecting'); // the SDK may report more than one attempt
    expect(room.reconnecting).toBe(true);
    link.emit('reconnected');
    expect(events).toEqual(['reconnecting:resuming', 'reconnected']);
    expect(room.reconnecting).toBe(false);
    expect(link.left).toBe(false);
    await room.close();
    expect(link.left).toBe(true);
  });

  test('a recoverable disconnect rejoins with a fresh link', async () => {
    const first = new FakeLink();
    const second = new FakeLink();
    const j = joiner([first, second]);
    const room = await ResilientRoom.open(options(j.join));
    const events = recorder(room);
    const back = nextEvent(room, 'reconnected');
    first.emit('disconnected', 'SIGNAL_CLOSE', true);
    await back;
    expect(events).toEqual(['reconnecting:SIGNAL_CLOSE', 'reconnected']);
    expect(j.calls).toEqual(['r1', 'r1']);
    await flush();
    expect(first.left).toBe(true);
    expect(second.left).toBe(false);
    await room.close();
  });

  test('a resume that ends in a disconnect reports reconnecting once, then rejoins', async () => {
    const first = new FakeLink();
    const second = new FakeLink();
    const room = await ResilientRoom.open(options(joiner([first, second]).join));
    const events = recorder(room);
    const back = nextEvent(room, 'reconnected');
    first.emit('reconnecting');
    first.emit('disconnected', 'UNKNOWN_REASON', true);
    await back;
    expect(events).toEqual(['reconnecting:resuming', 'reconnected']);
    await room.close();
  });

  test('a final disconnect ends the room with an error and does not rejoin', async () => {
    const link = new FakeLink();
    const j = joiner([link]);
    const room = await ResilientRoom.open(options(j.join));
    const events = recorder(room);
    const ended = nextEvent(room, 'ended');
    link.emit('disconnected', 'DUPLICATE_IDENTITY', false);
    await ended;
    expect(events).toEqual(['ended:left the room: DUPLICATE_IDENTITY|another participant joined the room with the bot identity']);
    expect(j.calls).toEqual(['r1']);
  });

  test('a rejoin that keeps failing past the timeout ends the room with an error', async () => {
    const link = new FakeLink();
    const room = await ResilientRoom.open(options(joiner([link, new Error('refused')]).join, { rejoinTimeoutMs: 100 }));
    const events = recorder(room);
    const ended = nextEvent(room, 'ended');
    link.emit('disconnected', 'SIGNAL_CLOSE', true);
    await ended;
    expect(events).toEqual(['reconnecting:SIGNAL_CLOSE', 'ended:could not rejoin the room|rejoin failed for 100 ms: refused']);
  });

  test('events from a link after close are ignored', async () => {
    const link = new FakeLink();
    const room = await ResilientRoom.open(options(joiner([link]).join));
    const events = recorder(room);
    await room.close();
    link.emit('reconnecting');
    link.emit('disconnected', 'SIGNAL_CLOSE', true);
    expect(events).toEqual([]);
    expect(room.reconnecting).toBe(false);
  });

  test('rejoins back off exponentially with full jitter, capped', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const link = new FakeLink();
      const outcomes: Array<FakeLink | Error> = [link, ...Array.from({ length: 8 }, () => new Error('refused'))];
      const j = joiner(outcomes);
      const room = await ResilientRoom.open(options(j.join, { random: () => 0.5 }));
      link.emit('disconnected', 'SIGNAL_CLOSE', true);
      await flush();
      expect(j.calls.length).toBe(2); // the first rejoin is at once
      // Half (the jitter) of 250, 500, 1000, 2000, 4000, then the 5000 cap.
      for (const delay of [125, 250, 500, 1000, 2000, 2500, 2500]) {
        const before = j.calls.length;
        jest.advanceTimersByTime(delay - 1);
        await flush();
        expect(j.calls.length).toBe(before);
        jest.advanceTimersByTime(1);
        await flush();
        expect(j.calls.length).toBe(before + 1);
      }
      await room.close();
    } finally {
      jest.useRealTimers();
    }
  });

  test('aborting the session signal stops a rejoin in progress', async () => {
    const link = new FakeLink();
    const aborter = new AbortController();
    const j = joiner([link, new Error('refused'), new Error('refused')]);
    const room = await ResilientRoom.open(options(j.join, { signal: aborter.signal, random: () => 0.99 }));
    const events = recorder(room);
    link.emit('disconnected', 'SIGNAL_CLOSE', true);
    await flush();
    aborter.abort();
    await flush();
    expect(j.calls.length).toBe(2);
    expect(room.reconnecting).toBe(false);
    await room.close();
    expect(events).toEqual(['reconnecting:SIGNAL_CLOSE']);
  });
});
