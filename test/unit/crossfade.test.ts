import { crossfadeFrame, equalPowerGains, Fader } from '../../src/audio/crossfade';

describe('equal-power crossfade', () => {
  test('the gains start at (1, 0), end at (0, 1) and keep constant power', () => {
    expect(equalPowerGains(0)).toEqual({ out: 1, in: 0 });
    const end = equalPowerGains(1);
    expect(end.out).toBeCloseTo(0, 12);
    expect(end.in).toBe(1);
    for (const t of [0.1, 0.25, 0.5, 0.9]) {
      const g = equalPowerGains(t);
      expect(g.out ** 2 + g.in ** 2).toBeCloseTo(1, 12);
    }
    expect(equalPowerGains(0.5).out).toBeCloseTo(Math.SQRT1_2, 12);
    expect(equalPowerGains(-1)).toEqual(equalPowerGains(0));
    expect(equalPowerGains(2)).toEqual(equalPowerGains(1));
  });

  test('frames across the crossfade hand over from the outgoing to the incoming song', () => {
    const length = 8; // two frames of four mono samples
    const a = Int16Array.from([1000, 1000, 1000, 1000]);
    const b = Int16Array.from([-2000, -2000, -2000, -2000]);
    const first = crossfadeFrame(a, b, 0, length, 1);
    const second = crossfadeFrame(a, b, 4, length, 1);
    const expected = (k: number) => Math.round(1000 * Math.cos(((k / length) * Math.PI) / 2) - 2000 * Math.sin(((k / length) * Math.PI) / 2));
    expect([...first]).toEqual([1, 2, 3, 4].map(expected));
    expect([...second]).toEqual([5, 6, 7, 8].map(expected));
    expect(second[3]).toBe(-2000); // the last sample is all incoming
  });

  test('a fresh frame is returned; the inputs are untouched', () => {
    const a = Int16Array.from([100, 100]);
    const b = Int16Array.from([200, 200]);
    const out = crossfadeFrame(a, b, 0, 2, 1);
    expect(out).not.toBe(a);
    expect(out).not.toBe(b);
    expect([...a]).toEqual([100, 100]);
    expect([...b]).toEqual([200, 200]);
  });

  test('both channels of an instant get the same gains', () => {
    const out = crossfadeFrame(Int16Array.from([1000, 1000, 1000, 1000]), Int16Array.from([0, 0, 0, 0]), 0, 4, 2);
    expect(out[0]).toBe(out[1]);
    expect(out[2]).toBe(out[3]);
    expect(out[2]).toBeLessThan(out[0]!);
  });

  test('loud songs saturate instead of wrapping around', () => {
    const loud = Int16Array.from([32767, -32768]);
    const out = crossfadeFrame(loud, loud, 0, 4, 1);
    expect(out[0]).toBe(32767);
    expect(out[1]).toBe(-32768);
  });

  test('a shorter outgoing tail counts as silence', () => {
    const out = crossfadeFrame(Int16Array.from([1000]), Int16Array.from([0, 0]), 0, 2, 1);
    expect(out[1]).toBe(0);
  });
});

describe('Fader', () => {
  test('passes frames through until told to fade', () => {
    const f = new Fader(4, 1);
    expect([...f.apply(Int16Array.from([1000, -1000]))]).toEqual([1000, -1000]);
    expect(f.silent).toBe(false);
  });

  test('a fade-out ramps linearly to silence across frames, then stays silent', () => {
    const f = new Fader(6, 1);
    f.fadeOut();
    const v = 600;
    expect([...f.apply(Int16Array.from([v, v, v, v]))]).toEqual([500, 400, 300, 200]);
    expect(f.silent).toBe(false);
    expect([...f.apply(Int16Array.from([v, v, v, v]))]).toEqual([100, 0, 0, 0]);
    expect(f.silent).toBe(true);
    expect([...f.apply(Int16Array.from([v, v]))]).toEqual([0, 0]);
  });

  test('a fade-in rises from silence back to full level', () => {
    const f = new Fader(2, 1);
    f.fadeOut();
    f.apply(new Int16Array(4));
    f.fadeIn();
    expect([...f.apply(Int16Array.from([800, 800, 800]))]).toEqual([400, 800, 800]);
    expect(f.silent).toBe(false);
  });

  test('a one-frame fade matches the classic per-frame ramp', () => {
    const f = new Fader(4, 1);
    f.fadeOut();
    expect([...f.apply(Int16Array.from([1000, 1000, 1000, 1000]))]).toEqual([750, 500, 250, 0]);
    f.fadeIn();
    expect([...f.apply(Int16Array.from([1000, 1000, 1000, 1000]))]).toEqual([250, 500, 750, 1000]);
  });

  test('stereo frames ramp per instant, and a zero-length fade cuts at once', () => {
    const f = new Fader(2, 2);
    f.fadeOut();
    expect([...f.apply(Int16Array.from([1000, 1000, 1000, 1000]))]).toEqual([500, 500, 0, 0]);
    const cut = new Fader(0, 1);
    cut.fadeOut();
    expect([...cut.apply(Int16Array.from([1000, 1000]))]).toEqual([0, 0]);
    expect(cut.silent).toBe(true);
  });
});
