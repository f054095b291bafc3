import type { Readable } from 'node:stream';
import { Framer } from './framer';

/**
 * Pulls fixed frames from one song's decoded PCM stream, on demand. It reads with `read()` (paused
 * mode), so a decoder nobody reads from keeps its bounded buffer and ffmpeg blocks; and it can look
 * ahead (`fill`), which is how the player learns that a song ends within the crossfade.
 */
export class FrameReader {
  private readonly framer: Framer;
  private readonly ready: Int16Array[] = [];
  private ended = false;
  private failure: Error | undefined;

  /** @param carry samples left over from the previous song, played before this one's (gapless) */
  constructor(private readonly stream: Readable, readonly frameSamples: number, carry?: Int16Array) {
    this.framer = new Framer(frameSamples);
    if (carry && carry.length > 0) this.cut(Buffer.from(carry.buffer, carry.byteOffset, carry.byteLength));
    stream.on('error', (err: Error) => (this.failure ??= err));
  }

  /** The next frame, waiting for the decoder if needed; undefined once the song is over. */
  async next(): Promise<Int16Array | undefined> {
    await this.fill(1);
    return this.ready.shift();
  }

  /** The next frame if one is there without waiting (fade-outs never wait on a slow source). */
  nextNow(): Int16Array | undefined {
    this.pull(1);
    return this.ready.shift();
  }

  /** Waits until `n` frames are ready or the stream is over; returns how many are ready. */
  async fill(n: number): Promise<number> {
    this.pull(n);
    while (this.ready.length < n && !this.ended) {
      await this.readable();
      this.pull(n);
    }
    if (this.failure) throw this.failure;
    return this.ready.length;
  }

  /** True when the song is over and at most `n` whole frames are left (looks ahead n + 1 frames). */
  async endsWithin(n: number): Promise<boolean> {
    const left = await this.fill(n + 1);
    return this.ended && left <= n;
  }

  /** The stream is over (all of it has been read into frames). */
  get over(): boolean {
    return this.ended;
  }

  /** After the end: the samples that did not fill a whole frame. */
  remainder(): Int16Array {
    return this.framer.takeRemainder();
  }

  /** After the end: every frame left, the partial last one padded with silence. */
  rest(): Int16Array[] {
    const frames = this.ready.splice(0);
    const partial = this.framer.takeRemainder();
    if (partial.length > 0) {
      const last = new Int16Array(this.frameSamples);
      last.set(partial);
      frames.push(last);
    }
    return frames;
  }

  /**
   * Takes from the stream only what makes `n` frames, the bytes that complete one frame at a time
   * (so a partial frame carried over from the last song is completed once, not re-joined to every
   * read): the rest stays in the decoder's bounded buffer, which is what holds ffmpeg back (never
   * a whole song in memory).
   */
  private pull(n: number): void {
    while (this.ready.length < n) {
      // Never leave a partial frame's bytes in the stream: a 'readable' listener added while the
      // stream holds data fires at once, and waiting for a frame would spin on nextTick.
      const available = this.stream.readableLength;
      const chunk = this.stream.read(available > 0 ? Math.min(this.framer.missingBytes, available) : undefined) as Buffer | null;
      if (chunk === null) break;
      this.cut(chunk);
    }
    if (this.stream.readableEnded || this.stream.destroyed) this.ended = true;
  }

  private cut(chunk: Buffer): void {
    for (const frame of this.framer.push(chunk)) this.ready.push(frame);
  }

  /** Resolves when the stream has data, ends, fails or is destroyed (a killed decoder). */
  private readable(): Promise<void> {
    const s = this.stream;
    return new Promise((resolve) => {
      const done = (): void => {
        s.off('readable', done);
        s.off('end', done);
        s.off('close', done);
        s.off('error', done);
        resolve();
      };
      s.on('readable', done);
      s.on('end', done);
      s.on('close', done);
      s.on('error', done);
    });
  }
}
