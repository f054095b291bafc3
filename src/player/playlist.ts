import type { Song } from '../catalog/song';

/** How many played songs `previous` can go back through. */
const HISTORY_LIMIT = 100;
/** Songs users may have waiting in the queue at once (`enqueue_music` beyond it is refused). */
export const MAX_QUEUED = 50;

/**
 * `off`: each song plays once, enqueued ones then the continuous playlist (which never runs dry).
 * `one`: the current song plays again when it ends (skip and previous still move).
 * `all`: the enqueued songs loop: each goes back to the end of the queue once it has played, so
 * the continuous playlist is only reached when the queue is empty.
 */
export type RepeatMode = 'off' | 'one' | 'all';
export const REPEAT_MODES: readonly RepeatMode[] = ['off', 'one', 'all'];
export type QueuePosition = 'next' | 'end';

/** One song of the list; `queued`: a user enqueued it (clear_queue removes it, repeat all loops it). */
export interface QueueEntry {
  song: Song;
  queued: boolean;
}

/**
 * A room's playlist: the song now, the songs users enqueued, the continuous playlist after them and
 * the songs played. The continuous part comes from a bag of the whole pool, shuffled (or in catalog
 * order with shuffle off), so no song repeats until every song of the pool has played, and a refill
 * never starts with the song that just played. Pure: no timers, randomness injected.
 */
export class Playlist {
  private pool: Song[];
  private now: QueueEntry | undefined;
  /** Ahead of the bag: what users enqueued (and, for an instant, a song played now). */
  private queue: QueueEntry[] = [];
  private upcoming: Song[] = [];
  private readonly history: Song[] = [];
  private repeatMode: RepeatMode = 'off';
  private shuffled = true;

  constructor(pool: readonly Song[], private readonly rng: () => number) {
    this.pool = [...pool];
    this.refill();
    const first = this.upcoming.shift();
    this.now = first && { song: first, queued: false };
    this.refill();
  }

  current(): Song | undefined {
    return this.now?.song;
  }

  /** The song after this one ends on its own (what the player decodes ahead). */
  peekNext(): Song | undefined {
    if (this.repeatMode === 'one' && this.now) return this.now.song;
    return this.queue[0]?.song ?? this.upcoming[0];
  }

  /** Songs queued after the current one: enqueued plus the rest of the bag (always at least one while the pool is not empty). */
  get queueLength(): number {
    return this.queue.length + this.upcoming.length;
  }

  /** Songs users enqueued that have not played yet. */
  get queuedCount(): number {
    return this.queue.filter((e) => e.queued).length;
  }

  get poolSize(): number {
    return this.pool.length;
  }

  get repeat(): RepeatMode {
    return this.repeatMode;
  }

  get shuffle(): boolean {
    return this.shuffled;
  }

  /** The next `n` songs in the order a skip takes them: the enqueued ones, then the bag. */
  upNext(n: number): QueueEntry[] {
    const bag = this.upcoming.slice(0, Math.max(0, n - this.queue.length)).map((song) => ({ song, queued: false }));
    return [...this.queue.slice(0, n), ...bag];
  }

  /** The last `n` songs played, the most recent first. */
  recent(n: number): Song[] {
    return this.history.slice(-n).reverse();
  }

  /** A move (skip, or a song that failed): the next song, whatever the repeat mode. */
  advance(): Song | undefined {
    if (this.now) {
      this.remember(this.now.song);
      if (this.repeatMode === 'all' && this.now.queued) this.queue.push(this.now);
    }
    const next = this.queue.shift();
    const song = next ? undefined : this.upcoming.shift();
    this.now = next ?? (song && { song, queued: false });
    this.refill();
    return this.now?.song;
  }

  /** The current song played to its end: with repeat `one` it plays again, otherwise `advance`. */
  songEnded(): Song | undefined {
    if (this.repeatMode === 'one' && this.now) return this.now.song;
    return this.advance();
  }

  /** Back to the song played before; at the start of history, the current song starts over. */
  previous(): Song | undefined {
    const before = this.history.pop();
    if (!before) return this.now?.song;
    if (this.now) {
      if (this.now.queued) this.queue.unshift(this.now);
      else this.upcoming.unshift(this.now.song);
    }
    this.now = { song: before, queued: false };
    return this.now.song;
  }

  /** Queues `song` to play next, ahead of everything; not a user's queue entry (clear_queue leaves it). */
  playNext(song: Song): void {
    this.queue.unshift({ song, queued: false });
  }

  /** A user's song: `next` plays it after the current one, `end` after the songs already enqueued. False when the queue is full. */
  enqueue(song: Song, position: QueuePosition): boolean {
    if (this.queuedCount >= MAX_QUEUED) return false;
    const entry = { song, queued: true };
    if (position === 'next') this.queue.unshift(entry);
    else this.queue.push(entry);
    return true;
  }

  /** Removes the song at `index` of `upNext` (0: the song that plays next). */
  removeAt(index: number): Song | undefined {
    if (!Number.isInteger(index) || index < 0) return undefined;
    if (index < this.queue.length) return this.queue.splice(index, 1)[0]!.song;
    const removed = this.upcoming.splice(index - this.queue.length, 1)[0];
    this.refill();
    return removed;
  }

  /** Removes the first upcoming occurrence of song `id` (enqueued songs first). */
  removeSong(id: string): Song | undefined {
    const q = this.queue.findIndex((e) => e.song.id === id);
    if (q >= 0) return this.removeAt(q);
    const u = this.upcoming.findIndex((s) => s.id === id);
    return u >= 0 ? this.removeAt(this.queue.length + u) : undefined;
  }

  /** Drops every song users enqueued; the continuous playlist follows the current song. Returns how many. */
  clearQueue(): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((e) => !e.queued);
    return before - this.queue.length;
  }

  setRepeat(mode: RepeatMode): void {
    this.repeatMode = mode;
  }

  /** Shuffle on: each round of the pool in a new random order; off: in catalog order, from after the current song. */
  setShuffle(on: boolean): void {
    if (on === this.shuffled) return;
    this.shuffled = on;
    this.upcoming = [];
    this.refill();
  }

  /** Ids of up to `n` songs up next, in order. */
  upcomingIds(n: number): string[] {
    return this.upNext(n).map((e) => e.song.id);
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
    // What users had enqueued comes back as plain upcoming songs (the saved state keeps ids only).
    this.now = { song: now, queued: false };
    this.queue = [];
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
      const last = this.upcoming[this.upcoming.length - 1] ?? this.now?.song;
      if (!this.shuffled) {
        this.upcoming.push(...rotateAfter(this.pool, last));
        continue;
      }
      const bag = shuffle(this.pool, this.rng);
      // Never the same song twice in a row across refills.
      if (bag.length > 1 && last && bag[0].id === last.id) [bag[0], bag[1]] = [bag[1], bag[0]];
      this.upcoming.push(...bag);
    }
  }
}

/** The pool in its order, starting after `last` (from the start when `last` is not in it). */
function rotateAfter(pool: readonly Song[], last: Song | undefined): Song[] {
  const at = last ? pool.findIndex((s) => s.id === last.id) : -1;
  return [...pool.slice(at + 1), ...pool.slice(0, at + 1)];
}

function shuffle<T>(items: readonly T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
