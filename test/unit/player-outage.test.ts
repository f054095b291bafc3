import { Readable } from 'node:stream';
import { SongFailure } from '../../src/audio/failure';
import type { Song } from '../../src/catalog/song';
import { retryDelayMs } from '../../src/player/backoff';
import { Player, type OutageOptions } from '../../src/player/player';
import { Playlist } from '../../src/player/playlist';
import { seededRandom } from '../../src/player/random';
import type { AudioSink, Decoder } from '../../src/player/types';

/** Source outages with fake decoders and fake timers: the sink paces 20 ms per frame on the fake clock. */

const FRAME = 4;
const FRAME_MS = 20;
const FRAMES_PER_SONG = 6;
const FALLBACK = 1000;

interface FakeSong extends Song {
  value: number;
}
const song = (id: string, value: number): FakeSong => ({ id, title: id, aliases: [], language: 'x', genres: [], url: `http://cdn.example/${id}.mp3?X-Amz-Signature=SECRET`, value });

/** What the "CDN" answers now; a song opened while it is down fails at once with `failure`. */
class Source {
  failure: SongFailure | undefined = new SongFailure('http 500', 'source');
  /** Songs opened now get no answer at all (a connect that hangs) until killed. */
  hang = false;
  /** Songs answered with a song-kind failure (404) even while the source is up. */
  readonly missing = new Set<string>();
  opened: string[] = [];
}

class FakeDecoder implements Decoder {
  readonly output = new Readable({ read() {} });
  readonly finished: Promise<void>;
  done = false;
  private settle: (err?: Error) => void = () => undefined;

  constructor(value: number, failure: SongFailure | undefined, hang = false) {
    this.finished = new Promise<void>((resolve, reject) => (this.settle = (err) => (err ? reject(err) : resolve())));
    this.finished.then(
      () => (this.done = true),
      () => (this.done = true),
    );
    if (hang) return;
    if (!failure) {
      const chunk = Buffer.alloc(FRAME * FRAMES_PER_SONG * 2);
      for (let i = 0; i < chunk.length; i += 2) chunk.writeInt16LE(value, i);
      this.output.push(chunk);
    }
    this.output.push(null);
    this.settle(failure);
  }

  kill(): void {
    this.output.destroy();
    this.settle(new Error('killed'));
  }
}

/** Each capture takes one frame's time on the (fake) clock, as a real track's queue paces the loop. */
class PacedSink implements AudioSink {
  readonly frames: number[][] = [];
  capture(samples: Int16Array): Promise<void> {
    this.frames.push([...samples]);
    return new Promise((r) => setTimeout(r, FRAME_MS));
  }
  clear(): void {}
  async drain(): Promise<void> {}
  async republish(): Promise<void> {}
}

const pool = [song('a', 100), song('b', 200), song('c', 300)];

function setup(opts: { fallback?: boolean; maxFailuresInRow?: number; outage?: OutageOptions } = {}) {
  const source = new Source();
  const sink = new PacedSink();
  const fallbackSong = song('fallback/tone', FALLBACK);
  const open = (s: Song): Decoder => {
    source.opened.push(s.id);
    const fake = s as FakeSong;
    if (s.id.startsWith('fallback/')) return new FakeDecoder(fake.value, undefined);
    if (source.missing.has(s.id)) return new FakeDecoder(fake.value, new SongFailure('http 404', 'song'));
    return new FakeDecoder(fake.value, source.failure, source.hang);
  };
  const player = new Player(new Playlist(pool, seededRandom(7)), sink, open, {
    frameSamples: FRAME,
    maxFailuresInRow: opts.maxFailuresInRow ?? 3,
    outage: { fallback: opts.fallback ? [fallbackSong] : undefined, retryBaseMs: 1000, retryMaxMs: 4000, random: () => 0.999, ...opts.outage },
  });
  const events: string[] = [];
  player.on('songStarted', (s) => events.push(`started ${s.id}`));
  player.on('songFailed', (s, e) => events.push(`failed ${s.id}: ${e.message}`));
  player.on('degraded', (cause) => events.push(`degraded: ${cause}`));
  player.on('recovered', () => events.push('recovered'));
  player.on('failed', (e) => events.push(`gave up: ${e.message}`));
  /** Frames captured since index `from` whose samples are all `value`. */
  const framesOf = (value: number, from = 0): number => sink.frames.slice(from).filter((f) => f.every((x) => x === value)).length;
  return { player, sink, source, events, framesOf };
}

/** Stops the player while the fake clock runs (its fade-out is paced by the sink). */
async function stopOnFakeClock(player: Player): Promise<void> {
  const stopped = player.stop();
  await jest.advanceTimersByTimeAsync(1000);
  await stopped;
}

/** Lets settled promises run without moving the clock. */
async function flush(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}

describe('Player: a source that is down', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('maxFailuresInRow source failures make it degraded (not failed); the fallback loops meanwhile; a retry that plays recovers and the playlist goes on', async () => {
    const { player, sink, source, events, framesOf } = setup({ fallback: true });
    player.start();
    await flush();
    const first = player.playlist.current()!.id;
    expect(events).toEqual(expect.arrayContaining([`degraded: http 500`]));
    expect(events.filter((e) => e.startsWith('failed'))).toHaveLength(3);
    expect(events.some((e) => e.startsWith('gave up'))).toBe(false);
    expect(player.degradedCause).toBe('http 500');
    expect(player.running).toBe(true);

    // Down for 20 s: the fallback plays on, in a loop, and the retries keep failing quietly.
    const failuresBefore = events.length;
    await jest.advanceTimersByTimeAsync(20_000);
    expect(framesOf(FALLBACK)).toBeGreaterThan(20_000 / FRAME_MS / 2);
    expect(source.opened.filter((id) => id === 'fallback/tone').length).toBeGreaterThan(2);
    expect(events.slice(failuresBefore)).toEqual([]); // no songFailed per retry, no second degraded
    // Retries of the same song, at most one per (capped) back-off delay: 999, 1999, 3999, 3999, ...
    const retries = source.opened.filter((id) => !id.startsWith('fallback/')).slice(3);
    expect(new Set(retries)).toEqual(new Set([first]));
    expect(retries.length).toBeGreaterThanOrEqual(5);
    expect(retries.length).toBeLessThanOrEqual(8);

    // Back: the next retry plays the song that failed, the playlist carries on, the fallback stops.
    source.failure = undefined;
    const mark = sink.frames.length;
    await jest.advanceTimersByTimeAsync(4000 + 2 * FRAMES_PER_SONG * FRAME_MS);
    expect(events).toContain('recovered');
    expect(events.indexOf('recovered')).toBeLessThan(events.indexOf(`started ${first}`));
    expect(player.degradedCause).toBeUndefined();
    const recoveredAt = sink.frames.findIndex((f, i) => i >= mark && f.every((x) => x === pool.find((p) => p.id === first)!.value));
    expect(recoveredAt).toBeGreaterThan(0);
    // The fallback was faded out, not cut: the frame before the song is a ramp, not full level.
    const before = sink.frames.slice(mark, recoveredAt).filter((f) => f.some((x) => x !== 0));
    const lastFallback = before.at(-1)!;
    expect(Math.min(...lastFallback)).toBeLessThan(FALLBACK);
    expect(framesOf(FALLBACK, recoveredAt)).toBe(0);
    await jest.advanceTimersByTimeAsync(3 * FRAMES_PER_SONG * FRAME_MS);
    expect(events.filter((e) => e.startsWith('started')).length).toBeGreaterThanOrEqual(3);
    await stopOnFakeClock(player);
  });

  test('without a fallback the room is silent while degraded, the player stays, and it recovers by itself', async () => {
    const { player, sink, source, events } = setup();
    player.start();
    await flush();
    expect(events).toContain('degraded: http 500');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(sink.frames).toHaveLength(0);
    expect(player.running).toBe(true);
    source.failure = undefined;
    await jest.advanceTimersByTimeAsync(4000 + FRAME_MS * 2);
    expect(events).toContain('recovered');
    expect(sink.frames.length).toBeGreaterThan(0);
    await stopOnFakeClock(player);
  });

  test('song-kind failures in a row still end the player, as before', async () => {
    const { player, source, events } = setup();
    source.failure = new SongFailure('invalid data', 'song');
    player.start();
    await flush();
    expect(events.at(-1)).toBe('gave up: 3 songs in a row failed; last: invalid data');
    expect(events.some((e) => e.startsWith('degraded'))).toBe(false);
    expect(player.running).toBe(false);
  });

  test('a run that ends with a song-kind failure is not an outage: it ends the player', async () => {
    const { player, source, events } = setup();
    const order = [player.playlist.current()!.id, player.playlist.peekNext()!.id];
    source.failure = new SongFailure('timeout', 'source');
    let opened = 0;
    // Two timeouts, then a 404: mixed failures are counted as before.
    source.missing.add(pool.find((p) => !order.includes(p.id))!.id);
    player.on('songFailed', () => {
      if (++opened === 2) source.failure = undefined;
    });
    player.start();
    await flush();
    expect(events.filter((e) => e.startsWith('failed'))).toEqual([`failed ${order[0]}: timeout`, `failed ${order[1]}: timeout`, expect.stringMatching(/: http 404$/)]);
    expect(events.at(-1)).toBe('gave up: 3 songs in a row failed; last: http 404');
    expect(events.some((e) => e.startsWith('degraded'))).toBe(false);
  });

  test('a song that was heard breaks a run of failures, also when a command interrupted it', async () => {
    // Two bad songs of three: at most 4 failures in a row across a reshuffle, 2 per round at least.
    const { player, source, events } = setup({ maxFailuresInRow: 5 });
    source.failure = undefined;
    const good = player.playlist.current()!.id;
    for (const p of pool) if (p.id !== good) source.missing.add(p.id);
    player.start();
    const heard = (): number => events.filter((e) => e === `started ${good}`).length;
    for (let i = 1; i <= 4; i++) {
      for (let step = 0; step < 50 && heard() < i; step++) await jest.advanceTimersByTimeAsync(FRAME_MS);
      expect(heard()).toBe(i);
      player.skip(); // interrupted: it never 'ended', but it was heard
    }
    expect(events.filter((e) => e.startsWith('failed')).length).toBeGreaterThanOrEqual(4);
    expect(events.some((e) => e.startsWith('gave up'))).toBe(false);
    await stopOnFakeClock(player);
  });

  test('while degraded, a song-kind failure (the source answers) moves to the next song at once', async () => {
    const { player, source, events } = setup({ fallback: true });
    player.start();
    await flush();
    const stuck = player.playlist.current()!.id;
    source.failure = undefined;
    source.missing.add(stuck);
    await jest.advanceTimersByTimeAsync(999 + FRAME_MS * 2); // first retry time, and the fallback's fade-out
    expect(events).toContain(`failed ${stuck}: http 404`);
    // The next song is tried without a back-off wait, and plays.
    await jest.advanceTimersByTimeAsync(FRAME_MS * 3);
    expect(events).toContain('recovered');
    expect(events.some((e) => e.startsWith('started') && e !== `started ${stuck}`)).toBe(true);
    await stopOnFakeClock(player);
  });

  test.each([
    ['while the fallback plays', false],
    ['during a retry that hangs', true],
  ])('skip %s tries the new song now, without waiting for the next retry time', async (_when, hang) => {
    const { player, source, events } = setup({ fallback: true, outage: { retryBaseMs: 30_000, retryMaxMs: 30_000 } });
    player.start();
    await flush();
    expect(events).toContain('degraded: http 500');
    source.hang = hang;
    await jest.advanceTimersByTimeAsync(hang ? 30_000 + FRAME_MS * 2 : 1000); // with hang: the first retry starts, and hangs
    expect(events).not.toContain('recovered');
    source.hang = false;
    source.failure = undefined;
    const next = player.skip()!.id;
    await jest.advanceTimersByTimeAsync(FRAME_MS * 5);
    expect(events).toContain('recovered');
    expect(events).toContain(`started ${next}`);
    await stopOnFakeClock(player);
  });

  test.each([true, false])('stop while degraded (fallback: %s) ends at once, with no timer left behind', async (fallback) => {
    const { player, events } = setup({ fallback, outage: { retryBaseMs: 30_000, retryMaxMs: 30_000 } });
    player.start();
    await flush();
    await jest.advanceTimersByTimeAsync(500);
    expect(events).toContain('degraded: http 500');
    let done = false;
    void player.stop().then(() => (done = true));
    await jest.advanceTimersByTimeAsync(200);
    expect(done).toBe(true);
    expect(player.running).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a fallback that cannot play leaves silence for the outage, not a tight loop', async () => {
    const source = new Source();
    const sink = new PacedSink();
    const opened: string[] = [];
    const broken = song('fallback/broken', FALLBACK);
    const player = new Player(new Playlist(pool, seededRandom(7)), sink, (s) => new FakeDecoder((s as FakeSong).value, source.failure), {
      frameSamples: FRAME,
      maxFailuresInRow: 3,
      outage: {
        fallback: [broken],
        openFallback: (s) => {
          opened.push(s.id);
          return new FakeDecoder(FALLBACK, new SongFailure('invalid data', 'song'));
        },
        retryBaseMs: 1000,
        retryMaxMs: 4000,
        random: () => 0.999,
      },
    });
    player.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(player.degradedCause).toBe('http 500');
    expect(sink.frames).toHaveLength(0);
    // Once per retry period at most (5 periods in 10 s at 999, 1999, 3999, 3999 ms).
    expect(opened.length).toBeLessThanOrEqual(6);
    await stopOnFakeClock(player);
  });
});

describe('retryDelayMs', () => {
  test('full jitter under a ceiling that doubles from the base and is capped', () => {
    const top = (): number => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((n) => retryDelayMs(n, 1000, 30_000, top))).toEqual([999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
    expect(retryDelayMs(3, 1000, 30_000, () => 0)).toBe(0);
    expect(retryDelayMs(1e9, 1000, 30_000, () => 0.5)).toBe(15000);
  });
});
