import type { AudioSink } from '../player/types';
import { TimeLimitError, withTimeLimit } from '../ops/time-limit';

export interface RoomSinkOptions {
  /** The session's cancellation: once aborted, a capture without a track returns at once (nothing to fade into). */
  signal: AbortSignal;
  /** Longest a capture may take; a stalled native call becomes an output error (the player rebuilds the track). */
  captureTimeoutMs: number;
  /** Told when a capture hit its bound (logs). */
  onStall?: (ms: number) => void;
  /** Counts frames that reached a track. */
  onFrame?: () => void;
  /** The silence (ms) the room heard because a frame came after the queue had run dry (metrics). */
  onUnderrun?: (ms: number) => void;
}

/**
 * The player's sink for one room, whose track may come and go (LiveKit reconnects). While no track
 * is attached, `capture` waits, so the player pauses in place and resumes the same song near where
 * it stopped. Once the session is ending (its signal aborted) or the sink is closed (no track will
 * come back), a capture without a track returns at once and every waiting one is released, so a
 * stop never hangs on a room.
 */
export class RoomSink implements AudioSink {
  private track: AudioSink | undefined;
  private waiting: Array<() => void> = [];
  private closed = false;

  private lastCaptureAt = 0;
  private queuedAfterLast = 0;

  constructor(private readonly o: RoomSinkOptions) {
    o.signal.addEventListener('abort', () => this.release(), { once: true });
  }

  /** Audio queued in the track and not yet played, ms (undefined while detached). */
  get queuedMs(): number | undefined {
    return this.track?.queuedMs;
  }

  attach(track: AudioSink): void {
    if (this.closed) return;
    this.track = track;
    this.release();
  }

  detach(): void {
    this.track = undefined;
  }

  /** No track will come back: captures return at once from now on. */
  close(): void {
    this.closed = true;
    this.track = undefined;
    this.release();
  }

  async capture(samples: Int16Array): Promise<void> {
    if (!this.track) {
      if (this.closed || this.o.signal.aborted) return;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      // Released by attach(), close() or the abort; without a track the frame is dropped.
      if (!this.track) return;
    }
    const track = this.track;
    const now = performance.now();
    const idle = now - this.lastCaptureAt;
    // A gap over a second is a pause or a reconnect, not a late frame.
    if (this.lastCaptureAt > 0 && idle < 1000 && idle > this.queuedAfterLast + 1) this.o.onUnderrun?.(idle - this.queuedAfterLast);
    try {
      await withTimeLimit(track.capture(samples), this.o.captureTimeoutMs, 'capturing a frame');
    } catch (err) {
      if (err instanceof TimeLimitError) this.o.onStall?.(this.o.captureTimeoutMs);
      throw err;
    }
    this.lastCaptureAt = performance.now();
    this.queuedAfterLast = this.track?.queuedMs ?? Infinity;
    this.o.onFrame?.();
  }

  async drain(): Promise<void> {
    await this.track?.drain();
  }

  async republish(): Promise<void> {
    // Without a track the reconnect will publish a fresh one.
    await this.track?.republish();
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = [];
    w.forEach((resolve) => resolve());
  }
}
