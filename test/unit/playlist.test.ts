import type { Song } from '../../src/catalog/song';
import { Playlist } from '../../src/player/playlist';
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
});
