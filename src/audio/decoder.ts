import ffmpeg from 'fluent-ffmpeg';
import type { ChildProcess } from 'node:child_process';
import { type Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { bytesPerMs, type PcmFormat } from './pcm-format';

export interface DecoderOptions {
  format: PcmFormat;
  ffmpegPath: string;
  /** Decoded audio held ahead of playback; ffmpeg blocks (pipe back-pressure) beyond it. */
  readAheadMs: number;
  /** No bytes for this long while the consumer is starved means the source is stalled. */
  stallMs: number;
  /** Network read timeout for http(s) sources. */
  networkTimeoutMs: number;
  /** Start this far into the song, ms (resume; ffmpeg's input seek). The caller bounds it to the song. */
  startMs?: number;
}

/**
 * One continuous ffmpeg decode of one song into raw PCM. The song is never held in memory: ffmpeg
 * streams it and blocks when `readAheadMs` of audio waits unread.
 */
export class SongDecoder {
  readonly output: Readable;
  /** Resolves when ffmpeg has decoded the whole song; rejects when it fails, stalls or is killed. */
  readonly finished: Promise<void>;
  /** Resolves when no ffmpeg process of this decoder runs any more (or none was ever started). */
  readonly exited: Promise<void>;
  private readonly command: ffmpeg.FfmpegCommand;
  private process: ChildProcess | undefined;
  private ended = false;
  private killedReason: string | undefined;
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
    const input = toFfmpegInput(url);
    this.command = ffmpeg(input)
      .setFfmpegPath(opts.ffmpegPath)
      .inputOptions(inputOptions(input, opts.networkTimeoutMs, opts.startMs))
      .noVideo()
      .audioCodec('pcm_s16le')
      .audioChannels(opts.format.channels)
      .audioFrequency(opts.format.sampleRate)
      .format('s16le');

    // fluent-ffmpeg spawns asynchronously (after probing capabilities) and its kill() is a no-op
    // before that: a decoder killed early (rapid skips) must kill its process as soon as it exists.
    let exited: () => void = () => undefined;
    this.exited = new Promise<void>((resolve) => (exited = resolve));
    this.command.on('start', () => {
      const proc = (this.command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      this.process = proc;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return exited();
      proc.once('exit', () => exited());
      if (this.killedReason !== undefined) proc.kill('SIGKILL');
    });
    this.finished = new Promise<void>((resolve, reject) => {
      this.command.on('end', () => {
        this.settle();
        if (!this.process) exited();
        resolve();
      });
      this.command.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        this.settle();
        // The pipe ends `out` when ffmpeg's stdout closes, after the audio still in flight; ending it
        // here too would turn that audio into a 'write after end' error. Only a process that never
        // started has no pipe to end it.
        if (!this.process) {
          exited(); // never spawned (bad binary, probe failure)
          out.end();
        }
        reject(new Error(this.killedReason ?? describeFailure(err, stderr)));
      });
    });
    // The player may abandon a decoder without awaiting it (skip); never leave an unhandled rejection.
    this.finished.catch(() => undefined);
    this.command.pipe(out, { end: true });
    this.watchForStall(out);
  }

  /** Ends ffmpeg now. Safe to call more than once and after it finished. */
  kill(reason = 'decoder stopped'): void {
    if (this.ended || this.killedReason !== undefined) return;
    this.killedReason = reason;
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.process?.kill('SIGKILL');
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
      if (Date.now() - this.lastData > this.opts.stallMs) this.kill(`source stalled: no audio for ${this.opts.stallMs} ms`);
    }, Math.min(1000, this.opts.stallMs));
    this.stallTimer.unref();
  }
}

function toFfmpegInput(url: string): string {
  return url.startsWith('file://') ? fileURLToPath(url) : url;
}

function isHttp(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/** Longest seek accepted, ms: beyond any song (a hostile or corrupt offset decodes nothing, quickly). */
const MAX_SEEK_MS = 24 * 3600 * 1000;

export function inputOptions(input: string, networkTimeoutMs: number, startMs = 0): string[] {
  const opts = ['-nostdin', '-hide_banner'];
  // -ss before -i is an input seek: ffmpeg starts decoding there instead of decoding up to it.
  const seek = Number.isFinite(startMs) ? Math.min(Math.max(0, Math.floor(startMs)), MAX_SEEK_MS) : 0;
  if (seek > 0) opts.push('-ss', (seek / 1000).toFixed(3));
  if (isHttp(input)) {
    // rw_timeout is in microseconds; reconnect options let a CDN hiccup resume mid-song.
    opts.push('-rw_timeout', String(networkTimeoutMs * 1000), '-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '2');
  }
  return opts;
}

/** The last meaningful line of ffmpeg's stderr says why (404, invalid data, ...). */
function describeFailure(err: Error, stderr: string | null): string {
  if (/killed with signal/.test(err.message)) return err.message; // stderr ends with progress, not a reason
  const lines = (stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('ffmpeg version') && !/^(built with|configuration:|lib\w+ )/.test(l));
  const last = lines.at(-1);
  return last ? `ffmpeg: ${last}` : err.message;
}
