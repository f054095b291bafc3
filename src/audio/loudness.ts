import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LOUDNESS_RANGE, type Song } from '../catalog/song';
import type { Logger } from '../ops/logger';
import { inputOptions, type DecoderOptions } from './decoder';
import { resolveMediaInput } from './media-input';

/** What is known of a song's loudness: integrated (LUFS) and, when measured, its true peak (dBTP). */
export interface Loudness {
  lufs: number;
  peakDb?: number;
  /** The song's length, from the same decode (for songs whose catalog entry has none). */
  durationMs?: number;
}

/** Highest level a normalised song may reach (true peak), dBTP. */
export const TRUE_PEAK_CEILING_DB = -1;
/** Boost allowed when the peak is unknown (a catalog value), dB: beyond it a quiet song could clip. */
export const BLIND_BOOST_MAX_DB = 6;
/** Longest one loudness measurement may take (a long song over a slow link), ms. */
export const LOUDNESS_MEASURE_TIMEOUT_MS = 300_000;
/** Cut or boost never beyond this, dB. */
const GAIN_LIMIT_DB = 20;

/**
 * The gain (dB) that brings a song of `loudness` to `targetLufs`, lowered so that its true peak
 * stays under TRUE_PEAK_CEILING_DB (when the peak is unknown, a boost is capped at BLIND_BOOST_MAX_DB).
 */
export function normalisingGainDb(loudness: Loudness, targetLufs: number): number {
  let gain = targetLufs - loudness.lufs;
  if (loudness.peakDb !== undefined) gain = Math.min(gain, TRUE_PEAK_CEILING_DB - loudness.peakDb);
  else gain = Math.min(gain, BLIND_BOOST_MAX_DB);
  return Math.max(-GAIN_LIMIT_DB, Math.min(GAIN_LIMIT_DB, gain));
}

/** Reads ffmpeg's ebur128 summary (the last "I:" and "Peak:" lines); undefined when it has none. */
export function parseEbur128Summary(stderr: string): Loudness | undefined {
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const i = /I:\s+(-?\d+(?:\.\d+)?) LUFS/.exec(summary);
  if (!i || !summary.includes('Summary:')) return undefined;
  const lufs = Number(i[1]);
  if (!Number.isFinite(lufs) || lufs < LOUDNESS_RANGE.min || lufs > LOUDNESS_RANGE.max) return undefined;
  const p = /Peak:\s+(-?\d+(?:\.\d+)?|-inf) dBFS/.exec(summary);
  const peakDb = p && p[1] !== '-inf' ? Number(p[1]) : undefined;
  const durationMs = parseDurationMs(stderr);
  return { lufs, ...(peakDb !== undefined && Number.isFinite(peakDb) ? { peakDb } : {}), ...(durationMs !== undefined ? { durationMs } : {}) };
}

/** How much ffmpeg decoded, from its last progress line (`time=00:03:12.45`), ms. */
export function parseDurationMs(stderr: string): number | undefined {
  const all = [...stderr.matchAll(/time=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/g)];
  const last = all[all.length - 1];
  if (!last) return undefined;
  const ms = Math.round(((Number(last[1]) * 60 + Number(last[2])) * 60 + Number(last[3])) * 1000);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/**
 * Measures a song's integrated loudness and true peak with ffmpeg's ebur128 filter (decoding the
 * whole song once, as fast as it can), under the same URL checks and input options as playback.
 * Rejects on failure or after `timeoutMs`; the child is killed then.
 */
export async function measureLoudness(song: Song, opts: Pick<DecoderOptions, 'launcher' | 'media' | 'networkTimeoutMs' | 'maxRedirects'>, timeoutMs: number, signal?: AbortSignal): Promise<Loudness> {
  const input = resolveMediaInput(song.url, opts.media);
  const args = [...inputOptions(input, opts), '-i', input.input, '-vn', '-af', 'ebur128=peak=true', '-f', 'null', '-'];
  // The time limit runs from the call; a stop or a timeout while ffmpeg starts kills it once it exists.
  const stop = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  const proc = await opts.launcher.launch(args);
  const kill = (): void => proc.kill();
  if (stop.aborted) kill();
  else stop.addEventListener('abort', kill, { once: true });
  proc.stdout.resume();
  const exit = await proc.exit;
  stop.removeEventListener('abort', kill);
  const found = exit.code === 0 ? parseEbur128Summary(exit.stderr) : undefined;
  if (!found) throw new Error(exit.code === null ? 'timed out or killed' : `no loudness (ffmpeg exit ${exit.code})`);
  return found;
}

/** Cached loudness entries at most (least recently stored dropped first). */
const CACHE_LIMIT = 100_000;

/**
 * Measured loudness kept across restarts in a small JSON file, keyed by song id and source (the
 * URL: a new file at a new URL is measured again). Written atomically (temp file, rename) after
 * each measurement; an unreadable file starts an empty cache.
 */
export class LoudnessCache {
  private readonly entries = new Map<string, Loudness>();

  constructor(private readonly file: string | undefined, private readonly log: Logger) {
    if (!file) return;
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { entries?: Record<string, unknown> };
      for (const [k, v] of Object.entries(data.entries ?? {})) {
        const l = v as Partial<Loudness>;
        if (typeof l.lufs === 'number' && l.lufs >= LOUDNESS_RANGE.min && l.lufs <= LOUDNESS_RANGE.max) {
          this.entries.set(k, { lufs: l.lufs, ...(typeof l.peakDb === 'number' ? { peakDb: l.peakDb } : {}), ...(typeof l.durationMs === 'number' && l.durationMs > 0 ? { durationMs: l.durationMs } : {}) });
        }
        if (this.entries.size >= CACHE_LIMIT) break;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('loudness cache unreadable; starting empty', { file, error: (err as Error).message });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(song: Song): Loudness | undefined {
    return this.entries.get(cacheKey(song));
  }

  set(song: Song, loudness: Loudness): void {
    const key = cacheKey(song);
    this.entries.delete(key);
    this.entries.set(key, loudness);
    while (this.entries.size > CACHE_LIMIT) this.entries.delete(this.entries.keys().next().value as string);
    this.save();
  }

  private save(): void {
    if (!this.file) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) }));
      renameSync(tmp, this.file);
    } catch (err) {
      this.log.warn('loudness cache not written', { file: this.file, error: (err as Error).message });
    }
  }
}

/** Song id plus a hash of its URL (the URL may be signed: only its hash is stored). */
function cacheKey(song: Song): string {
  return `${song.id}#${createHash('sha256').update(song.url).digest('hex').slice(0, 16)}`;
}

/** Songs waiting to be measured at most; more are measured on a later play. */
const MEASURE_QUEUE_LIMIT = 100;

/**
 * Knows each song's loudness (catalog, cache, or measured once in the background: one ffmpeg at a
 * time for the whole process, a bounded queue) and says what gain brings it to the target.
 */
export class LoudnessNormaliser {
  private readonly queue: Song[] = [];
  private readonly queued = new Set<string>();
  private running = false;
  private stopped = false;
  private readonly aborter = new AbortController();

  constructor(
    private readonly o: {
      targetLufs: number;
      cache: LoudnessCache;
      /** Measures one song; `signal` aborts when the normaliser stops (the ffmpeg is killed). */
      measure: (song: Song, signal: AbortSignal) => Promise<Loudness>;
      log: Logger;
    },
  ) {}

  /** The linear gain for `song` now; a song not known yet plays at unity and is queued for measuring. */
  gainFor(song: Song): number {
    const known = this.o.cache.get(song) ?? (song.loudnessLufs !== undefined ? { lufs: song.loudnessLufs } : undefined);
    if (!known) {
      this.enqueue(song);
      return 1;
    }
    return 10 ** (normalisingGainDb(known, this.o.targetLufs) / 20);
  }

  /** The song's length as measured (for songs whose catalog entry has none). */
  durationOf(song: Song): number | undefined {
    return this.o.cache.get(song)?.durationMs;
  }

  /** Measures `songs` (those not known yet) in the background, e.g. the catalog at start-up. */
  prepare(songs: readonly Song[]): void {
    for (const s of songs) if (s.loudnessLufs === undefined && !this.o.cache.get(s)) this.enqueue(s);
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.aborter.abort();
  }

  private enqueue(song: Song): void {
    const key = `${song.id}\0${song.url}`;
    if (this.stopped || this.queued.has(key) || this.queue.length >= MEASURE_QUEUE_LIMIT) return;
    this.queued.add(key);
    this.queue.push(song);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let song = this.queue.shift(); song && !this.stopped; song = this.queue.shift()) {
        try {
          const l = await this.o.measure(song, this.aborter.signal);
          if (this.stopped) return;
          this.o.cache.set(song, l);
          this.o.log.info('loudness measured', { song: song.id, lufs: l.lufs, peak_db: l.peakDb });
        } catch (err) {
          this.o.log.warn('loudness not measured; the song plays unnormalised', { song: song.id, error: (err as Error).message });
        } finally {
          this.queued.delete(`${song.id}\0${song.url}`);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
