import { Readable } from 'node:stream';
import type { Song } from '../../src/catalog/song';
import { Player } from '../../src/player/player';
import { Playlist } from '../../src/player/playlist';
import { seededRandom } from '../../src/player/random';
import type { AudioSink, Decoder } from '../../src/player/types';
import { Observations } from '../support/waiter';

const FRAME = 4;
const song = (id: string, value: number, fail = false): Song & { value: number; fail: boolean } => ({ id, title: id, aliases: [], language: 'x', genres: [], url: id, value, fail });

/** A decoder of `frames` frames of a constant value (the song's "pitch"), or one that fails at once. */
class FakeDecoder implements Decoder {
  readonly output: Readable;
  readonly finished: Promise<void>;
  killed = false;
  done = false;
  constructor(s: ReturnType<typeof song>, frames = 3) {
    const chunk = Buffer.alloc(FRAME * 2 * frames);
    for (let i = 0; i < FRAME * frames; i++) chunk.writeInt16LE(s.value, i * 2);
    this.output = s.fail ? Readable.from([]) : Readable.from([chunk]);
    this.finished = s.fail ? Promise.reject(new Error(`cannot open ${s.id}`)) : Promise.resolve();
    this.finished.catch(() => undefined).finally(() => (this.done = true));
  }
  kill(): void {
    this.killed = true;
    this.output.destroy();
  }
}

/** Records each captured frame's first sample; captures resolve at once. */
class FakeSink implements AudioSink {
  readonly frames = new Observations<number>();
  cleared = 0;
  async capture(samples: Int16Array): Promise<void> {
    this.frames.push(samples[0]!);
  }
  clear(): void {
    this.cleared++;
  }
  async drain(): Promise<void> {}
  async republish(): Promise<void> {}
}

function setup(songs: ReturnType<typeof song>[], maxFailuresInRow = 3) {
  const sink = new FakeSink();
  const decoders: FakeDecoder[] = [];
  const player = new Player(new Playlist(songs, seededRandom(1)), sink, (s) => {
    const d = new FakeDecoder(s as ReturnType<typeof song>);
    decoders.push(d);
    return d;
  }, { frameSamples: FRAME, maxFailuresInRow });
  const events = new Observations<string>();
  player.on('songStarted', (s) => events.push(`started ${s.id}`));
  player.on('songFailed', (s) => events.push(`failed ${s.id}`));
  player.on('failed', (e) => events.push(`gave up: ${e.message}`));
  return { sink, player, events, decoders };
}

describe('Player', () => {
  test('plays songs back to back in playlist order, every frame of each', async () => {
    const songs = [song('a', 1), song('b', 2), song('c', 3)];
    const { sink, player, events } = setup(songs);
    const order = [player.playlist.current()!.id];
    player.start();
    await events.until((e) => e.filter((x) => x.startsWith('started')).length >= 4, 'four songs');
    await player.stop();
    const started = events.items.filter((x) => x.startsWith('started')).map((x) => x.slice(8));
    expect(started[0]).toBe(order[0]);
    expect(new Set(started.slice(0, 3)).size).toBe(3);
    // Each song contributes its 3 frames, uninterrupted.
    const values = sink.frames.items;
    expect(values.slice(0, 9)).toEqual(started.slice(0, 3).flatMap((id) => Array(3).fill(songs.find((s) => s.id === id)!.value)));
  });

  test('skip fades the current song out over one frame and the next one in, without clearing the queue', async () => {
    const { sink, player, events } = setup([song('a', 1000), song('b', 2000)]);
    player.start();
    try {
      await events.next((e) => e.startsWith('started'), 'first song');
      const from = sink.frames.items.length;
      const next = player.skip();
      await events.next((e) => e === `started ${next!.id}`, 'skipped-to song', 15000, 1);
      expect(sink.cleared).toBe(0);
      const after = sink.frames.items.slice(from);
      const nextValue = next!.id === 'a' ? 1000 : 2000;
      const firstOfNext = after.findIndex((v) => v === Math.round(nextValue * 0.25));
      expect(firstOfNext).toBeGreaterThan(0);
      // The frame before the next song's first (faded-in) frame is the fade-out: 3/4 of full level.
      expect(after[firstOfNext - 1]).toBe(Math.round((nextValue === 1000 ? 2000 : 1000) * 0.75));
    } finally {
      await player.stop();
    }
  });

  test('a failing song is reported and the next one plays', async () => {
    const { player, events } = setup([song('bad', 9, true), song('good', 1)]);
    player.start();
    await events.next((e) => e === 'started good', 'the good song');
    expect(events.items).toContain('failed bad');
    await player.stop();
  });

  test('after N failures in a row the player gives up and stops', async () => {
    const { player, events } = setup([song('x', 1, true), song('y', 2, true)], 3);
    player.start();
    await events.next((e) => e.startsWith('gave up'), 'give up');
    expect(events.items.filter((e) => e.startsWith('failed'))).toHaveLength(3);
    expect(events.items.at(-1)).toMatch(/3 songs in a row failed/);
    await player.stop();
  });

  test('stop resolves and kills every decoder', async () => {
    const { player, events, decoders } = setup([song('a', 1), song('b', 2)]);
    player.start();
    await events.next((e) => e.startsWith('started'), 'playing');
    await player.stop();
    expect(player.running).toBe(false);
    expect(decoders.every((d) => d.killed || d.done)).toBe(true);
  });

  test('volume scales the frames', async () => {
    const { sink, player, events } = setup([song('a', 1000)]);
    player.volume = 50;
    player.start();
    await events.next((e) => e.startsWith('started'), 'playing');
    await sink.frames.until((f) => f.length >= 3, 'frames');
    await player.stop();
    expect(sink.frames.items[2]).toBe(500);
  });
});
