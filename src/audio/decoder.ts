import { type Readable, Transform } from 'node:stream';
import { finished as streamFinished } from 'node:stream/promises';
import { classifyFfmpegFailure, SongFailure } from './failure';
import type { LaunchedProcess, Launcher } from './launcher';
import { resolveMediaInput, type MediaInput, type MediaPolicy } from './media-input';
import { bytesPerMs, type PcmFormat } from './pcm-format';

export interface DecoderOptions {
  format: PcmFormat;
  /** Runs ffmpeg (the configured binary). */
  launcher: Launcher;
  /** Decoded audio held ahead of playback; ffmpeg blocks (pipe back-pressure) beyond it. */
  readAheadMs: number;
  /** No bytes for this long while the consumer is starved means the source is stalled. */
  stallMs: number;
  /** Network read timeout for http(s) sources. */
  networkTimeoutMs: number;
  /** Where local songs may be; outside it (or with no root) a local song fails before ffmpeg runs. */
  media: MediaPolicy;
  /** Redirects an http(s) song may follow; set only when the ffmpeg build has `-max_redirects`. */
  maxRedirects?: number;
  /** Start this far into the song, ms (resume, seek_music): ffmpeg's input seek, `-ss` before `-i`. */
  startMs?: number;
}

/**
 * One continuous ffmpeg decode of one song into raw PCM. The song is never held in memory: ffmpeg
 * streams it and blocks when `readAheadMs` of audio waits unread.
 *
 * The constructor throws a SongFailure when the URL is refused (scheme, media root) — no ffmpeg is
 * spawned then; `finished` rejects with a SongFailure whose message is a short cause, never
 * ffmpeg's text or the URL.
 */
export class SongDecoder {
  readonly output: Readable;
  /** Resolves when ffmpeg has decoded the whole song; rejects when it fails, stalls or is killed. */
  readonly finished: Promise<void>;
  /** Resolves when no ffmpeg process of this decoder runs any more (or none was ever started). */
  readonly exited: Promise<void>;
  private process: LaunchedProcess | undefined;
  private ended = false;
  private killedReason: SongFailure | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastData = Date.now();

  constructor(readonly url: string, private readonly opts: DecoderOptions) {
    const highWaterMark = Math.max(64 * 1024, Math.round(bytesPerMs(opts.format) * opts.readAheadMs));
    // A Transform rather than a 'data' listener notes progress: a listener would switch the stream
    // to flowing mode and drain a prefetched song before the player reads it.
    const out = new Transform({
      readableHighWaterMark: highWaterMark,
      transform: (chunk: Buffer, _enc, done) => {
        this.lastData = Date.now();
        done(null, chunk);
      },
    });
    this.output = out;
    const input = resolveMediaInput(url, opts.media);
    const args = [...inputOptions(input, opts), '-i', input.input, '-vn', '-acodec', 'pcm_s16le', '-ac', String(opts.format.channels), '-ar', String(opts.format.sampleRate), '-f', 's16le', 'pipe:1'];
    const run = this.run(opts.launcher, args);
    this.exited = run.then(
      (p) => p.exit.then(() => undefined),
      () => undefined,
    );
    this.finished = run.then(
      (p) => this.decode(p, out),
      (err: unknown) => {
        // Never started (bad binary, the spawner did not answer): nothing to decode.
        out.end();
        this.settle();
        throw this.killedReason ?? classifyFfmpegFailure('', err instanceof Error ? err.message : String(err));
      },
    );
    // The player may abandon a decoder without awaiting it (skip); never leave an unhandled rejection.
    this.finished.catch(() => undefined);
    this.watchForStall(out);
  }

  /** Starts ffmpeg; rejects when it could not be started. */
  private async run(launcher: Launcher, args: string[]): Promise<LaunchedProcess> {
    const proc = await launcher.launch(args);
    this.process = proc;
    // Killed while it was being started (rapid skips): it ends as soon as it exists.
    if (this.killedReason !== undefined) {
      proc.kill();
      proc.stdout.destroy();
    }
    return proc;
  }

  /** Pipes ffmpeg's PCM into `out`; resolves when it all arrived and ffmpeg exited with 0. */
  private async decode(proc: LaunchedProcess, out: Transform): Promise<void> {
    // Also when the pipe was closed before this (a decoder killed while ffmpeg was being started).
    const drained = streamFinished(proc.stdout).catch(() => undefined);
    // `out` ends when ffmpeg's stdout does, after the audio still in flight.
    proc.stdout.pipe(out, { end: true });
    const [exit] = await Promise.all([proc.exit, drained]);
    // A pipe closed without an end (the spawner gone) does not end `out`: what was decoded still plays, then the song ends.
    if (!out.writableEnded && !out.destroyed) out.end();
    this.settle();
    if (this.killedReason !== undefined) throw this.killedReason;
    if (exit.code === 0) return;
    const message = exit.signal ? `ffmpeg was killed with signal ${exit.signal}` : `ffmpeg exited with code ${exit.code}`;
    throw classifyFfmpegFailure(exit.stderr, message);
  }

  /** Ends ffmpeg now. Safe to call more than once and after it finished. */
  kill(reason = 'decoder stopped'): void {
    this.end(new SongFailure('ffmpeg failed', 'song', reason));
  }

  private end(failure: SongFailure): void {
    if (this.ended || this.killedReason !== undefined) return;
    this.killedReason = failure;
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.process?.kill();
    this.process?.stdout.destroy();
    this.output.destroy();
  }

  get done(): boolean {
    return this.ended;
  }

  private settle(): void {
    this.ended = true;
    if (this.stallTimer) clearInterval(this.stallTimer);
  }

  private watchForStall(out: Transform): void {
    // Only a starved consumer with a silent source is a stall; a full buffer is ordinary back-pressure.
    this.stallTimer = setInterval(() => {
      if (out.readableLength > 0) {
        this.lastData = Date.now();
        return;
      }
      if (Date.now() - this.lastData > this.opts.stallMs) this.end(new SongFailure('stalled', 'source', `no audio for ${this.opts.stallMs} ms`));
    }, Math.min(1000, this.opts.stallMs));
    this.stallTimer.unref();
  }
}

/** Longest seek accepted, ms: beyond any song (a hostile or corrupt offset decodes nothing, quickly). */
const MAX_SEEK_MS = 24 * 3600 * 1000;

/** Per-input options: the protocol whitelist always; the start offset; timeouts, reconnects and redirects for http(s). */
export function inputOptions(input: MediaInput, opts: Pick<DecoderOptions, 'networkTimeoutMs' | 'maxRedirects' | 'startMs'>): string[] {
  const args = ['-nostdin', '-hide_banner', '-protocol_whitelist', input.protocols];
  // -ss before -i is an input seek: ffmpeg starts decoding there instead of decoding up to it.
  const startMs = opts.startMs ?? 0;
  const seek = Number.isFinite(startMs) ? Math.min(Math.max(0, Math.floor(startMs)), MAX_SEEK_MS) : 0;
  if (seek > 0) args.push('-ss', (seek / 1000).toFixed(3));
  if (input.network) {
    // rw_timeout is in microseconds; reconnect options let a CDN hiccup resume mid-song.
    args.push('-rw_timeout', String(opts.networkTimeoutMs * 1000), '-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '2');
    if (opts.maxRedirects !== undefined) args.push('-max_redirects', String(opts.maxRedirects));
  }
  return args;
}
