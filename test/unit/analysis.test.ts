import { analyseFrame, toDb } from '../../src/audio/analysis';

const RATE = 48000;

/** 100 ms of a sine: a whole number of periods for 440 and 1320 Hz, so RMS is exact. */
function sine(hz: number, amplitude: number, channels = 1, ms = 100): Int16Array {
  const n = (RATE * ms) / 1000;
  const out = new Int16Array(n * channels);
  for (let i = 0; i < n; i++) {
    const v = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / RATE));
    for (let c = 0; c < channels; c++) out[i * channels + c] = c === 0 ? v : 0;
  }
  return out;
}

describe('analyseFrame', () => {
  test('RMS of a sine is amplitude / sqrt(2)', () => {
    expect(analyseFrame(sine(440, 0.5), RATE).rms).toBeCloseTo(0.5 / Math.SQRT2, 3);
    expect(analyseFrame(sine(440, 1), RATE).rms).toBeCloseTo(1 / Math.SQRT2, 3);
  });

  test.each([440, 1320])('estimates a %i Hz sine within a few Hz', (hz) => {
    expect(Math.abs(analyseFrame(sine(hz, 0.5), RATE).hz - hz)).toBeLessThan(2);
  });

  test('short frames still give the pitch', () => {
    expect(Math.abs(analyseFrame(sine(1320, 0.3, 1, 10), RATE).hz - 1320)).toBeLessThan(5);
  });

  test('analyses the first channel of interleaved samples', () => {
    const r = analyseFrame(sine(440, 0.5, 2), RATE, 2);
    expect(r.rms).toBeCloseTo(0.5 / Math.SQRT2, 3);
    expect(Math.abs(r.hz - 440)).toBeLessThan(2);
  });

  test('silence and empty frames have no level and no pitch', () => {
    expect(analyseFrame(new Int16Array(960), RATE)).toEqual({ rms: 0, hz: 0 });
    expect(analyseFrame(new Int16Array(0), RATE)).toEqual({ rms: 0, hz: 0 });
    // Below the silence threshold no pitch is claimed, even with zero crossings.
    expect(analyseFrame(Int16Array.from({ length: 960 }, (_, i) => (i % 2 ? 1 : -1)), RATE).hz).toBe(0);
  });
});

describe('toDb', () => {
  test('full-scale is 0 dB, half is about -6 dB, silence is -Infinity', () => {
    expect(toDb(1)).toBe(0);
    expect(toDb(0.5)).toBeCloseTo(-6.02, 2);
    expect(toDb(0)).toBe(-Infinity);
  });
});
