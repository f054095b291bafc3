import type { AudioSink } from '../player/types';

/**
 * The player's sink for one room, whose track may come and go (LiveKit reconnects). While no track
 * is attached, `capture` waits, so the player pauses in place and resumes the same song near where
 * it stopped. `clear` releases a waiting capture (skip, pause, stop must never hang on a room).
 */
export class RoomSink implements AudioSink {
  private track: AudioSink | undefined;
  private waiting: Array<() => void> = [];
  private closed = false;

  private lastCaptureAt = 0;
  private queuedAfterLast = 0;

  /**
   * `onFrame` counts frames that reached a track; `onUnderrun` gets the silence (ms) the room heard
   * because a frame came after the queue had run dry (metrics).
   */
  constructor(
    private readonly onFrame: () => void = () => undefined,
    private readonly onUnderrun: (ms: number) => void = () => undefined,
  ) {}

  attach(track: AudioSink): void {
    this.track = track;
    this.release();
  }

  detach(): void {
    this.track = undefined;
  }

  get attached(): boolean {
    return this.track !== undefined;
  }

  /** No track will come back: captures return at once from now on. */
  close(): void {
    this.closed = true;
    this.track = undefined;
    this.release();
  }

  async capture(samples: Int16Array): Promise<void> {
    if (this.closed) return;
    if (!this.track) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      // Released by clear() or attach(); a cleared frame is dropped.
      if (!this.track) return;
    }
    const now = performance.now();
    const idle = now - this.lastCaptureAt;
    // A gap over a second is a pause or a reconnect, not a late frame.
    if (this.lastCaptureAt > 0 && idle < 1000 && idle > this.queuedAfterLast + 1) this.onUnderrun(idle - this.queuedAfterLast);
    await this.track.capture(samples);
    this.lastCaptureAt = performance.now();
    this.queuedAfterLast = this.track?.queuedMs ?? Infinity;
    this.onFrame();
  }

  clear(): void {
    this.track?.clear();
    if (!this.track) this.release();
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
