import type { Song } from '../catalog/song';

/** How many played songs `previous` can go back through. */
const HISTORY_LIMIT = 100;

/**
 * A room's playlist: the song now, the songs up next and the songs played. Upcoming songs come from
 * a shuffled bag of the whole pool, so no song repeats until every song of the pool has played, and
 * a refill never starts with the song that just played. Pure: no timers, randomness injected.
 */
export class Playlist {
  private pool: Song[];
  private now: Song | undefined;
  private upcoming: Song[] = [];
  private readonly history: Song[] = [];

  constructor(pool: readonly Song[], private readonly rng: () => number) {
    this.pool = [...pool];
    this.refill();
    this.now = this.upcoming.shift();
    this.refill();
  }

  current(): Song | undefined {
    return this.now;
  }

  peekNext(): Song | undefined {
    return this.upcoming[0];
  }

  /** Songs queued after the current one (always at least one while the pool is not empty). */
  get queueLength(): number {
    return this.upcoming.length;
  }

  get poolSize(): number {
    return this.pool.length;
  }

  advance(): Song | undefined {
    if (this.now) this.remember(this.now);
    this.now = this.upcoming.shift();
    this.refill();
    return this.now;
  }

  /** Back to the song played before; at the start of history, the current song starts over. */
  previous(): Song | undefined {
    const before = this.history.pop();
    if (!before) return this.now;
    if (this.now) this.upcoming.unshift(this.now);
    this.now = before;
    return this.now;
  }

  /** Queues `song` to play next, ahead of the shuffled bag; the bag continues after it. */
  playNext(song: Song): void {
    this.upcoming.unshift(song);
  }

  /** Ids of up to `n` songs up next, in order. */
  upcomingIds(n: number): string[] {
    return this.upcoming.slice(0, n).map((s) => s.id);
  }

  /** Ids of up to `n` songs played, the most recent last. */
  historyIds(n: number): string[] {
    return this.history.slice(-n).map((s) => s.id);
  }

  /**
   * Puts back a playlist saved before a restart: `now` plays, `upcoming` comes next (then the
   * shuffled pool), `history` is what `previous` goes back through.
   */
  restore(now: Song, upcoming: readonly Song[], history: readonly Song[]): void {
    this.now = now;
    this.upcoming = [...upcoming];
    this.history.splice(0, this.history.length, ...history.slice(-HISTORY_LIMIT));
    this.refill();
  }

  /** Replaces the pool (a new language or genre); the current song stays until the next move. */
  setPool(pool: readonly Song[]): void {
    this.pool = [...pool];
    this.upcoming = [];
    this.refill();
  }

  private remember(song: Song): void {
    this.history.push(song);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
  }

  /** Keeps at least one song up next, so the player can always decode ahead. */
  private refill(): void {
    while (this.upcoming.length < 1 && this.pool.length > 0) {
      const bag = shuffle(this.pool, this.rng);
      const last = this.upcoming[this.upcoming.length - 1] ?? this.now;
      // Never the same song twice in a row across refills.
      if (bag.length > 1 && last && bag[0].id === last.id) [bag[0], bag[1]] = [bag[1], bag[0]];
      this.upcoming.push(...bag);
    }
  }
}

function shuffle<T>(items: readonly T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
