import { toneLevel } from '../../src/audio/analysis';

const RATE = 48000;
const FRAME = 480; // 10 ms, what the listener analyses

function tones(parts: Array<[hz: number, amplitude: number]>, channels = 1): Int16Array {
  const s = new Int16Array(FRAME * channels);
  for (let i = 0; i < FRAME; i++) {
    const v = parts.reduce((sum, [hz, a]) => sum + a * Math.sin((2 * Math.PI * hz * i) / RATE + 0.3), 0);
    for (let c = 0; c < channels; c++) s[i * channels + c] = Math.round(v * 32767);
  }
  return s;
}

describe('toneLevel', () => {
  test('a tone of amplitude A reads A/√2 (its RMS) at its own frequency', () => {
    expect(toneLevel(tones([[1000, 0.5]]), RATE, 1000)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(toneLevel(tones([[400, 0.1]]), RATE, 400)).toBeCloseTo(0.1 / Math.SQRT2, 2);
  });

  test('two overlapping tones far enough apart are measured separately', () => {
    const mix = tones([[400, 0.3], [1000, 0.1]]);
    expect(toneLevel(mix, RATE, 400)).toBeCloseTo(0.3 / Math.SQRT2, 2);
    expect(toneLevel(mix, RATE, 1000)).toBeCloseTo(0.1 / Math.SQRT2, 2);
  });

  test('a tone 400 Hz away leaks less than -40 dB; silence reads 0', () => {
    const level = toneLevel(tones([[400, 0.5]]), RATE, 800);
    expect(20 * Math.log10(level / (0.5 / Math.SQRT2))).toBeLessThan(-40);
    expect(toneLevel(new Int16Array(FRAME), RATE, 400)).toBe(0);
    expect(toneLevel(new Int16Array(1), RATE, 400)).toBe(0);
  });

  test('reads the first channel of interleaved frames', () => {
    expect(toneLevel(tones([[1000, 0.5]], 2), RATE, 1000, 2)).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });
});
