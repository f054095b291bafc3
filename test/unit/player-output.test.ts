import { Readable } from 'node:stream';
import type { Song } from '../../src/catalog/song';
import { MAX_OUTPUT_FAILURES_IN_ROW, Player } from '../../src/player/player';
import { Playlist } from '../../src/player/playlist';
import { seededRandom } from '../../src/player/random';
import type { AudioSink, Decoder } from '../../src/player/types';
import { Observations } from '../support/waiter';

const FRAME = 4;
const song = (id: string): Song => ({ id, title: id, aliases: [], language: 'x', genres: [], url: id });

class FakeDecoder implements Decoder {
  readonly output = Readable.from([Buffer.alloc(FRAME * 2 * 50, 1)]);
  readonly finished = Promise.resolve();
  done = true;
  kill(): void {
    this.output.destroy();
  }
}

/** Rejects captures while `failing` says so; counts rebuilds. */
class FlakySink implements AudioSink {
  captured = 0;
  rebuilds = 0;
  constructor(private readonly failing: (attempt: number) => boolean) {}
  private attempts = 0;
  async capture(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.failing(++this.attempts)) throw new Error('capture rejected');
    this.captured++;
  }
  clear(): void {}
  async drain(): Promise<void> {}
  async republish(): Promise<void> {
    this.rebuilds++;
  }
}

function setup(sink: AudioSink) {
  const player = new Player(new Playlist([song('a'), song('b')], seededRandom(3)), sink, () => new FakeDecoder(), {
    frameSamples: FRAME,
    maxFailuresInRow: 3,
    outputRetryMs: 1,
  });
  const events = new Observations<string>();
  player.on('songStarted', (s) => events.push(`started ${s.id}`));
  player.on('outputError', (e) => events.push(`output error: ${e.message}`));
  player.on('failed', (e) => events.push(`gave up: ${e.message}`));
  return { player, events };
}

describe('Player: a failing output', () => {
  test('a rejected capture rebuilds the track, is reported, and playback goes on', async () => {
    const sink = new FlakySink((n) => n === 3 || n === 4);
    const { player, events } = setup(sink);
    player.start();
    await events.until((e) => e.filter((x) => x.startsWith('started')).length >= 2, 'two songs');
    await player.stop();
    expect(events.items.filter((e) => e.startsWith('output error'))).toEqual(['output error: capture rejected', 'output error: capture rejected']);
    expect(sink.rebuilds).toBe(2);
    expect(events.items.some((e) => e.startsWith('gave up'))).toBe(false);
  });

  test('an output that keeps failing is given up on after a bounded number of rebuilds, not spun on', async () => {
    const sink = new FlakySink(() => true);
    const { player, events } = setup(sink);
    player.start();
    await events.next((e) => e.startsWith('gave up'), 'the player gives up');
    expect(events.items.at(-1)).toMatch(new RegExp(`audio output failed ${MAX_OUTPUT_FAILURES_IN_ROW} times in a row; last: capture rejected`));
    expect(events.items.filter((e) => e.startsWith('output error'))).toHaveLength(MAX_OUTPUT_FAILURES_IN_ROW);
    expect(sink.rebuilds).toBe(MAX_OUTPUT_FAILURES_IN_ROW - 1);
    await player.stop();
    expect(player.running).toBe(false);
  });

  test('failures that are not in a row never add up to giving up', async () => {
    const sink = new FlakySink((n) => n % 3 === 0);
    const { player, events } = setup(sink);
    player.start();
    await events.until((e) => e.filter((x) => x.startsWith('output error')).length >= MAX_OUTPUT_FAILURES_IN_ROW + 2, 'many scattered failures');
    await player.stop();
    expect(events.items.some((e) => e.startsWith('gave up'))).toBe(false);
  });
});
