import { EventEmitter } from 'eventemitter3';
import type { Song } from '../catalog/song';
import { crossfadeFrame, Fader } from '../audio/crossfade';
import { FrameReader } from '../audio/frame-reader';
import { asSongFailure, failureKind, SongFailure } from '../audio/failure';
import type { Ducker } from '../audio/ducker';
import { Gain } from '../audio/gain';
import { retryDelayMs } from './backoff';
import type { Playlist } from './playlist';
import type { AudioSink, Decoder, DecoderFactory } from './types';

export interface PlayerEvents {
  /** The first frame of a song was queued. */
  songStarted: (song: Song) => void;
  /** A song could not be played (bad URL, corrupt file, stalled source); the player moves on. `error.message` is a short cause. */
  songFailed: (song: Song, error: SongFailure) => void;
  /** Songs kept failing as if their source were down: the player retries with back-off and plays the fallback meanwhile. */
  degraded: (cause: string) => void;
  /** A retry produced audio: the playlist plays again. */
  recovered: () => void;
  /** Capturing into the track failed; the track was rebuilt. */
  outputError: (error: Error) => void;
  /** The player gave up (too many failures in a row, nothing to play); it has stopped. */
  failed: (error: Error) => void;
}

export interface PlayerOptions {
  /** Samples per frame across all channels. */
  frameSamples: number;
  maxFailuresInRow: number;
  volume?: number;
  /** Interleaved channels in a frame; fades move per instant, not per sample. Default 1. */
  channels?: number;
  /** Sample frames (per channel) of the fade-out on skip, pause and stop, and of the fade-in after. Default: one frame. */
  fadeSamples?: number;
  /** Frames by which consecutive songs overlap (equal-power crossfade). 0 (default): gapless, no overlap. */
  crossfadeFrames?: number;
  /** Longest wait for a killed decoder's process to be gone before another one starts. Default 2000 ms. */
  retireTimeoutMs?: number;
  /** Pause before the second rebuild of a failing output, doubling up to 2 s. Default 100 ms. */
  outputRetryMs?: number;
  /** What to do while the song source is down. */
  outage?: OutageOptions;
  /**
   * The first song, when it is this one, starts at `ms` (a resume: the decoder seeks); `decoder`,
   * when given, is that decode already opened (started while the room was joined).
   */
  startAt?: { songId: string; ms: number; decoder?: Decoder };
  /** Lowers the music under speech, applied after the volume (its owner says when). */
  ducker?: Ducker;
  /** Linear gain for a song as it is read (loudness normalisation); absent: unity. */
  songGain?: (song: Song) => number;
  /** Sample rate, for the position; default 48000. */
  sampleRate?: number;
}

/** Source outages: `maxFailuresInRow` source-kind failures in a row make the player degraded. */
export interface OutageOptions {
  /** Played in a loop while degraded (local files); none: the room is silent meanwhile. */
  fallback?: readonly Song[];
  /** Opens a fallback song; default: the player's decoder factory. */
  openFallback?: DecoderFactory;
  /** Ceiling of the first retry delay (doubling, full jitter). Default 1000 ms. */
  retryBaseMs?: number;
  /** Highest ceiling of a retry delay. Default 30000 ms. */
  retryMaxMs?: number;
  /** Uniform [0, 1) for the jitter. Default Math.random. */
  random?: () => number;
}

/** The player while the source is down: why, how many retries failed, where the fallback is. */
interface Outage {
  cause: string;
  attempt: number;
  /** Try the current song without waiting (a song-kind failure showed that the source answers). */
  retryNow: boolean;
  nextFallback: number;
  /** Fallback songs that failed in a row; when every one did, silence for the rest of this outage, not a tight loop. */
  fallbackFailures: number;
  fallbackBroken: boolean;
}

/** Captures that may fail in a row, each followed by a rebuilt track, before the player gives up. */
export const MAX_OUTPUT_FAILURES_IN_ROW = 5;

/** The last frames of a song, mixed into the first frames of the next one. */
interface Tail {
  frames: Int16Array[];
  /** Sample frames of the crossfade mixed so far, and in all. */
  position: number;
  length: number;
}

/** What one song leaves to the next: samples short of a whole frame (gapless) or a crossfade tail. */
interface Handover {
  carry?: Int16Array;
  tail?: Tail;
}

type SongOutcome = { kind: 'ended'; handover: Handover } | { kind: 'interrupted' } | { kind: 'failed'; error: Error; handover: Handover };

/**
 * Plays a playlist into a sink, song after song, until stopped. One awaited loop per room. Commands
 * (skip, previous, pause, stop) change the playlist synchronously and interrupt the loop, which fades
 * out what plays and picks up `playlist.current()`.
 *
 * Gapless: the next song starts decoding as soon as the current decoder has finished (its last
 * `readAheadMs` are buffered), and the partial frame at the end of a song is completed by the next
 * song's first samples. With a crossfade, the loop reads `crossfadeFrames` ahead; when the song ends
 * within them, they become the tail that the next song's first frames are mixed with.
 *
 * At most two decoders (ffmpeg processes) run per player, the current one and the prefetched next
 * one: a new decoder starts only once the killed ones are gone.
 */
export class Player extends EventEmitter<PlayerEvents> {
  private readonly gain: Gain;
  private readonly fader: Fader;
  private readonly channels: number;
  private readonly crossfadeFrames: number;
  private current: Decoder | undefined;
  private prefetched: { song: Song; decoder: Decoder } | undefined;
  private prefetching = false;
  /** Killed decoders whose processes may still be running. */
  private readonly retiring = new Set<Promise<void>>();
  /** Bumped by every manual move; a song whose generation is stale was interrupted. */
  private generation = 0;
  private stopping = false;
  private paused = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** The loop is waiting for the decoder (no frame in hand to fade out). */
  private waitingForData = false;
  /** Captures failed in a row; a broken output is rebuilt with growing pauses, then given up on. */
  private outputFailures = 0;
  private outputBroken: Error | undefined;
  private signalStop: () => void = () => undefined;
  /** Where the next song's decode starts, ms: a seek, or a resumed first song's saved position. */
  private songOffsetMs = 0;
  private startAt: PlayerOptions['startAt'];
  private readonly stopSignal = new Promise<void>((resolve) => (this.signalStop = resolve));
  /** Songs whose first frame went out; a run of failures is broken by any song that was heard. */
  private songsStarted = 0;
  /** Set while degraded (the source looks down). */
  private outage: Outage | undefined;
  /** Where in the current song its decode started (seek), ms, and the samples per channel sent since. */
  private songStartMs = 0;
  private songSamples = 0;
  /** A seek asked for and not yet opened: the current song restarts there. */
  private pendingSeekMs: number | undefined;

  constructor(
    readonly playlist: Playlist,
    private readonly sink: AudioSink,
    private readonly openDecoder: DecoderFactory,
    private readonly opts: PlayerOptions,
  ) {
    super();
    this.channels = opts.channels ?? 1;
    this.gain = new Gain(opts.volume ?? 100);
    this.fader = new Fader(opts.fadeSamples ?? opts.frameSamples / this.channels, this.channels);
    this.crossfadeFrames = Math.max(0, opts.crossfadeFrames ?? 0);
    this.startAt = opts.startAt;
  }

  get running(): boolean {
    return this.loop !== undefined && !this.stopping;
  }

  /** Why the player is degraded (the source looks down), else undefined. */
  get degradedCause(): string | undefined {
    return this.outage?.cause;
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

  /**
   * Where the listener is in the current song, ms: the audio sent from it, less what still waits in
   * the queue. After a seek, the new position as soon as it is asked for.
   */
  get positionMs(): number {
    if (this.pendingSeekMs !== undefined) return this.pendingSeekMs;
    const sent = (this.songSamples / (this.opts.sampleRate ?? 48000)) * 1000;
    return Math.max(this.songStartMs, Math.round(this.songStartMs + sent - (this.sink.queuedMs ?? 0)));
  }

  /** Plays the current song from `ms` (a fade-out, then the song fades in there). */
  seek(ms: number): void {
    this.pendingSeekMs = Math.max(0, Math.round(ms));
    this.interrupt();
  }

  /** Pauses after a fade-out; the queued audio plays out first. */
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
    this.signalStop();
    this.interrupt();
    await this.loop;
  }

  /**
   * Moves the loop on. The queue is not cleared: its audio (at most queueMs) plays out, the song
   * fades out over the next `fadeSamples`, and the next song fades in, so a skip is never a click.
   * Only a loop that waits for its decoder has nothing to fade, and its decoder is ended at once.
   */
  private interrupt(): void {
    this.generation++;
    if (this.waitingForData && this.current) this.retire(this.current, 'interrupted');
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /**
   * Song after song. Failures in a row end the player when the last one is the song's own fault
   * (`song` kind: 404, corrupt); a run of `maxFailuresInRow` that all look like the source being
   * down (`source` kind) makes it degraded instead: it retries the current song with back-off and
   * plays the fallback meanwhile, and the first frame of a retry recovers.
   */
  private async run(): Promise<void> {
    let failuresInRow = 0;
    let sourceFailuresInRow = 0;
    let handover: Handover = {};
    while (!this.stopping) {
      if (this.outage) handover = await this.waitOutOutage(this.outage, handover);
      if (this.stopping) return;
      const song = this.playlist.current();
      if (!song) {
        this.emit('failed', new Error('no songs to play'));
        return;
      }
      const generation = this.generation;
      const retrying = this.outage;
      const startedBefore = this.songsStarted;
      const outcome = await this.playSong(song, generation, handover);
      if (this.stopping) return;
      if (this.outputBroken) {
        this.emit('failed', this.outputBroken);
        return;
      }
      // A song that was heard (also one a command interrupted, or that failed mid-way) breaks the run.
      if (this.songsStarted !== startedBefore || (retrying && !this.outage)) failuresInRow = sourceFailuresInRow = 0;
      if (outcome.kind === 'interrupted') {
        handover = {}; // faded out: nothing of the old song carries over
        if (this.outage) this.outage.retryNow = true; // a command during a retry: its song is tried now
        continue; // the command already moved the playlist
      }
      handover = outcome.handover;
      if (outcome.kind === 'failed') {
        const failure = asSongFailure(outcome.error);
        const kind = failureKind(failure);
        if (this.outage && kind === 'source') {
          // Still down: the same song again, after a longer wait.
          this.outage.attempt++;
          this.outage.cause = failure.reason;
          continue;
        }
        this.emit('songFailed', song, failure);
        failuresInRow++;
        sourceFailuresInRow = kind === 'source' ? sourceFailuresInRow + 1 : 0;
        if (this.outage) this.outage.retryNow = true; // the source answered; this song is bad: try the next one now
        else if (sourceFailuresInRow >= this.opts.maxFailuresInRow) {
          this.outage = { cause: failure.reason, attempt: 0, retryNow: false, nextFallback: 0, fallbackFailures: 0, fallbackBroken: false };
          failuresInRow = sourceFailuresInRow = 0;
          this.emit('degraded', failure.reason);
          continue; // retry this song, not the next one
        }
        if (failuresInRow >= this.opts.maxFailuresInRow && kind === 'song') {
          this.emit('failed', new Error(`${failuresInRow} songs in a row failed; last: ${failure.reason}`));
          return;
        }
      } else {
        failuresInRow = sourceFailuresInRow = 0;
      }
      // Only advance when no command moved the playlist meanwhile; a song that ended whole may repeat.
      if (generation === this.generation) {
        if (outcome.kind === 'ended') this.playlist.songEnded();
        else this.playlist.advance();
      }
    }
  }

  /**
   * While degraded: plays the fallback in a loop (or silence) until the retry time comes, then fades
   * it out. A command (skip, play_song) ends the wait at once, so its song is tried now.
   */
  private async waitOutOutage(outage: Outage, handover: Handover): Promise<Handover> {
    if (outage.retryNow) {
      outage.retryNow = false;
      return handover;
    }
    const o = this.opts.outage ?? {};
    const delay = retryDelayMs(outage.attempt, o.retryBaseMs ?? 1000, o.retryMaxMs ?? 30000, o.random ?? Math.random);
    const generation = this.generation;
    const waiting = (): boolean => generation === this.generation && !this.stopping;
    const timer = setTimeout(() => this.interrupt(), delay);
    try {
      const fallback = o.fallback ?? [];
      while (fallback.length > 0 && !outage.fallbackBroken && waiting()) {
        const song = fallback[outage.nextFallback++ % fallback.length]!;
        const outcome = await this.playSong(song, generation, handover, true);
        handover = outcome.kind === 'interrupted' ? {} : outcome.handover;
        outage.fallbackFailures = outcome.kind === 'failed' ? outage.fallbackFailures + 1 : 0;
        if (outage.fallbackFailures >= fallback.length) outage.fallbackBroken = true;
      }
      while (waiting()) await new Promise<void>((r) => (this.wake = r));
    } finally {
      clearTimeout(timer);
    }
    return handover;
  }

  /** Plays one song; a `fallback` song is not announced, prefetches nothing and does not recover. */
  private async playSong(song: Song, generation: number, handover: Handover, fallback = false): Promise<SongOutcome> {
    const interrupted = (): boolean => generation !== this.generation || this.stopping;
    const p = this.prefetched;
    if (p && p.song.id !== song.id) {
      this.prefetched = undefined;
      this.retire(p.decoder, 'prefetched song no longer next');
    }
    await this.retired();
    if (interrupted()) return { kind: 'interrupted' };

    let decoder: Decoder;
    const startMs = fallback ? undefined : this.pendingSeekMs;
    this.pendingSeekMs = undefined;
    try {
      if (fallback) decoder = (this.opts.outage?.openFallback ?? this.openDecoder)(song);
      else if (startMs !== undefined) {
        decoder = this.openDecoder(song, startMs);
        this.songOffsetMs = startMs;
      } else decoder = this.takeDecoder(song); // sets songOffsetMs (a resumed first song starts there)
    } catch (err) {
      return { kind: 'failed', error: asError(err), handover };
    }
    this.current = decoder;
    decoder.finished.then(
      () => {
        if (!fallback && this.current === decoder && !interrupted()) void this.prefetch(() => this.current === decoder && !interrupted());
      },
      () => undefined,
    );
    this.fader.fadeIn(); // after a skip the new song rises from the silence the old one faded to

    const reader = new FrameReader(decoder.output, this.opts.frameSamples, handover.carry);
    // Each song at its own normalising gain, applied as it is read, so a crossfade tail keeps its song's.
    const gain = fallback ? 1 : (this.opts.songGain?.(song) ?? 1);
    const scaled = <T extends Int16Array | undefined>(f: T): T => (f && gain !== 1 ? (scaleInPlace(f, gain) as T) : f);
    let tail = handover.tail;
    const mixing = (): boolean => tail !== undefined && tail.frames.length > 0;
    /** A frame read but not yet played when a command came: the fade-out starts with it. */
    let held: Int16Array | undefined;
    const nextNow = (): Int16Array | undefined => {
      const f = held ?? scaled(reader.nextNow()) ?? (mixing() ? new Int16Array(this.opts.frameSamples) : undefined);
      held = undefined;
      return f && mixing() ? this.mixTail(tail!, f) : f;
    };
    let frames = 0;
    if (!fallback) {
      this.songStartMs = this.songOffsetMs;
      this.songSamples = 0;
    }
    const leftOver = (): Handover =>
      frames === 0 && mixing() ? { tail } : this.crossfadeFrames > 0 ? { tail: makeTail(reader.rest().map(scaled), this.opts.frameSamples / this.channels) } : { carry: reader.remainder() };

    try {
      for (;;) {
        if (interrupted() || this.paused) {
          await this.fadeOut(nextNow);
          while (this.paused && !interrupted()) await new Promise<void>((r) => (this.wake = r));
          if (interrupted()) {
            if (this.stopping) await this.sink.drain();
            return { kind: 'interrupted' };
          }
          this.fader.fadeIn(); // resumed
          continue;
        }
        if (this.crossfadeFrames > 0 && frames > 0 && !mixing() && !held) {
          const ending = await this.whileWaiting(reader.endsWithin(this.crossfadeFrames));
          if (interrupted() || this.paused) continue;
          if (ending) break; // the rest of this song is the next song's crossfade tail
        }
        held = held ?? scaled(await this.whileWaiting(reader.next()));
        if (interrupted() || this.paused) continue;
        let frame = held;
        held = undefined;
        if (!frame) {
          if (!mixing()) break;
          frame = new Int16Array(this.opts.frameSamples); // a song shorter than the crossfade: the tail fades out alone
        }
        await this.output(mixing() ? this.mixTail(tail!, frame) : frame);
        if (!fallback) this.songSamples += frame.length / this.channels;
        if (frames++ === 0 && !fallback) {
          if (startMs === undefined) this.started(song);
          else this.songsStarted++; // a seek: heard again, but not a new song
        }
      }
      await decoder.finished;
      if (interrupted()) return { kind: 'interrupted' };
      if (frames === 0) return { kind: 'failed', error: new SongFailure('no audio', 'song'), handover: leftOver() };
      return { kind: 'ended', handover: leftOver() };
    } catch (err) {
      if (interrupted()) return { kind: 'interrupted' };
      return { kind: 'failed', error: asError(err), handover: leftOver() };
    } finally {
      if (this.current === decoder) this.current = undefined;
      this.retire(decoder, 'song over');
    }
  }

  /** A song's first frame is out: a retry that gets here means the source is back. */
  private started(song: Song): void {
    this.songsStarted++;
    if (this.outage) {
      this.outage = undefined;
      this.emit('recovered');
    }
    this.emit('songStarted', song);
  }

  /** Fades what plays to silence with the frames at hand; a starved source is not waited for. */
  private async fadeOut(nextNow: () => Int16Array | undefined): Promise<void> {
    this.fader.fadeOut();
    while (!this.fader.silent) {
      const frame = nextNow();
      if (!frame) return;
      await this.output(frame);
    }
  }

  private mixTail(tail: Tail, incoming: Int16Array): Int16Array {
    const outgoing = tail.frames.shift()!;
    const mixed = crossfadeFrame(outgoing, incoming, tail.position, tail.length, this.channels);
    tail.position += incoming.length / this.channels;
    return mixed;
  }

  private async whileWaiting<T>(p: Promise<T>): Promise<T> {
    this.waitingForData = true;
    try {
      return await p;
    } finally {
      this.waitingForData = false;
    }
  }

  private async output(frame: Int16Array): Promise<void> {
    const out = this.gain.apply(this.fader.apply(frame));
    await this.captureFrame(this.opts.ducker ? this.opts.ducker.apply(out) : out);
  }

  private async captureFrame(frame: Int16Array): Promise<void> {
    if (this.outputBroken) return;
    try {
      await this.sink.capture(frame);
      this.outputFailures = 0;
    } catch (err) {
      await this.recoverOutput(asError(err));
    }
  }

  /**
   * Rebuilds the track after a failed capture (the frame is lost). Failures in a row wait longer
   * before each rebuild, and after MAX_OUTPUT_FAILURES_IN_ROW the player gives up (the room ends
   * with an error) instead of spinning on an output that cannot work.
   */
  private async recoverOutput(err: Error): Promise<void> {
    const n = ++this.outputFailures;
    this.emit('outputError', err);
    if (n >= MAX_OUTPUT_FAILURES_IN_ROW) {
      this.outputBroken = new Error(`audio output failed ${n} times in a row; last: ${err.message}`);
      this.generation++; // ends the song; run() reports the failure
      this.wakeUp();
      return;
    }
    if (n > 1) await this.pauseUnlessStopped(Math.min(2000, (this.opts.outputRetryMs ?? 100) * 2 ** (n - 2)));
    // A rebuild that fails shows as the next capture failing.
    await this.sink.republish().catch(() => undefined);
  }

  private async pauseUnlessStopped(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.stopSignal, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  private takeDecoder(song: Song): Decoder {
    // The first song: opened while the room was joined, and for a resume at the saved position.
    const start = this.startAt;
    this.startAt = undefined;
    const first = start?.songId === song.id ? start : undefined;
    if (start?.decoder && !first) this.retire(start.decoder, 'first song changed while joining');
    this.songOffsetMs = first?.ms ?? 0;
    if (first?.decoder) return first.decoder;
    if (first && first.ms > 0) return this.openDecoder(song, first.ms);
    const p = this.prefetched;
    this.prefetched = undefined;
    if (p && p.song.id === song.id) return p.decoder;
    if (p) this.retire(p.decoder, 'prefetched song no longer next');
    return this.openDecoder(song);
  }

  private async prefetch(stillWanted: () => boolean): Promise<void> {
    if (this.prefetching) return;
    this.prefetching = true;
    try {
      await this.retired();
      const next = this.playlist.peekNext();
      if (!next || this.prefetched || this.stopping || !stillWanted()) return;
      this.prefetched = { song: next, decoder: this.openDecoder(next) };
    } catch {
      /* a decoder that cannot even start fails again, and is reported, when its song comes up */
    } finally {
      this.prefetching = false;
    }
  }

  /** Ends a decoder and remembers it until its process is gone (bounded). */
  private retire(decoder: Decoder, reason: string): void {
    decoder.kill(reason);
    const gone = settledWithin(decoder.exited ?? decoder.finished, this.opts.retireTimeoutMs ?? 2000);
    this.retiring.add(gone);
    void gone.then(() => this.retiring.delete(gone));
  }

  private async retired(): Promise<void> {
    while (this.retiring.size > 0) await Promise.all([...this.retiring]);
  }

  private async cleanup(): Promise<void> {
    if (this.startAt?.decoder) this.retire(this.startAt.decoder, 'player stopped');
    this.startAt = undefined;
    if (this.current) this.retire(this.current, 'player stopped');
    if (this.prefetched) this.retire(this.prefetched.decoder, 'player stopped');
    this.current = this.prefetched = undefined;
    await this.retired();
    this.loop = undefined;
  }
}

/** Multiplies int16 samples by `gain` in place, saturating instead of wrapping around. */
function scaleInPlace(frame: Int16Array, gain: number): Int16Array {
  for (let i = 0; i < frame.length; i++) {
    const v = Math.round(frame[i]! * gain);
    frame[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return frame;
}

function makeTail(frames: Int16Array[], samplesPerChannelFrame: number): Tail | undefined {
  return frames.length > 0 ? { frames, position: 0, length: frames.length * samplesPerChannelFrame } : undefined;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Resolves when `p` settles either way, or after `ms`. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.then(noop, noop), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function noop(): void {}
