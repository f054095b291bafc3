import { Gain } from '../../src/audio/gain';

const apply = (g: Gain, values: number[]): number[] => [...g.apply(Int16Array.from(values))];

describe('Gain', () => {
  test('100 leaves samples untouched, including the int16 limits', () => {
    expect(apply(new Gain(), [1000, -1000, 32767, -32768])).toEqual([1000, -1000, 32767, -32768]);
  });

  test('0 is silence', () => {
    expect(apply(new Gain(0), [1000, -32768, 32767])).toEqual([0, 0, 0]);
  });

  test('a change ramps linearly across one frame, then holds', () => {
    const g = new Gain(100);
    g.volume = 0;
    expect(apply(g, [1000, 1000, 1000, 1000])).toEqual([750, 500, 250, 0]);
    expect(apply(g, [1000, 1000])).toEqual([0, 0]);
    g.volume = 50;
    expect(apply(g, [1000, 1000, 1000, 1000])).toEqual([125, 250, 375, 500]);
    expect(apply(g, [1000, -1000])).toEqual([500, -500]);
  });

  test('volume is linear amplitude: 25 is a quarter', () => {
    const g = new Gain(25);
    expect(apply(g, [4000, -4000])).toEqual([1000, -1000]);
    expect(g.volume).toBe(25);
  });

  test('out-of-range volumes are clamped to 0..100', () => {
    const g = new Gain(150);
    expect(g.volume).toBe(100);
    g.volume = -5;
    expect(g.volume).toBe(0);
  });

  test('ramps at the int16 limits never wrap around or flip sign', () => {
    const g = new Gain(0);
    const input = [32767, -32768, 32767, -32768, 32767, -32768, 32767];
    for (const v of [100, 30, 100, 100, 0, 100]) {
      g.volume = v;
      apply(g, input).forEach((s, i) => {
        const x = input[i]!;
        expect(Math.sign(s) === 0 || Math.sign(s) === Math.sign(x)).toBe(true);
        expect(Math.abs(s)).toBeLessThanOrEqual(Math.abs(x));
      });
    }
    expect(apply(g, [32767, -32768])).toEqual([32767, -32768]);
  });

  test('fadeOut ramps to silence and the next apply fades back in to the volume', () => {
    const g = new Gain(100);
    expect([...g.fadeOut(Int16Array.from([1000, 1000, 1000, 1000]))]).toEqual([750, 500, 250, 0]);
    expect(g.volume).toBe(100);
    expect(apply(g, [1000, 1000, 1000, 1000])).toEqual([250, 500, 750, 1000]);
  });
});
