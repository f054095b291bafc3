export interface DuckerOptions {
  /** Negative: how far the music goes down, dB. */
  depthDb: number;
  sampleRate: number;
  channels: number;
  /** Time to go all the way down, and back up, ms. */
  attackMs: number;
  releaseMs: number;
}

/**
 * Lowers the music while someone in the room speaks: a gain in dB that falls to `depthDb` at
 * `attackDbPerMs` and comes back to 0 dB at the slower `releaseDbPerMs`. The gain moves linearly in
 * dB, sample by sample (interpolated across each frame), so no step is ever a click. Applied per
 * frame after the volume.
 */
export class Ducker {
  private currentDb = 0;
  private wanted = false;

  constructor(private readonly o: DuckerOptions) {}

  /** Duck (true) or restore (false); the change ramps over the following frames. */
  set ducked(on: boolean) {
    this.wanted = on;
  }

  /** True while the music is asked to be down (the ramp may still be on its way). */
  get ducked(): boolean {
    return this.wanted;
  }

  /** The gain now, dB (0: not lowered). */
  get gainDb(): number {
    return this.currentDb;
  }

  /** Scales `frame` in place (interleaved int16) and returns it; unity gain leaves it untouched. */
  apply(frame: Int16Array): Int16Array {
    const target = this.wanted ? Math.min(0, this.o.depthDb) : 0;
    const from = this.currentDb;
    if (from === 0 && target === 0) return frame;
    const instants = frame.length / this.o.channels;
    const ms = (instants / this.o.sampleRate) * 1000;
    const depth = Math.max(1e-9, Math.abs(this.o.depthDb));
    const rate = target < from ? depth / Math.max(1, this.o.attackMs) : depth / Math.max(1, this.o.releaseMs);
    const step = Math.min(Math.abs(target - from), rate * ms);
    const to = target < from ? from - step : from + step;
    for (let i = 0; i < instants; i++) {
      const g = 10 ** ((from + ((to - from) * (i + 1)) / instants) / 20);
      for (let c = 0; c < this.o.channels; c++) {
        const k = i * this.o.channels + c;
        frame[k] = Math.round(frame[k]! * g);
      }
    }
    this.currentDb = Math.abs(to) < 1e-6 ? 0 : to;
    return frame;
  }
}

/**
 * Attack and release of the speech ducking. LiveKit reports a speaker about 0.2 s after the speech
 * starts and its end about 0.8 s after it stops (its smoothing); the queued audio (audio.queueMs)
 * adds to both. A fast attack keeps the first words clear; the release is slower so the music comes
 * back smoothly, yet it is back well within 1.5 s of the speech's end.
 */
export const DUCK_RAMPS = { attackMs: 20, releaseMs: 400 } as const;
