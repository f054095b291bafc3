/**
 * Controllable fakes for the session layer: joins, captures and decoders settle only when the test
 * says so (deferred promises), so races are reproduced step by step, without sleeps.
 */
import { PassThrough, Readable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { Catalog } from '../../src/catalog/catalog';
import type { Song } from '../../src/catalog/song';
import { createLogger, type Logger } from '../../src/ops/logger';
import type { Decoder } from '../../src/player/types';
import type { RoomJoiner, RoomLink, RoomLinkEvents } from '../../src/session/room-link';
import { RoomSession, type SessionDeps } from '../../src/session/room-session';
import { deferred, type Deferred } from './deferred';
export { deferred, type Deferred } from './deferred';


/** Lets every pending promise callback and stream tick run (real setImmediate, never a timer). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export const quietLog = (): Logger => createLogger('error', new PassThrough());

/** A track whose captures wait for the test (`auto` resolves them at once). */
export class FakeTrack {
  auto = false;
  readonly pending: Array<Deferred<void>> = [];
  captured = 0;
  /** A copy of the last frame captured. */
  lastFrame: Int16Array | undefined;
  unpublished = false;
  /** unpublish() never settles (a stalled server). */
  hangUnpublish = false;
  capture(samples?: Int16Array): Promise<void> {
    this.captured++;
    this.lastFrame = samples && Int16Array.from(samples);
    if (this.auto) return Promise.resolve();
    const d = deferred();
    this.pending.push(d);
    return d.promise;
  }
  /** Settles the oldest waiting capture; returns false when none waits. */
  settleOne(err?: Error): boolean {
    const d = this.pending.shift();
    if (!d) return false;
    if (err) d.reject(err);
    else d.resolve();
    return true;
  }
  async drain(): Promise<void> {}
  async republish(): Promise<void> {}
  unpublish(): Promise<void> {
    this.unpublished = true;
    return this.hangUnpublish ? new Promise<void>(() => undefined) : Promise.resolve();
  }
}

export class FakeLink extends EventEmitter<RoomLinkEvents> implements RoomLink {
  readonly track = new FakeTrack();
  otherParticipants = 1;
  left = false;
  readonly sent: string[] = [];
  constructor(readonly room: string) {
    super();
  }
  async send(_topic: string, message: Record<string, unknown>): Promise<void> {
    this.sent.push(String(message.type));
  }
  async leave(): Promise<void> {
    this.left = true;
  }
}

interface PendingJoin {
  room: string;
  signal: AbortSignal;
  done: Deferred<RoomLink>;
  /** The connect completes: a link (left at once when the join was aborted meanwhile). */
  succeed(): FakeLink;
  fail(err?: Error): void;
}

/**
 * A joiner whose joins wait for the test. Like the LiveKit adapter: an aborted signal rejects the
 * join at once, and a connect that completes after that is left by the joiner (no ghost).
 */
export class FakeJoiner {
  readonly pending: PendingJoin[] = [];
  readonly links: FakeLink[] = [];
  calls = 0;
  /** Joins succeed at once (no pending entry). */
  auto = false;

  readonly join: RoomJoiner = (room, signal) => {
    this.calls++;
    if (this.auto) return Promise.resolve(this.makeLink(room));
    const done = deferred<RoomLink>();
    const entry: PendingJoin = {
      room,
      signal,
      done,
      succeed: () => {
        this.remove(entry);
        const link = this.makeLink(room);
        if (signal.aborted) void link.leave();
        else done.resolve(link);
        return link;
      },
      fail: (err = new Error('join refused')) => {
        this.remove(entry);
        if (!done.settled) done.reject(err);
      },
    };
    signal.addEventListener('abort', () => {
      if (!done.settled) done.reject(new Error('join aborted'));
    });
    this.pending.push(entry);
    return done.promise;
  };

  /** Links handed out (or completed after an abort) and never left. */
  get joined(): FakeLink[] {
    return this.links.filter((l) => !l.left);
  }

  private makeLink(room: string): FakeLink {
    const link = new FakeLink(room);
    this.links.push(link);
    return link;
  }

  private remove(entry: PendingJoin): void {
    const i = this.pending.indexOf(entry);
    if (i >= 0) this.pending.splice(i, 1);
  }
}

/** An endless song: every read gets a few frames, until killed. */
export class FakeDecoder implements Decoder {
  static open = new Set<FakeDecoder>();
  readonly output: Readable;
  readonly finished: Promise<void>;
  done = false;
  private fail: (err: Error) => void = () => undefined;
  constructor(frameSamples: number) {
    const chunk = Buffer.alloc(frameSamples * 2 * 4, 1);
    // Each read is answered on a later turn, as a real process pipe would: a player whose sink
    // returns at once still yields to the event loop.
    this.output = new Readable({
      read() {
        setImmediate(() => this.push(Buffer.from(chunk)));
      },
    });
    this.finished = new Promise<void>((_, reject) => (this.fail = reject));
    this.finished.catch(() => (this.done = true));
    FakeDecoder.open.add(this);
  }
  kill(): void {
    FakeDecoder.open.delete(this);
    this.output.destroy();
    this.fail(new Error('killed'));
  }
}

export const FRAME_SAMPLES = 480;

export const songs: Song[] = ['a', 'b', 'c'].map((id) => ({ id, title: `song ${id}`, aliases: [], language: 'en', genres: ['pop'], url: `https://songs.example/${id}.mp3` }));

export function sessionDeps(join: RoomJoiner, extra: Partial<SessionDeps> = {}): SessionDeps {
  const catalog = new Catalog(songs);
  return {
    device: 'dev1',
    room: 'room1',
    log: quietLog(),
    join,
    openDecoder: () => new FakeDecoder(FRAME_SAMPLES),
    catalog: () => catalog,
    rng: () => 0.3,
    frameSamples: FRAME_SAMPLES,
    fadeSamples: FRAME_SAMPLES * 2,
    maxFailuresInRow: 3,
    rejoinTimeoutMs: 60000,
    emptyRoomTimeoutMs: 0,
    jitter: () => 0.5,
    ...extra,
  };
}

export function makeSession(join: RoomJoiner, extra: Partial<SessionDeps> = {}): RoomSession {
  return new RoomSession(sessionDeps(join, extra));
}
