import type { Song } from '../../src/catalog/song';
import { MAX_QUEUED, Playlist } from '../../src/player/playlist';
import { seededRandom } from '../../src/player/random';

const song = (id: string): Song => ({ id, title: id, aliases: [], language: 'English', genres: ['pop'], url: `/${id}.mp3` });
const POOL = ['a', 'b', 'c', 'd', 'e'].map(song);

function play(p: Playlist, n: number): string[] {
  const out = [p.current()!.id];
  for (let i = 1; i < n; i++) out.push(p.advance()!.id);
  return out;
}

describe('Playlist', () => {
  test('no song repeats until the pool is exhausted, over several refills', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const order = play(new Playlist(POOL, seededRandom(seed)), POOL.length * 6);
      for (let bag = 0; bag < 6; bag++) expect(new Set(order.slice(bag * 5, bag * 5 + 5)).size).toBe(5);
      for (let i = 1; i < order.length; i++) expect(order[i]).not.toBe(order[i - 1]);
    }
  });

  test('the same seed gives the same order', () => {
    expect(play(new Playlist(POOL, seededRandom(7)), 12)).toEqual(play(new Playlist(POOL, seededRandom(7)), 12));
    expect(play(new Playlist(POOL, seededRandom(7)), 12)).not.toEqual(play(new Playlist(POOL, seededRandom(8)), 12));
  });

  test('the next song is always known (refilled before the queue runs out)', () => {
    const p = new Playlist(POOL, seededRandom(3));
    for (let i = 0; i < 20; i++) {
      const next = p.peekNext();
      expect(next).toBeDefined();
      expect(p.advance()).toBe(next);
    }
  });

  test('previous walks back through history; at its start it keeps the current song', () => {
    const p = new Playlist(POOL, seededRandom(5));
    const first = p.current();
    expect(p.previous()).toBe(first); // nothing played yet
    const order = play(p, 3);
    expect(order[0]).toBe(first!.id);
    expect(p.previous()!.id).toBe(order[1]);
    expect(p.previous()!.id).toBe(order[0]);
    expect(p.previous()!.id).toBe(order[0]);
    // Forward again replays the same songs, then continues the bag.
    expect(p.advance()!.id).toBe(order[1]);
    expect(p.advance()!.id).toBe(order[2]);
  });

  test('playNext plays the requested song, then returns to the bag', () => {
    const p = new Playlist(POOL, seededRandom(9));
    const next = p.peekNext()!;
    const special = song('special');
    p.playNext(special);
    expect(p.advance()).toBe(special);
    expect(p.advance()).toBe(next);
  });

  test('setPool switches the songs from the next move on', () => {
    const p = new Playlist(POOL, seededRandom(2));
    const playing = p.current();
    p.setPool(['x', 'y', 'z'].map(song));
    expect(p.current()).toBe(playing);
    expect(p.poolSize).toBe(3);
    expect(new Set(play(p, 4).slice(1))).toEqual(new Set(['x', 'y', 'z']));
  });

  test('a pool of one repeats it; an empty pool has nothing', () => {
    const one = new Playlist([song('only')], seededRandom(1));
    expect(play(one, 3)).toEqual(['only', 'only', 'only']);
    expect(one.peekNext()?.id).toBe('only');
    const none = new Playlist([], seededRandom(1));
    expect(none.current()).toBeUndefined();
    expect(none.peekNext()).toBeUndefined();
    expect(none.advance()).toBeUndefined();
    expect(none.previous()).toBeUndefined();
  });

  describe('queue, repeat and shuffle', () => {
    const ids = (songs: { song: Song }[] | Song[]) => songs.map((x) => ('song' in x ? x.song.id : x.id));
    /** The ids of the next `n` songs as they play when each song ends on its own. */
    const ends = (p: Playlist, n: number) => Array.from({ length: n }, () => p.songEnded()!.id);

    test('enqueued songs play before the continuous playlist, "next" ahead of "end"; then the bag goes on', () => {
      const p = new Playlist(POOL, seededRandom(4));
      const bagNext = p.peekNext()!.id;
      expect(p.enqueue(song('q1'), 'end')).toBe(true);
      expect(p.enqueue(song('q2'), 'end')).toBe(true);
      expect(p.enqueue(song('q0'), 'next')).toBe(true);
      expect(p.queuedCount).toBe(3);
      expect(ids(p.upNext(4))).toEqual(['q0', 'q1', 'q2', bagNext]);
      expect(p.upNext(4).map((e) => e.queued)).toEqual([true, true, true, false]);
      expect(ends(p, 4)).toEqual(['q0', 'q1', 'q2', bagNext]);
      expect(p.queuedCount).toBe(0);
      expect(ids(p.recent(2))).toEqual(['q2', 'q1']);
    });

    test('the queue is bounded', () => {
      const p = new Playlist(POOL, seededRandom(4));
      for (let i = 0; i < MAX_QUEUED; i++) expect(p.enqueue(song(`q${i}`), 'end')).toBe(true);
      expect(p.enqueue(song('one-too-many'), 'next')).toBe(false);
      expect(p.queuedCount).toBe(MAX_QUEUED);
    });

    test('remove by index (of upNext) or song id; out of range or unknown removes nothing', () => {
      const p = new Playlist(POOL, seededRandom(4));
      p.enqueue(song('q1'), 'end');
      p.enqueue(song('q2'), 'end');
      const bag = ids(p.upNext(4)).slice(2);
      expect(p.removeAt(1)?.id).toBe('q2');
      expect(p.removeSong('q1')?.id).toBe('q1');
      expect(p.removeAt(0)?.id).toBe(bag[0]); // a bag song can be left out of this round too
      expect(p.peekNext()!.id).toBe(bag[1]);
      for (const bad of [-1, 1.5, NaN, 10_000]) expect(p.removeAt(bad)).toBeUndefined();
      expect(p.removeSong('nope')).toBeUndefined();
      expect(p.peekNext()).toBeDefined(); // still never dry
    });

    test('clear_queue drops only what users enqueued; the continuous playlist follows', () => {
      const p = new Playlist(POOL, seededRandom(6));
      const bagNext = p.peekNext()!.id;
      p.enqueue(song('q1'), 'end');
      p.enqueue(song('q2'), 'next');
      expect(p.clearQueue()).toBe(2);
      expect(p.clearQueue()).toBe(0);
      expect(p.songEnded()!.id).toBe(bagNext);
    });

    test('repeat one: a song that ends plays again; skip still moves on', () => {
      const p = new Playlist(POOL, seededRandom(8));
      const now = p.current()!.id;
      p.setRepeat('one');
      expect(p.peekNext()!.id).toBe(now);
      expect(ends(p, 3)).toEqual([now, now, now]);
      const skipped = p.advance()!.id;
      expect(skipped).not.toBe(now);
      expect(p.songEnded()!.id).toBe(skipped);
    });

    test('repeat all: enqueued songs loop (a skip too); with repeat off they play once', () => {
      const p = new Playlist(POOL, seededRandom(8));
      p.setRepeat('all');
      p.enqueue(song('q1'), 'end');
      p.enqueue(song('q2'), 'end');
      expect(ends(p, 5)).toEqual(['q1', 'q2', 'q1', 'q2', 'q1']);
      expect(p.advance()!.id).toBe('q2');
      p.setRepeat('off');
      const after = ends(p, 2);
      expect(after[0]).toBe('q1');
      expect(after[1]).not.toMatch(/^q/);
      expect(p.queuedCount).toBe(0);
    });

    test('repeat all with nothing enqueued is the continuous playlist', () => {
      const a = new Playlist(POOL, seededRandom(11));
      const b = new Playlist(POOL, seededRandom(11));
      b.setRepeat('all');
      expect(ends(b, 12)).toEqual(ends(a, 12));
    });

    test('previous puts an enqueued current song back at the head of the queue', () => {
      const p = new Playlist(POOL, seededRandom(3));
      const first = p.current()!.id;
      p.enqueue(song('q1'), 'end');
      expect(p.advance()!.id).toBe('q1');
      expect(p.previous()!.id).toBe(first);
      expect(p.upNext(1)).toEqual([{ song: expect.objectContaining({ id: 'q1' }), queued: true }]);
    });

    test('shuffle off plays the pool in catalog order from after the current song, round after round', () => {
      const p = new Playlist(POOL, seededRandom(3));
      const at = POOL.findIndex((s) => s.id === p.current()!.id);
      p.setShuffle(false);
      expect(p.shuffle).toBe(false);
      const order = ends(p, 10);
      expect(order).toEqual(Array.from({ length: 10 }, (_, i) => POOL[(at + 1 + i) % POOL.length]!.id));
      p.setShuffle(true);
      const round = ends(p, 5);
      expect(new Set(round).size).toBe(5);
    });
  });
});
