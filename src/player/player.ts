import { EventEmitter } from 'eventemitter3';
import type { Song } from '../catalog/song';
import { Framer } from '../audio/framer';
import { Gain } from '../audio/gain';
import type { Playlist } from './playlist';
import type { AudioSink, Decoder, DecoderFactory } from './types';

export interface PlayerEvents {
  /** The first frame of a song was queued. */
  songStarted: (song: Song) => void;
  /** A song could not be played (bad URL, corrupt file, stalled source); the player moves on. */
  songFailed: (song: Song, error: Error) => void;
  /** Capturing into the track failed; the track was rebuilt. */
  outputError: (error: Error) => void;
  /** The player gave up (too many failures in a row, nothing to play); it has stopped. */
  failed: (error: Error) => void;
}

export interface PlayerOptions {
  frameSamples: number;
  maxFailuresInRow: number;
  volume?: number;
}

type SongOutcome = { kind: 'ended' } | { kind: 'interrupted' } | { kind: 'failed'; error: Error };

/**
 * Plays a playlist into a sink, song after song, until stopped. One awaited loop per room. Commands
 * (skip, previous, pause, stop) change the playlist synchronously and interrupt the loop, which then
 * picks up `playlist.current()`. The next song starts decoding as soon as the current decoder has
 * finished, so it is ready before the current song's read-ahead runs out: no gap between songs.
 */
export class Player extends EventEmitter<PlayerEvents> {
  private readonly framer: Framer;
  private readonly gain: Gain;
  private current: Decoder | undefined;
  private prefetched: { song: Song; decoder: Decoder } | undefined;
  /** Bumped by every manual move; a song whose generation is stale was interrupted. */
  private generation = 0;
  private stopping = false;
  private paused = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** The loop is waiting for the decoder (no frame in hand to fade out). */
  private waitingForData = false;

  constructor(
    readonly playlist: Playlist,
    private readonly sink: AudioSink,
    private readonly openDecoder: DecoderFactory,
    private readonly opts: PlayerOptions,
  ) {
    super();
    this.framer = new Framer(opts.frameSamples);
    this.gain = new Gain(opts.volume ?? 100);
  }

  get running(): boolean {
    return this.loop !== undefined && !this.stopping;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get volume(): number {
    return this.gain.volume;
  }

  set volume(v: number) {
    this.gain.volume = v;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run().finally(() => this.cleanup());
  }

  /** Next song now. Returns the song that will play. */
  skip(): Song | undefined {
    this.playlist.advance();
    this.interrupt();
    return this.playlist.current();
  }

  previous(): Song | undefined {
    this.playlist.previous();
    this.interrupt();
    return this.playlist.current();
  }

  /** Plays `song` now, then returns to the playlist. */
  playNow(song: Song): void {
    this.playlist.playNext(song);
    this.skip();
  }

  /** Pauses after fading out the next frame; the queued audio plays out first. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wakeUp();
  }

  /**
   * Stops the loop and every decoder after a fade-out, once the queued audio has played (so stop
   * is heard within the queue, without a click); resolves when nothing of this player runs.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.interrupt();
    await this.loop;
  }

  /**
   * Moves the loop on. The queue is not cleared: its audio (at most queueMs) plays out, the frame
   * after it fades to silence, and the next song fades in, so a skip is never a click. Only a loop
   * that waits for its decoder has no frame to fade, and its decoder is ended at once.
   */
  private interrupt(): void {
    this.generation++;
    if (this.waitingForData) this.current?.kill('interrupted');
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    let failuresInRow = 0;
    while (!this.stopping) {
      const song = this.playlist.current();
      if (!song) {
        this.emit('failed', new Error('no songs to play'));
        return;
      }
      const generation = this.generation;
      const outcome = await this.playSong(song, generation);
      if (this.stopping) return;
      if (outcome.kind === 'interrupted') continue; // the command already moved the playlist
      if (outcome.kind === 'failed') {
        this.emit('songFailed', song, outcome.error);
        if (++failuresInRow >= this.opts.maxFailuresInRow) {
          this.emit('failed', new Error(`${failuresInRow} songs in a row failed; last: ${outcome.error.message}`));
          return;
        }
      } else {
        failuresInRow = 0;
      }
      // Only advance when no command moved the playlist meanwhile.
      if (generation === this.generation) this.playlist.advance();
    }
  }

  private async playSong(song: Song, generation: number): Promise<SongOutcome> {
    const decoder = this.takeDecoder(song);
    this.current = decoder;
    const interrupted = (): boolean => generation !== this.generation || this.stopping;
    decoder.finished.then(
      () => {
        if (this.current === decoder && !interrupted()) this.prefetch();
      },
      () => undefined,
    );
    let frames = 0;
    const chunks = decoder.output[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        this.waitingForData = true;
        const next = await chunks.next().finally(() => (this.waitingForData = false));
        if (next.done) break;
        for (const frame of this.framer.push(next.value)) {
          if (interrupted()) return await this.fadeOutWith(frame);
          if (this.paused) {
            await this.captureFrame(this.gain.fadeOut(frame));
            while (this.paused && !interrupted()) await new Promise<void>((r) => (this.wake = r));
            if (interrupted()) return this.interrupted();
            continue; // the faded frame was this one; the next fades back in
          }
          await this.captureFrame(this.gain.apply(frame));
          if (frames++ === 0) this.emit('songStarted', song);
        }
        if (interrupted()) return this.interrupted();
      }
      await decoder.finished;
      if (interrupted()) return { kind: 'interrupted' };
      if (frames === 0) return { kind: 'failed', error: new Error('song produced no audio') };
      return { kind: 'ended' };
    } catch (err) {
      if (interrupted()) return this.interrupted();
      decoder.kill();
      return { kind: 'failed', error: err instanceof Error ? err : new Error(String(err)) };
    } finally {
      if (this.current === decoder) this.current = undefined;
      decoder.kill();
    }
  }

  /** The frame after an interruption fades the song out; a stop also lets the queue play out. */
  private async fadeOutWith(frame: Int16Array): Promise<SongOutcome> {
    await this.captureFrame(this.gain.fadeOut(frame));
    if (this.stopping) await this.sink.drain();
    return this.interrupted();
  }

  private interrupted(): SongOutcome {
    this.framer.reset();
    return { kind: 'interrupted' };
  }

  private async captureFrame(frame: Int16Array): Promise<void> {
    try {
      await this.sink.capture(frame);
    } catch (err) {
      this.emit('outputError', err instanceof Error ? err : new Error(String(err)));
      await this.sink.republish();
    }
  }

  private takeDecoder(song: Song): Decoder {
    const p = this.prefetched;
    this.prefetched = undefined;
    if (p && p.song.id === song.id) return p.decoder;
    p?.decoder.kill('prefetched song no longer next');
    return this.openDecoder(song);
  }

  private prefetch(): void {
    const next = this.playlist.peekNext();
    if (!next || this.prefetched || this.stopping) return;
    this.prefetched = { song: next, decoder: this.openDecoder(next) };
  }

  private cleanup(): void {
    this.current?.kill('player stopped');
    this.prefetched?.decoder.kill('player stopped');
    this.current = this.prefetched = undefined;
    this.loop = undefined;
  }
}
