import { BYTES_PER_SAMPLE } from './pcm-format';

const EMPTY = Buffer.alloc(0);

/**
 * Cuts a byte stream of s16le PCM into fixed-size frames. Each frame is a fresh Int16Array:
 * rtc-node's AudioFrame ignores byteOffset, so a view into ffmpeg's pooled buffers would send the
 * wrong samples. The partial frame at the end of one song carries into the next song's first frame,
 * so song boundaries add no padding.
 */
export class Framer {
  private readonly frameBytes: number;
  private pending: Buffer = EMPTY;

  /** @param frameSamples samples per frame across all channels */
  constructor(readonly frameSamples: number) {
    this.frameBytes = frameSamples * BYTES_PER_SAMPLE;
  }

  /** Bytes that complete the frame being assembled (a whole frame when none is). */
  get missingBytes(): number {
    return this.frameBytes - this.pending.length;
  }

  *push(chunk: Buffer): Generator<Int16Array> {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (data.length >= this.frameBytes) {
      const frame = new Int16Array(this.frameSamples);
      // Copy byte-wise: chunk offsets can be odd, which an Int16Array view could not express.
      Buffer.from(frame.buffer).set(data.subarray(0, this.frameBytes));
      data = data.subarray(this.frameBytes);
      yield frame;
    }
    this.pending = data.length > 0 ? Buffer.from(data) : EMPTY;
  }

  /**
   * Hands over the partial frame (whole samples) and forgets it: at the end of a song it is the
   * start of the next song's first frame (gapless), or the last bit of a crossfade tail.
   */
  takeRemainder(): Int16Array {
    const samples = new Int16Array(Math.floor(this.pending.length / BYTES_PER_SAMPLE));
    Buffer.from(samples.buffer).set(this.pending.subarray(0, samples.byteLength));
    this.pending = EMPTY;
    return samples;
  }

  /** Drops the partial frame (skip, stop): it belongs to a song that will not continue. */
  reset(): void {
    this.pending = EMPTY;
  }
}
