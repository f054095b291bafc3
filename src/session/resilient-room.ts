import { EventEmitter } from 'eventemitter3';
import { errorFields, type Logger } from '../ops/logger';
import type { RoomJoiner, RoomLink } from './room-link';
import { RoomSink } from './room-sink';

export interface ResilientRoomOptions {
  room: string;
  join: RoomJoiner;
  log: Logger;
  /** Give up rejoining after this long without the room (ms). */
  rejoinTimeoutMs: number;
  /** End when no other participant has been in the room this long (ms); 0 = never. */
  emptyRoomTimeoutMs: number;
  onFrame?: () => void;
  onUnderrun?: (ms: number) => void;
}

export interface ResilientRoomEvents {
  /** The connection dropped; the sink holds the music until `reconnected`. */
  reconnecting: (reason: string) => void;
  reconnected: () => void;
  /** The room is over for this session; `error` is set when it ended badly. */
  ended: (reason: string, error?: string) => void;
}

/**
 * A session's presence in its room, kept up across LiveKit restarts and network drops: a
 * recoverable disconnect detaches the sink (the player waits in place), rejoins with back-off and
 * republishes; a final one (room deleted, bot removed, identity taken) or a rejoin that takes too
 * long ends it. Also ends the session when nobody else has been in the room for a while, so music
 * never plays into an empty room.
 */
export class ResilientRoom extends EventEmitter<ResilientRoomEvents> {
  readonly sink: RoomSink;
  private link: RoomLink | undefined;
  private closed = false;
  private readonly aborter = new AbortController();
  /** The SDK is resuming the current link in place (the link and sink stay). */
  private resuming = false;
  private emptyTimer: NodeJS.Timeout | undefined;
  private retryTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  private constructor(private readonly o: ResilientRoomOptions) {
    super();
    this.sink = new RoomSink(o.onFrame, o.onUnderrun);
  }

  /** Joins the room; a failure here is the start command's failure. */
  static async open(o: ResilientRoomOptions): Promise<ResilientRoom> {
    const r = new ResilientRoom(o);
    r.adopt(await o.join(o.room, r.aborter.signal));
    return r;
  }

  get reconnecting(): boolean {
    return !this.closed && (!this.link || this.resuming);
  }

  async send(topic: string, message: Record<string, unknown>): Promise<void> {
    await this.link?.send(topic, message);
  }

  /** Unpublishes and leaves; stops any rejoin in progress. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.aborter.abort();
    clearTimeout(this.emptyTimer);
    this.retryTimer?.wake();
    this.sink.close();
    const link = this.link;
    this.link = undefined;
    if (link) await this.dispose(link);
  }

  private adopt(link: RoomLink): void {
    this.link = link;
    link.on('disconnected', (reason, recoverable) => void this.onDisconnected(link, reason, recoverable));
    link.on('participantsChanged', (others) => this.watchEmpty(others));
    link.on('reconnecting', () => {
      if (this.closed || this.link !== link || this.resuming) return;
      this.resuming = true;
      this.o.log.warn('room connection interrupted; the SDK is resuming it');
      this.emit('reconnecting', 'resuming');
    });
    link.on('reconnected', () => {
      if (this.closed || this.link !== link || !this.resuming) return;
      this.resuming = false;
      this.o.log.info('room connection resumed');
      this.emit('reconnected');
    });
    this.sink.attach(link.track);
    this.watchEmpty(link.otherParticipants);
  }

  private watchEmpty(others: number): void {
    if (this.o.emptyRoomTimeoutMs <= 0 || this.closed) return;
    clearTimeout(this.emptyTimer);
    this.emptyTimer = undefined;
    if (others > 0) return;
    this.emptyTimer = setTimeout(() => {
      if (this.closed || (this.link && this.link.otherParticipants > 0)) return;
      this.emit('ended', `no other participant in the room for ${this.o.emptyRoomTimeoutMs} ms`);
    }, this.o.emptyRoomTimeoutMs);
  }

  private async onDisconnected(link: RoomLink, reason: string, recoverable: boolean): Promise<void> {
    if (this.closed || this.link !== link) return;
    const wasResuming = this.resuming;
    this.resuming = false;
    this.link = undefined;
    this.sink.detach();
    clearTimeout(this.emptyTimer);
    void this.dispose(link);
    if (!recoverable) {
      const error = reason === 'DUPLICATE_IDENTITY' ? 'another participant joined the room with the bot identity' : `disconnected from the room (${reason})`;
      this.emit('ended', `left the room: ${reason}`, error);
      return;
    }
    this.o.log.warn('room connection lost; rejoining', { reason });
    if (!wasResuming) this.emit('reconnecting', reason);
    const deadline = Date.now() + this.o.rejoinTimeoutMs;
    let delay = 250;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const fresh = await this.o.join(this.o.room, this.aborter.signal);
        if (this.closed) {
          await this.dispose(fresh);
          return;
        }
        this.adopt(fresh);
        this.o.log.info('room rejoined', { attempt });
        this.emit('reconnected');
        return;
      } catch (err) {
        if (Date.now() + delay >= deadline) {
          this.emit('ended', 'could not rejoin the room', `rejoin failed for ${this.o.rejoinTimeoutMs} ms: ${errorFields(err).error}`);
          return;
        }
        this.o.log.debug('rejoin failed; retrying', { attempt, delay_ms: delay, ...errorFields(err) });
        await this.pause(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.retryTimer = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.retryTimer = { timer, wake };
    });
  }

  private async dispose(link: RoomLink): Promise<void> {
    await link.track.unpublish().catch((err: unknown) => this.o.log.warn('unpublish failed', errorFields(err)));
    await link.leave().catch((err: unknown) => this.o.log.warn('leaving the room failed', errorFields(err)));
  }
}
