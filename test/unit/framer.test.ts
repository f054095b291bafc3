import { Framer } from '../../src/audio/framer';

function pcm(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

const arrays = (frames: Iterable<Int16Array>): number[][] => [...frames].map((f) => [...f]);

describe('Framer', () => {
  test('cuts fixed-size frames and carries the remainder into the next chunk', () => {
    const f = new Framer(4);
    expect(arrays(f.push(pcm([1, 2, 3, 4, 5, 6])))).toEqual([[1, 2, 3, 4]]);
    expect(arrays(f.push(pcm([7, 8, 9, 10, 11, 12, 13, 14, 15])))).toEqual([[5, 6, 7, 8], [9, 10, 11, 12]]);
    expect([...f.takeRemainder()]).toEqual([13, 14, 15]);
    expect([...f.takeRemainder()]).toEqual([]);
  });

  test('odd byte counts: a sample split across chunks is rejoined', () => {
    const f = new Framer(2);
    const bytes = pcm([300, -300, 1000, -1000, 7]);
    const out = [...f.push(bytes.subarray(0, 3)), ...f.push(bytes.subarray(3, 7)), ...f.push(bytes.subarray(7, 9))];
    expect(arrays(out)).toEqual([[300, -300], [1000, -1000]]);
    // Half a sample is not handed over as a sample.
    expect([...f.takeRemainder()]).toEqual([]);
  });

  test('input at an odd byte offset (pooled buffers) is read correctly', () => {
    const backing = Buffer.alloc(9);
    pcm([-2, 32767, -32768, 5]).copy(backing, 1);
    const f = new Framer(2);
    expect(arrays(f.push(backing.subarray(1)))).toEqual([[-2, 32767], [-32768, 5]]);
  });

  test('each frame is a fresh Int16Array at offset 0 that does not alias the input', () => {
    const f = new Framer(2);
    const input = pcm([1, 2, 3, 4, 5]);
    const frames = [...f.push(input)];
    for (const frame of frames) {
      expect(frame).toBeInstanceOf(Int16Array);
      expect(frame.byteOffset).toBe(0);
      expect(frame.buffer.byteLength).toBe(4);
      expect(frame.buffer).not.toBe(input.buffer);
    }
    expect(frames[0]!.buffer).not.toBe(frames[1]!.buffer);
    input.fill(0);
    expect(arrays(frames)).toEqual([[1, 2], [3, 4]]);
    expect([...f.takeRemainder()]).toEqual([5]); // the carried remainder is a copy too
  });

  test('reset drops the remainder', () => {
    const f = new Framer(2);
    expect([...f.push(pcm([1, 9]).subarray(0, 3))]).toEqual([]);
    f.reset();
    expect(arrays(f.push(pcm([2, 3])))).toEqual([[2, 3]]);
    expect([...f.takeRemainder()]).toEqual([]);
  });

  test('missingBytes: what completes the frame being assembled', () => {
    const f = new Framer(4); // 8 bytes a frame
    expect(f.missingBytes).toBe(8);
    expect([...f.push(pcm([1, 2, 3]))]).toEqual([]);
    expect(f.missingBytes).toBe(2);
    expect(arrays(f.push(pcm([4])))).toEqual([[1, 2, 3, 4]]);
    expect(f.missingBytes).toBe(8);
  });
});
