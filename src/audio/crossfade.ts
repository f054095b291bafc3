/**
 * Fades and crossfades on interleaved int16 frames. Positions count sample frames (one sample per
 * channel), so every channel of an instant gets the same gain. Pure: no state outside the arguments
 * except in `Fader`, which only remembers its level between frames.
 */

/**
 * Gains at position `t` (0..1) of an equal-power crossfade: cos for the outgoing song, sin for the
 * incoming one. out² + in² = 1, so two unrelated songs keep a constant loudness through the overlap
 * (a linear crossfade dips by 3 dB in the middle).
 */
export function equalPowerGains(t: number): { out: number; in: number } {
  const x = (Math.min(1, Math.max(0, t)) * Math.PI) / 2;
  return { out: Math.cos(x), in: Math.sin(x) };
}

/**
 * Mixes one frame of a crossfade into a fresh array: `outgoing` fades out, `incoming` fades in.
 * `position` is how many sample frames of the crossfade came before this frame, `length` how many
 * it has in all; the sum saturates at int16 instead of wrapping around.
 */
export function crossfadeFrame(outgoing: Int16Array, incoming: Int16Array, position: number, length: number, channels: number): Int16Array {
  const out = new Int16Array(incoming.length);
  for (let i = 0; i < out.length; i++) {
    const g = equalPowerGains((position + Math.floor(i / channels) + 1) / length);
    out[i] = clamp((outgoing[i] ?? 0) * g.out + incoming[i]! * g.in);
  }
  return out;
}

/**
 * A fade-out/fade-in envelope that spans frames: the level moves linearly by 1/`length` per sample
 * frame towards its target (0 or 1). Used for skip, pause and stop, so the waveform never jumps (a
 * click) and the next song rises from silence.
 */
export class Fader {
  private level = 1;
  private target = 1;

  /** @param length sample frames of a whole fade; 0 = cut at once */
  constructor(private readonly length: number, private readonly channels: number) {}

  fadeOut(): void {
    this.target = 0;
  }

  fadeIn(): void {
    this.target = 1;
  }

  /** The fade-out is complete: everything from now on is silence. */
  get silent(): boolean {
    return this.level === 0 && this.target === 0;
  }

  /** Scales `frame` in place by the envelope and returns it. */
  apply(frame: Int16Array): Int16Array {
    if (this.level === this.target) {
      if (this.level === 0) frame.fill(0);
      return frame;
    }
    const step = this.length > 0 ? 1 / this.length : 1;
    const { channels } = this;
    for (let i = 0; i < frame.length; i += channels) {
      this.level = this.target > this.level ? Math.min(this.target, this.level + step) : Math.max(this.target, this.level - step);
      for (let c = 0; c < channels && i + c < frame.length; c++) frame[i + c] = Math.round(frame[i + c]! * this.level);
    }
    return frame;
  }
}

function clamp(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}
