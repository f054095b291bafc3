/** Level and pitch of one short frame, for the listener's meter and for tests. */
export interface FrameAnalysis {
  /** Root mean square, 0..1 of full scale. */
  rms: number;
  /** Dominant frequency in Hz by interpolated zero crossings; 0 when silent. Exact for pure tones. */
  hz: number;
}

const SILENCE_RMS = 0.001;

/** Analyses the first channel of interleaved int16 samples. */
export function analyseFrame(samples: Int16Array, sampleRate: number, channels = 1): FrameAnalysis {
  const n = Math.floor(samples.length / channels);
  if (n === 0) return { rms: 0, hz: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = samples[i * channels]! / 32768;
    sum += v * v;
  }
  const rms = Math.sqrt(sum / n);
  if (rms < SILENCE_RMS) return { rms, hz: 0 };

  // Positions (in samples) of upward zero crossings, linearly interpolated between samples.
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 1; i < n; i++) {
    const a = samples[(i - 1) * channels]!;
    const b = samples[i * channels]!;
    if (a < 0 && b >= 0) {
      const pos = i - 1 + -a / (b - a);
      if (first < 0) first = pos;
      last = pos;
      count++;
    }
  }
  const hz = count >= 2 ? ((count - 1) * sampleRate) / (last - first) : 0;
  return { rms, hz };
}

export function toDb(rms: number): number {
  return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
}

/**
 * RMS level (0..1 of full scale) of the component at `hz` in the first channel, by a Hann-windowed
 * single-bin DFT (Goertzel's question, answered directly). Unlike `hz`, which names only the
 * dominant tone, this tells two overlapping tones apart, e.g. both songs during a crossfade. A 10 ms
 * frame tells apart tones at least 200 Hz apart; leakage from a tone 400 Hz away is below -40 dB.
 */
export function toneLevel(samples: Int16Array, sampleRate: number, hz: number, channels = 1): number {
  const n = Math.floor(samples.length / channels);
  if (n < 2) return 0;
  const w = (2 * Math.PI * hz) / sampleRate;
  let re = 0;
  let im = 0;
  let windowSum = 0;
  for (let i = 0; i < n; i++) {
    const win = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const v = (samples[i * channels]! / 32768) * win;
    re += v * Math.cos(w * i);
    im += v * Math.sin(w * i);
    windowSum += win;
  }
  // A sine of amplitude A sums to A/2 of the window's weight; its RMS is A/√2.
  const amplitude = (2 * Math.hypot(re, im)) / windowSum;
  return amplitude / Math.SQRT2;
}
