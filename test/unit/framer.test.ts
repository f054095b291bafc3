import { Framer } from '../../src/audio/framer';

function pcm(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

describe('Framer', () => {
  test('cuts fixed frames and carries the remainder into the next chunk', () => {
    const f = new Framer(4);
    expect([...f.push(pcm([1, 2, 3, 4, 5, 6]))].map((x) => [...x])).toEqual([[1, 2, 3, 4]]);
    expect([...f.push(pcm([7, 8, 9, 10]))].map((x) => [...x])).toEqual([[5, 6, 7, 8]]);
  });

  test('handles chunks split inside a sample', () => {
    const f = new Framer(2);
    const bytes = pcm([300, -300, 1000, -1000]);
    const out = [...f.push(bytes.subarray(0, 3)), ...f.push(bytes.subarray(3))].map((x) => [...x]);
    expect(out).toEqual([[300, -300], [1000, -1000]]);
  });

  test('every frame is a fresh array at offset 0 that does not alias the input', () => {
    const f = new Framer(2);
    const input = pcm([1, 2, 3, 4]);
    const frames = [...f.push(input)];
    for (const frame of frames) {
      expect(frame.byteOffset).toBe(0);
      expect(frame.buffer.byteLength).toBe(4);
    }
    input.fill(0);
    expect([...frames[1]!]).toEqual([3, 4]);
  });

  test('reset drops the partial frame', () => {
    const f = new Framer(2);
    expect([...f.push(pcm([1]))]).toEqual([]);
    f.reset();
    expect([...f.push(pcm([2, 3]))].map((x) => [...x])).toEqual([[2, 3]]);
  });
});
