/**
 * Per-room volume. Gain changes ramp linearly across one frame so a change is never a step
 * (a click); results are clamped to int16 so loud input saturates instead of wrapping around.
 */
export class Gain {
  private current: number;
  private target: number;

  constructor(volume = 100) {
    this.current = this.target = volumeToGain(volume);
  }

  set volume(v: number) {
    this.target = volumeToGain(v);
  }

  get volume(): number {
    return Math.round(this.target * 100);
  }

  /**
   * Ramps from the current gain to silence across `frame` (in place). The volume is kept: the next
   * `apply` ramps back up to it, which is the fade-in of whatever plays next.
   */
  fadeOut(frame: Int16Array): Int16Array {
    const from = this.current;
    const n = frame.length;
    for (let i = 0; i < n; i++) frame[i] = Math.round(frame[i]! * from * (1 - (i + 1) / n));
    this.current = 0;
    return frame;
  }

  /** Scales `frame` in place and returns it. */
  apply(frame: Int16Array): Int16Array {
    const from = this.current;
    const to = this.target;
    if (from === 1 && to === 1) return frame;
    const n = frame.length;
    const step = (to - from) / n;
    for (let i = 0; i < n; i++) {
      const v = frame[i]! * (from + step * (i + 1));
      frame[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    this.current = to;
    return frame;
  }
}

/** Linear amplitude: volume 25 is a quarter of the amplitude (-12 dB). */
function volumeToGain(volume: number): number {
  return Math.min(100, Math.max(0, volume)) / 100;
}
