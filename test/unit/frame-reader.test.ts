import { PassThrough, Readable } from 'node:stream';
import { FrameReader } from '../../src/audio/frame-reader';

function pcm(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('FrameReader', () => {
  test('yields whole frames, then undefined, and hands over the partial rest', async () => {
    const r = new FrameReader(Readable.from([pcm(range(1, 5)), pcm(range(6, 4))]), 4);
    expect([...(await r.next())!]).toEqual([1, 2, 3, 4]);
    expect([...(await r.next())!]).toEqual([5, 6, 7, 8]);
    expect(await r.next()).toBeUndefined();
    expect(r.over).toBe(true);
    expect([...r.remainder()]).toEqual([9]);
  });

  test('a carry from the previous song starts the first frame', async () => {
    const r = new FrameReader(Readable.from([pcm([3, 4, 5, 6])]), 4, Int16Array.from([1, 2]));
    expect([...(await r.next())!]).toEqual([1, 2, 3, 4]);
    expect(await r.next()).toBeUndefined();
    expect([...r.remainder()]).toEqual([5, 6]);
  });

  test('takes only what it needs: the rest stays in the stream (bounded read-ahead holds the decoder back)', async () => {
    const stream = new PassThrough();
    stream.write(pcm(range(0, 400)));
    const r = new FrameReader(stream, 4);
    await r.next();
    await r.next();
    expect(stream.readableLength).toBe((400 - 8) * 2);
  });

  test('looks ahead: endsWithin says when at most n frames are left', async () => {
    const stream = new PassThrough();
    const r = new FrameReader(stream, 2);
    stream.write(pcm(range(0, 8)));
    const early = r.endsWithin(2);
    stream.end(pcm([8, 9, 10]));
    expect(await early).toBe(false); // 4 frames were there before the end: more than 2
    await r.next();
    await r.next();
    expect(await r.endsWithin(2)).toBe(false); // 3 left
    await r.next();
    expect(await r.endsWithin(2)).toBe(true);
    // The rest: two whole frames and the partial one padded with silence.
    expect(r.rest().map((f) => [...f])).toEqual([[6, 7], [8, 9], [10, 0]]);
  });

  test('nextNow never waits: undefined while the source has nothing', async () => {
    const stream = new PassThrough();
    const r = new FrameReader(stream, 2);
    expect(r.nextNow()).toBeUndefined();
    stream.write(pcm([1, 2, 3]));
    await new Promise((resolve) => setImmediate(resolve));
    expect([...r.nextNow()!]).toEqual([1, 2]);
    expect(r.nextNow()).toBeUndefined();
  });

  test('a destroyed stream (a killed decoder) ends a waiting read', async () => {
    const stream = new PassThrough();
    const r = new FrameReader(stream, 2);
    const pending = r.next();
    stream.destroy();
    expect(await pending).toBeUndefined();
    expect(r.over).toBe(true);
  });

  test('a stream error is thrown to the reader', async () => {
    const stream = new PassThrough();
    const r = new FrameReader(stream, 2);
    const pending = r.next();
    stream.destroy(new Error('boom'));
    await expect(pending).rejects.toThrow('boom');
  });
});

test('FrameReader waits for the rest of a frame without spinning (a partial frame buffered)', async () => {
  const stream = new PassThrough();
  const r = new FrameReader(stream, 4);
  stream.write(pcm([1, 2, 3]));
  const pending = r.next();
  // Timers still run while the reader waits: it is not spinning on nextTick.
  await new Promise((resolve) => setTimeout(resolve, 5));
  stream.write(pcm([4, 5]));
  expect([...(await pending)!]).toEqual([1, 2, 3, 4]);
});
