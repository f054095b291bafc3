import { Readable } from 'node:stream';
import type { Song } from '../../src/catalog/song';
import { Player } from '../../src/player/player';
import { Playlist } from '../../src/player/playlist';
import { seededRandom } from '../../src/player/random';
import type { AudioSink, Decoder } from '../../src/player/types';

const FRAME = 4;
const CHUNKS = 3;
const FRAMES_PER_CHUNK = 2;
const FRAMES_PER_SONG = CHUNKS * FRAMES_PER_CHUNK;

/** `value` is every sample of the song, so each captured frame says which song it came from. */
interface FakeSong extends Song {
  value: number;
  /** open: no audio, then `finished` rejects; midway: audio, then rejects; throw: the factory throws. */
  fail?: 'open' | 'midway' | 'throw';
  /** Never ends by itself (a long song), so the test decides when it is interrupted. */
  endless?: boolean;
}

const song = (id: string, value: number, extra: Partial<FakeSong> = {}): FakeSong => ({ id, title: id, aliases: [], language: 'x', genres: [], url: id, value, ...extra });

class FakeDecoder implements Decoder {
  readonly output = new Readable({ read() {} });
  readonly finished: Promise<void>;
  killed = false;
  done = false;
  private settle: (err?: Error) => void = () => undefined;

  constructor(s: FakeSong) {
    this.finished = new Promise<void>((resolve, reject) => (this.settle = (err) => (err ? reject(err) : resolve())));
    this.finished.then(
      () => (this.done = true),
      () => (this.done = true), // also keeps a rejection of a decoder nobody awaits from being unhandled
    );
    const chunk = Buffer.alloc(FRAME * FRAMES_PER_CHUNK * 2);
    for (let i = 0; i < chunk.length; i += 2) chunk.writeInt16LE(s.value, i);
    for (let i = 0; s.fail !== 'open' && i < CHUNKS; i++) this.output.push(Buffer.from(chunk));
    if (s.endless) return;
    this.output.push(null);
    this.settle(s.fail ? new Error(`cannot decode ${s.id}`) : undefined);
  }

  kill(): void {
    this.killed = true;
    this.output.destroy();
    this.settle(new Error('killed'));
  }
}

/** Captures resolve at once; frames are copied because the player may reuse its arrays. */
class FakeSink implements AudioSink {
  readonly frames: number[][] = [];
  drained = 0;
  onFrame: () => void = () => undefined;
  async capture(samples: Int16Array): Promise<void> {
    this.frames.push([...samples]);
    this.onFrame();
  }
  clear(): void {}
  async drain(): Promise<void> {
    this.drained++;
  }
  async republish(): Promise<void> {}
}

/** Waits by condition, re-checked on every event or frame; the jest timeout is the only timer. */
class Waiter {
  private checks: Array<() => void> = [];
  poke = (): void => this.checks.forEach((c) => c());
  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        this.checks = this.checks.filter((c) => c !== check);
        resolve();
      };
      this.checks.push(check);
      check();
    });
  }
}

/** The order a playlist of `pool` with `seed` plays, read from an identical twin. */
function expectedOrder(pool: FakeSong[], seed: number, n: number): string[] {
  const twin = new Playlist(pool, seededRandom(seed));
  return [twin.current()!.id, ...Array.from({ length: n - 1 }, () => twin.advance()!.id)];
}

/** A seed whose playlist starts with `first`, so the tests do not depend on one shuffle. */
function seedStartingWith(pool: FakeSong[], first: string): number {
  for (let seed = 1; ; seed++) if (new Playlist(pool, seededRandom(seed)).current()!.id === first) return seed;
}

function setup(pool: FakeSong[], opts: { seed?: number; maxFailuresInRow?: number } = {}) {
  const sink = new FakeSink();
  const decoders: FakeDecoder[] = [];
  let opened = 0;
  const player = new Player(
    new Playlist(pool, seededRandom(opts.seed ?? 1)),
    sink,
    (s) => {
      opened++;
      const fake = pool.find((p) => p.id === s.id)!;
      if (fake.fail === 'throw') throw new Error(`cannot start ${s.id}`);
      const d = new FakeDecoder(fake);
      decoders.push(d);
      return d;
    },
    { frameSamples: FRAME, maxFailuresInRow: opts.maxFailuresInRow ?? 3 },
  );
  const events: string[] = [];
  const waiter = new Waiter();
  sink.onFrame = waiter.poke;
  const log = (e: string): void => {
    events.push(e);
    waiter.poke();
  };
  player.on('songStarted', (s) => log(`started ${s.id}`));
  // An unclassified error is reduced to a short cause; its text stays only as the (redacted) detail.
  player.on('songFailed', (s, e) => log(`failed ${s.id}: ${e.message}${e.detail ? ` (${e.detail})` : ''}`));
  player.on('failed', (e) => log(`gave up: ${e.message}`));
  const started = (): string[] => events.filter((e) => e.startsWith('started ')).map((e) => e.slice(8));
  return { sink, player, events, decoders, waiter, started, opened: () => opened };
}

/** Lets the player's already-settled promises run (cleanup after the loop ends). */
async function flushUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await Promise.resolve();
}

describe('Player', () => {
  test('plays songs in playlist order, every frame of each, with songStarted per song', async () => {
    const pool = [song('a', 100), song('b', 200), song('c', 300), song('d', 400)];
    const { sink, player, waiter, started } = setup(pool, { seed: 4 });
    player.start();
    await waiter.until(() => started().length >= 6);
    await player.stop();
    const order = expectedOrder(pool, 4, 6);
    expect(started().slice(0, 6)).toEqual(order);
    const value = (id: string): number => pool.find((s) => s.id === id)!.value;
    const expected = order.slice(0, 5).flatMap((id) => Array.from({ length: FRAMES_PER_SONG }, () => Array<number>(FRAME).fill(value(id))));
    expect(sink.frames.slice(0, 5 * FRAMES_PER_SONG)).toEqual(expected);
  });

  test('skip interrupts the current song, ends its decoder and plays the next one', async () => {
    const pool = [song('a', 100, { endless: true }), song('b', 200, { endless: true }), song('c', 300, { endless: true })];
    const { sink, player, waiter, started, decoders, events } = setup(pool, { seed: 2 });
    const order = expectedOrder(pool, 2, 2);
    player.start();
    await waiter.until(() => sink.frames.length === FRAMES_PER_SONG);
    expect(player.skip()?.id).toBe(order[1]);
    await waiter.until(() => started().length === 2);
    expect(started()).toEqual(order);
    expect(decoders[0]!.killed).toBe(true);
    await waiter.until(() => sink.frames.length === 2 * FRAMES_PER_SONG);
    await player.stop();
    expect(sink.frames[FRAMES_PER_SONG]).toEqual(Array(FRAME).fill(pool.find((s) => s.id === order[1])!.value));
    expect(events.some((e) => e.startsWith('failed'))).toBe(false);
  });

  test.each(['open', 'midway', 'throw'] as const)('a song that fails (%s) emits songFailed and the next one plays', async (fail) => {
    const pool = [song('bad', 9, { fail }), song('good', 1)];
    const { player, waiter, events } = setup(pool, { seed: seedStartingWith(pool, 'bad') });
    player.start();
    await waiter.until(() => events.includes('started good'));
    await player.stop();
    const upToGood = events.slice(0, events.indexOf('started good') + 1);
    expect(upToGood).toEqual([...(fail === 'midway' ? ['started bad'] : []), 'failed bad: ffmpeg failed (cannot decode bad)'.replace('decode', fail === 'throw' ? 'start' : 'decode'), 'started good']);
  });

  test('failures that are not in a row do not add up', async () => {
    const pool = [song('bad', 9, { fail: 'open' }), song('good', 1)];
    const { player, waiter, events } = setup(pool, { seed: seedStartingWith(pool, 'bad'), maxFailuresInRow: 2 });
    player.start();
    await waiter.until(() => events.filter((e) => e.startsWith('failed bad')).length >= 3);
    await player.stop();
    expect(events.some((e) => e.startsWith('gave up'))).toBe(false);
  });

  test('after N failures in a row the player emits failed and its loop ends', async () => {
    const { player, waiter, events, opened } = setup([song('x', 1, { fail: 'open' }), song('y', 2, { fail: 'throw' })], { maxFailuresInRow: 3 });
    player.start();
    await waiter.until(() => events.some((e) => e.startsWith('gave up')));
    await flushUntil(() => !player.running);
    expect(player.running).toBe(false);
    expect(events.filter((e) => e.startsWith('failed'))).toHaveLength(3);
    expect(events.at(-1)).toMatch(/^gave up: 3 songs in a row failed; last: ffmpeg failed$/);
    expect(opened()).toBe(3);
    await player.stop();
  });

  test('stop resolves, kills every decoder (current and prefetched) and no frame follows', async () => {
    const { sink, player, waiter, started, decoders } = setup([song('a', 1), song('b', 2), song('c', 3)]);
    player.start();
    await waiter.until(() => started().length >= 2);
    await player.stop();
    expect(player.running).toBe(false);
    expect(decoders.length).toBeGreaterThanOrEqual(2);
    expect(decoders.every((d) => d.killed)).toBe(true);
    expect(sink.drained).toBeGreaterThan(0);
    const after = sink.frames.length;
    await flushUntil(() => false);
    expect(sink.frames.length).toBe(after);
  });

  test('stop during a long song ends it at once', async () => {
    const { sink, player, waiter, decoders } = setup([song('a', 1, { endless: true }), song('b', 2, { endless: true })]);
    player.start();
    await waiter.until(() => sink.frames.length === FRAMES_PER_SONG);
    await player.stop();
    expect(decoders).toHaveLength(1);
    expect(decoders[0]!.killed).toBe(true);
  });

  test('the volume scales the frames, ramping within the first frame', async () => {
    const { sink, player, waiter } = setup([song('a', 1000), song('b', 1000)]);
    player.volume = 50;
    expect(player.volume).toBe(50);
    player.start();
    await waiter.until(() => sink.frames.length >= FRAMES_PER_SONG);
    await player.stop();
    expect(sink.frames[0]).toEqual([875, 750, 625, 500]);
    expect(sink.frames.slice(1, FRAMES_PER_SONG).flat().every((v) => v === 500)).toBe(true);
  });
});
