import { Ducker } from '../../src/audio/ducker';

const RATE = 48000;
const FRAME = 480; // 10 ms

function tone(n: number, amplitude = 10000): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * 1000 * i) / RATE)));
}

/** The largest gain change between two neighbouring samples of a ramp over a constant signal, dB. */
function largestStepDb(frames: Int16Array[]): number {
  const all = frames.flatMap((f) => [...f]);
  let worst = 0;
  for (let i = 1; i < all.length; i++) worst = Math.max(worst, Math.abs(20 * Math.log10(all[i]! / all[i - 1]!)));
  return worst;
}

describe('Ducker', () => {
  const make = () => new Ducker({ depthDb: -12, sampleRate: RATE, channels: 1, attackMs: 50, releaseMs: 500 });

  test('unity and untouched until asked; goes down by depthDb in attackMs and back in releaseMs', () => {
    const d = make();
    const f = tone(FRAME);
    expect(d.apply(f.slice())).toEqual(f);
    d.ducked = true;
    const down = Array.from({ length: 5 }, () => {
      d.apply(new Int16Array(FRAME).fill(1000));
      return d.gainDb.toFixed(1);
    });
    expect(down).toEqual(['-2.4', '-4.8', '-7.2', '-9.6', '-12.0']);
    d.apply(new Int16Array(FRAME));
    expect(d.gainDb).toBe(-12);
    d.ducked = false;
    let frames = 0;
    while (d.gainDb < 0 && frames < 1000) {
      d.apply(new Int16Array(FRAME));
      frames++;
    }
    expect(frames).toBe(50); // 500 ms
    expect(d.gainDb).toBe(0);
  });

  test('the ramp is smooth sample by sample (no click): a constant signal changes by far less than 0.01 dB per sample', () => {
    const d = make();
    d.ducked = true;
    const frames = Array.from({ length: 10 }, () => d.apply(new Int16Array(FRAME).fill(20000)));
    expect(largestStepDb(frames)).toBeLessThan(0.01);
    const level = frames[9]![FRAME - 1]!;
    expect(20 * Math.log10(level / 20000)).toBeCloseTo(-12, 1);
  });

  test('a change of mind mid-ramp turns around from where the gain is', () => {
    const d = make();
    d.ducked = true;
    d.apply(new Int16Array(FRAME));
    d.apply(new Int16Array(FRAME));
    d.ducked = false;
    d.apply(new Int16Array(FRAME));
    expect(d.gainDb).toBeCloseTo(-4.8 + 0.24, 5);
  });

  test('stereo: both channels of an instant get the same gain', () => {
    const d = new Ducker({ depthDb: -12, sampleRate: RATE, channels: 2, attackMs: 50, releaseMs: 500 });
    d.ducked = true;
    const f = d.apply(new Int16Array(FRAME * 2).fill(10000));
    for (let i = 0; i < FRAME; i++) expect(f[2 * i]).toBe(f[2 * i + 1]);
    expect(d.gainDb).toBeCloseTo(-2.4, 5);
  });
});
