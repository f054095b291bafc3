import { Gain } from '../../src/audio/gain';

describe('Gain', () => {
  test('100 leaves samples untouched', () => {
    expect([...new Gain(100).apply(Int16Array.from([1000, -1000]))]).toEqual([1000, -1000]);
  });

  test('a change ramps across one frame, then holds', () => {
    const g = new Gain(100);
    g.volume = 0;
    const ramp = g.apply(Int16Array.from([1000, 1000, 1000, 1000]));
    expect([...ramp]).toEqual([750, 500, 250, 0]);
    expect([...g.apply(Int16Array.from([1000, 1000]))]).toEqual([0, 0]);
  });

  test('25 is a quarter of the amplitude (-12 dB)', () => {
    const g = new Gain(25);
    expect([...g.apply(Int16Array.from([4000, -4000]))]).toEqual([1000, -1000]);
    expect(g.volume).toBe(25);
  });

  test('out-of-range volumes are clamped and never wrap around', () => {
    const g = new Gain(150);
    expect([...g.apply(Int16Array.from([32767, -32768]))]).toEqual([32767, -32768]);
    g.volume = -5;
    g.apply(Int16Array.from([1]));
    expect([...g.apply(Int16Array.from([32767]))]).toEqual([0]);
  });
});
