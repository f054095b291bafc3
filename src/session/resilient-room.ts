import { EventEmitter } from 'eventemitter3';
import { errorFields, type Logger } from '../ops/logger';
import { settleWithin, TEARDOWN_BOUNDS, type TeardownBounds } from './bounded';
import type { RoomJoiner, RoomLink } from './room-link';
import { RoomSink } from './room-sink';

/** Rejoin back-off: full jitter over an exponential ceiling from BASE, capped at CAP (ms). */
export const REJOIN_BACKOFF = { baseMs: 250, capMs: 5000 };

export interface ResilientRoomOptions {
  room: string;
  join: RoomJoiner;
  log: Logger;
  /** The session's cancellation: aborting it stops joins and rejoins and releases the sink. */
  signal: AbortSignal;
  /** Give up rejoining after this long without the room (ms). */
  rejoinTimeoutMs: number;
  /** End when no other participant has been in the room this long (ms); 0 = never. */
  emptyRoomTimeoutMs: number;
  bounds?: Partial<TeardownBounds>;
  /** Jitter source in [0, 1) (tests seed it). */
  random?: () => number;
  onFrame?: () => void;
  onUnderrun?: (ms: number) => void;
}

export interface ResilientRoomEvents {
  /** The connection dropped; the sink holds the music until `reconnected`. */
  reconnecting: (reason: string) => void;
  reconnected: () => void;
  /** The room is over for this session (the sink is closed already); `error` is set when it ended badly. */
  ended: (reason: string, error?: string) => void;
  /** Others in the room started (true) or stopped (false) speaking; false too when the link is lost. */
  speaking: (active: boolean) => void;
}

/** The join was cancelled by the session's signal. */
export class JoinAbortedError extends Error {}

/**
 * A session's presence in its room, kept up across LiveKit restarts and network drops: a
 * recoverable disconnect detaches the sink (the player waits in place), rejoins with jittered
 * back-off and republishes; a final one (room deleted, bot removed, identity taken) or a rejoin that
 * takes too long ends it. Also ends the session when nobody else has been in the room for a while,
 * so music never plays into an empty room. The session owns its end: the presence only reports
 * `ended`, and stops on its own only what the session's signal cancels (joins, waits).
 */
/** The end reason when another participant joined with the bot identity (a handover, or another instance). */
export const IDENTITY_TAKEN = 'left the room: DUPLICATE_IDENTITY';

export class ResilientRoom extends EventEmitter<ResilientRoomEvents> {
  readonly sink: RoomSink;
  private link: RoomLink | undefined;
  /** The SDK is resuming the current link in place (the link and sink stay). */
  private resuming = false;
  /** Set once: the room ended by itself or its session closed it; nothing rejoins after. */
  private over = false;
  private closing: Promise<void> | undefined;
  private emptyTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  private readonly bounds: TeardownBounds;

  private constructor(private readonly o: ResilientRoomOptions) {
    super();
    this.bounds = { ...TEARDOWN_BOUNDS, ...o.bounds };
    this.sink = new RoomSink({
      signal: o.signal,
      captureTimeoutMs: this.bounds.captureMs,
      onStall: (ms) => o.log.warn('a frame capture stalled; treated as an output error', { bound_ms: ms }),
      onFrame: o.onFrame,
      onUnderrun: o.onUnderrun,
    });
  }

  /** Joins the room; a failure (or the signal aborting) here is the start command's failure. */
  static async open(o: ResilientRoomOptions): Promise<ResilientRoom> {
    const r = new ResilientRoom(o);
    r.adopt(await r.join());
    return r;
  }

  /**
   * One join, cancelled by the session's signal: it rejects at once on abort even if the joiner
   * does not, and a connection that completes after that is ours to leave (never a ghost).
   */
  private join(): Promise<RoomLink> {
    const { signal } = this.o;
    if (signal.aborted) return Promise.reject(new JoinAbortedError('the session ended before it joined'));
    const joining = this.o.join(this.o.room, signal);
    return new Promise<RoomLink>((resolve, reject) => {
      const onAbort = () => reject(new JoinAbortedError('the session ended while it joined'));
      signal.addEventListener('abort', onAbort, { once: true });
      joining.then(
        (link) => {
          signal.removeEventListener('abort', onAbort);
          if (!signal.aborted) return resolve(link);
          this.o.log.info('a join completed after its session ended; leaving the room');
          void this.dispose(link);
          reject(new JoinAbortedError('the session ended while it joined'));
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  get reconnecting(): boolean {
    return !this.over && !this.o.signal.aborted && (!this.link || this.resuming);
  }

  /** One data message to the room, bounded; a room that is gone simply misses it. */
  async send(topic: string, message: Record<string, unknown>): Promise<void> {
    await this.link?.send(topic, message);
  }

  /** Closes the sink, unpublishes and leaves (each bounded); stops any rejoin. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.finish();
      const link = this.link;
      this.link = undefined;
      if (link) await this.dispose(link);
    })();
    return this.closing;
  }

  /** No more rejoins, timers or music for this presence. */
  private finish(): void {
    this.over = true;
    clearTimeout(this.emptyTimer);
    this.wakeRetry?.();
    this.sink.close();
  }

  private end(reason: string, error?: string): void {
    if (this.over) return;
    this.finish();
    this.emit('ended', reason, error);
  }

  private get done(): boolean {
    return this.over || this.o.signal.aborted;
  }

  private adopt(link: RoomLink): void {
    this.link = link;
    link.on('disconnected', (reason, recoverable) => void this.onDisconnected(link, reason, recoverable));
    link.on('participantsChanged', (others) => this.watchEmpty(others));
    link.on('speaking', (active) => {
      if (!this.done && this.link === link) this.emit('speaking', active);
    });
    link.on('reconnecting', () => {
      if (this.done || this.link !== link || this.resuming) return;
      this.resuming = true;
      this.o.log.warn('room connection interrupted; the SDK is resuming it');
      this.emit('reconnecting', 'resuming');
    });
    link.on('reconnected', () => {
      if (this.done || this.link !== link || !this.resuming) return;
      this.resuming = false;
      this.o.log.info('room connection resumed');
      this.emit('reconnected');
    });
    this.sink.attach(link.track);
    this.watchEmpty(link.otherParticipants);
  }

  private watchEmpty(others: number): void {
    if (this.o.emptyRoomTimeoutMs <= 0 || this.done) return;
    clearTimeout(this.emptyTimer);
    this.emptyTimer = undefined;
    if (others > 0) return;
    this.emptyTimer = setTimeout(() => {
      if (this.done || (this.link && this.link.otherParticipants > 0)) return;
      this.end(`no other participant in the room for ${this.o.emptyRoomTimeoutMs} ms`);
    }, this.o.emptyRoomTimeoutMs);
  }

  private async onDisconnected(link: RoomLink, reason: string, recoverable: boolean): Promise<void> {
    if (this.link !== link) return;
    const wasResuming = this.resuming;
    this.resuming = false;
    this.link = undefined;
    this.sink.detach();
    clearTimeout(this.emptyTimer);
    if (!this.done) this.emit('speaking', false); // a fresh link starts with nobody speaking
    void this.dispose(link);
    if (this.done) return; // the session is ending: nothing to rejoin, nothing more to report
    if (!recoverable) {
      const error = reason === 'DUPLICATE_IDENTITY' ? 'another participant joined the room with the bot identity' : `disconnected from the room (${reason})`;
      this.end(reason === 'DUPLICATE_IDENTITY' ? IDENTITY_TAKEN : `left the room: ${reason}`, error);
      return;
    }
    this.o.log.warn('room connection lost; rejoining', { reason });
    if (!wasResuming) this.emit('reconnecting', reason);
    await this.rejoin();
  }

  private async rejoin(): Promise<void> {
    const deadline = Date.now() + this.o.rejoinTimeoutMs;
    const random = this.o.random ?? Math.random;
    for (let attempt = 1; !this.done; attempt++) {
      try {
        const fresh = await this.join();
        if (this.done) {
          await this.dispose(fresh);
          return;
        }
        this.adopt(fresh);
        this.o.log.info('room rejoined', { attempt });
        this.emit('reconnected');
        return;
      } catch (err) {
        if (this.done) return;
        // Full jitter: rooms that lost the same server do not come back in lock-step.
        const delay = Math.floor(random() * Math.min(REJOIN_BACKOFF.capMs, REJOIN_BACKOFF.baseMs * 2 ** (attempt - 1)));
        if (Date.now() + delay >= deadline) {
          this.end('could not rejoin the room', `rejoin failed for ${this.o.rejoinTimeoutMs} ms: ${errorFields(err).error}`);
          return;
        }
        this.o.log.debug('rejoin failed; retrying', { attempt, delay_ms: delay, ...errorFields(err) });
        await this.pause(delay);
      }
    }
  }

  /** Waits `ms`, or less when the session is cancelled or the presence closed. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.o.signal.removeEventListener('abort', wake);
        this.wakeRetry = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeRetry = wake;
      this.o.signal.addEventListener('abort', wake, { once: true });
    });
  }

  private async dispose(link: RoomLink): Promise<void> {
    const warn = (msg: string, fields: Record<string, unknown>) => this.o.log.warn(msg, fields);
    await settleWithin(link.track.unpublish(), this.bounds.unpublishMs, 'unpublishing the track', warn);
    await settleWithin(link.leave(), this.bounds.leaveMs, 'leaving the room', warn);
  }
}
