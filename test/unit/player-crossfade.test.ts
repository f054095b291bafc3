import { Readable } from 'node:stream';
import type { Song } from '../../src/catalog/song';
import { crossfadeFrame } from '../../src/audio/crossfade';
import { Player, type PlayerOptions } from '../../src/player/player';
import { Playlist } from '../../src/player/playlist';
import type { AudioSink, Decoder } from '../../src/player/types';
import { Observations } from '../support/waiter';

const FRAME = 4;

type TestSong = Song & { value: number; samples: number };
const song = (id: string, value: number, samples: number): TestSong => ({ id, title: id, aliases: [], language: 'x', genres: [], url: id, value, samples });

/** A fixed shuffle; with two songs they alternate, the tests read which one came first. */
const inOrder = (): number => 0;

/**
 * A decoder of `samples` samples of a constant value, delivered in chunks of odd sizes. Like ffmpeg
 * behind a bounded buffer, its "process" lives until all its output is buffered (the consumer has
 * read up to 64 bytes from the end) or it is killed, and exits a little later.
 */
class FakeDecoder implements Decoder {
  static alive = 0;
  static peak = 0;
  readonly output: Readable;
  readonly finished: Promise<void>;
  readonly exited: Promise<void>;
  done = false;
  killed = false;
  private settle!: (err?: Error) => void;
  private exit!: () => void;

  constructor(s: TestSong) {
    FakeDecoder.peak = Math.max(FakeDecoder.peak, ++FakeDecoder.alive);
    const bytes = Buffer.alloc(s.samples * 2);
    for (let i = 0; i < s.samples; i++) bytes.writeInt16LE(s.value, i * 2);
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 6) chunks.push(bytes.subarray(at, at + 6)); // 3 samples: never a whole frame
    let next = 0;
    this.output = new Readable({
      highWaterMark: 64,
      read: () => {
        if (next < chunks.length) this.output.push(chunks[next++]);
        if (next === chunks.length) {
          this.output.push(null);
          this.end();
        }
      },
    });
    this.exited = new Promise((resolve) => (this.exit = resolve));
    this.finished = new Promise((resolve, reject) => (this.settle = (err) => (err ? reject(err) : resolve())));
    this.finished.catch(() => undefined);
  }

  kill(): void {
    if (this.killed || this.done) return;
    this.killed = true;
    this.output.destroy();
    this.end(new Error('killed'));
  }

  private end(err?: Error): void {
    if (this.done) return;
    this.done = true;
    setTimeout(() => {
      FakeDecoder.alive--;
      this.exit();
      this.settle(err);
    }, 2);
  }
}

/** Records every sample; each capture takes a macrotask, like a real paced queue. */
class FakeSink implements AudioSink {
  readonly samples: number[] = [];
  readonly frames = new Observations<Int16Array>();
  async capture(frame: Int16Array): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.samples.push(...frame);
    this.frames.push(frame);
  }
  clear(): void {}
  async drain(): Promise<void> {}
  async republish(): Promise<void> {}
}

function setup(songs: TestSong[], opts: Partial<PlayerOptions> = {}) {
  const sink = new FakeSink();
  const decoders: FakeDecoder[] = [];
  const player = new Player(
    new Playlist(songs, inOrder),
    sink,
    (s) => {
      const d = new FakeDecoder(s as TestSong);
      decoders.push(d);
      return d;
    },
    { frameSamples: FRAME, maxFailuresInRow: 3, ...opts },
  );
  const started = new Observations<string>();
  player.on('songStarted', (s) => started.push(s.id));
  return { sink, player, started, decoders };
}

beforeEach(() => {
  FakeDecoder.alive = FakeDecoder.peak = 0;
});

describe('Player: song boundaries', () => {
  test('gapless: every sample of every song plays, none added, across partial frames', async () => {
    // 10 samples is two and a half frames: the half frame is completed by the next song.
    const songs = [song('a', 1, 10), song('b', 2, 10)];
    const { sink, player, started } = setup(songs);
    player.start();
    await started.until((s) => s.length >= 5, 'five songs');
    await player.stop();
    const expected = started.items.slice(0, 4).flatMap((id) => Array(10).fill(songs.find((x) => x.id === id)!.value));
    expect(sink.samples.slice(0, 36)).toEqual(expected.slice(0, 36));
    expect(sink.frames.items.every((f) => f.length === FRAME)).toBe(true);
  });

  test('crossfade: the last frames of a song are mixed with the first frames of the next, equal-power', async () => {
    const songs = [song('a', 1000, 8 * FRAME), song('b', -2000, 8 * FRAME)];
    const { sink, player, started } = setup(songs, { crossfadeFrames: 2 });
    player.start();
    await started.until((s) => s.length >= 4, 'four songs');
    await player.stop();
    const [first, second] = started.items.map((id) => songs.find((x) => x.id === id)!.value);
    const frames = sink.frames.items.map((f) => [...f]);
    const full = (v: number) => Array(FRAME).fill(v);
    const mixed = (from: number, to: number, k: number) => [...crossfadeFrame(Int16Array.from(full(from)), Int16Array.from(full(to)), k * FRAME, 2 * FRAME, 1)];
    // a: 6 frames alone, then 2 frames of a's tail mixed into b's first 2; b: 4 alone, 2 mixed into a.
    expect(frames.slice(0, 16)).toEqual([
      ...Array(6).fill(full(first!)),
      mixed(first!, second!, 0),
      mixed(first!, second!, 1),
      ...Array(4).fill(full(second!)),
      mixed(second!, first!, 0),
      mixed(second!, first!, 1),
      ...Array(2).fill(full(first!)),
    ]);
    // The last sample of the crossfade is all incoming song.
    expect(frames[7]![FRAME - 1]).toBe(second);
  });

  test('a crossfade longer than a song fades through it without losing the stream', async () => {
    const { sink, player, started } = setup([song('a', 1000, 3 * FRAME), song('b', 500, 3 * FRAME)], { crossfadeFrames: 5 });
    player.start();
    await started.until((s) => s.length >= 5, 'five songs');
    await player.stop();
    expect(sink.frames.items.length).toBeGreaterThan(5);
    for (const f of sink.frames.items) for (const v of f) expect(Math.abs(v)).toBeLessThanOrEqual(1500);
  });

  test('a skip fades out over fadeSamples, across frames, and the next song fades in', async () => {
    const { sink, player, started } = setup([song('a', 1200, 400), song('b', 600, 400)], { fadeSamples: 6 });
    player.start();
    await started.next((s) => s === 'b', 'b plays');
    player.skip();
    await started.next((s) => s === 'a', 'a plays', 15000, 1);
    await sink.frames.until((f) => f.length >= 20, 'frames of b');
    await player.stop();
    const values = sink.samples;
    const firstFade = values.findIndex((v) => v !== 600);
    // b (600) ramps down by 1/6 per sample to 0 (one and a half frames), then the frame is silent.
    expect(values.slice(firstFade, firstFade + 8)).toEqual([500, 400, 300, 200, 100, 0, 0, 0]);
    // a starts from silence and ramps up by 1/6 per sample.
    const firstA = firstFade + 8;
    expect(values.slice(firstA, firstA + 7)).toEqual([200, 400, 600, 800, 1000, 1200, 1200]);
  });
});

describe('Player: decoders', () => {
  test('at most two decoders run at once, even through rapid skips, and none is left after stop', async () => {
    // Short songs: a next song is often prefetched when a skip comes.
    const songs = [song('a', 1, 80), song('b', 2, 80), song('c', 3, 80), song('d', 4, 80)];
    const { player, started, decoders } = setup(songs);
    player.start();
    await started.next(() => true, 'playing');
    for (let i = 0; i < 50; i++) {
      player.skip();
      for (let j = 0; j < i % 7; j++) await new Promise((r) => setImmediate(r));
    }
    const mark = started.items.length;
    await started.next(() => true, 'playing after the skips', 15000, mark);
    await player.stop();
    expect(FakeDecoder.peak).toBeLessThanOrEqual(2);
    expect(FakeDecoder.alive).toBe(0);
    expect(decoders.every((d) => d.done)).toBe(true);
  });

  test('a decoder killed while the player waits for it does not stall the next song', async () => {
    const { player, started } = setup([song('a', 1, 4000), song('b', 2, 4000)], { crossfadeFrames: 3 });
    player.start();
    await started.next(() => true, 'playing');
    const next = player.skip();
    await started.next((s) => s === next!.id, 'the skipped-to song', 15000, 1);
    await player.stop();
    expect(FakeDecoder.alive).toBe(0);
  });
});
