import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { songId, type ParsedCatalog } from './manifest';
import { LOUDNESS_RANGE, type Song } from './song';
import type { CatalogSource } from './source';

/** What a file's tags say; every field may be missing. */
export interface Tags {
  title?: string;
  language?: string;
  genres?: string[];
  durationMs?: number;
  /** ReplayGain track gain, dB (ReplayGain 2.0: relative to -18 LUFS). */
  replayGainDb?: number;
}

export type TagReader = (path: string) => Promise<Tags>;

export const AUDIO_EXTENSIONS = new Set(['.mp3', '.ogg', '.oga', '.opus', '.m4a', '.aac', '.flac', '.wav', '.webm', '.wma']);

export interface DirectoryOptions {
  /** Language of files whose tags and folder say none; empty: such files are reported and skipped. */
  defaultLanguage?: string;
  /** Reads a file's tags; default: music-metadata. Injected in tests. */
  readTags?: TagReader;
  /** Files read at once. */
  concurrency?: number;
}

interface FileInfo {
  path: string;
  rel: string;
  stamp: string;
}

/**
 * A folder of audio files, scanned recursively; each file's tags give title, language, genres and
 * duration. Missing tags fall back to the file name (title) and the first folder under the root
 * (language: `<root>/Hindi/...`, or `<root>/music/Hindi/...` like the CDN layout), then
 * `defaultLanguage`. A file without a title tag is also found by its file name; a file whose tags
 * cannot be read is reported and skipped. A refresh re-reads only files whose size or time changed,
 * and reports `unchanged` when no file did.
 */
export class DirectorySource implements CatalogSource {
  private readonly readTags: TagReader;
  private cache = new Map<string, { stamp: string; tags: Tags }>();
  private lastSignature: string | undefined;

  constructor(readonly location: string, private readonly opts: DirectoryOptions = {}) {
    this.readTags = opts.readTags ?? readTagsWithMusicMetadata;
  }

  async load(): Promise<ParsedCatalog | 'unchanged'> {
    const files = await this.scan();
    const signature = files.map((f) => `${f.rel}\u0000${f.stamp}`).join('\n');
    if (signature === this.lastSignature) return 'unchanged';

    const problems: string[] = [];
    const tags = await mapLimit(files, this.opts.concurrency ?? 8, async (f) => {
      const hit = this.cache.get(f.rel);
      if (hit && hit.stamp === f.stamp) return hit.tags;
      try {
        return await this.readTags(f.path);
      } catch (err) {
        problems.push(`${f.rel}: tags unreadable: ${(err as Error).message}`);
        return undefined;
      }
    });

    const next = new Map<string, { stamp: string; tags: Tags }>();
    const songs: Song[] = [];
    const ids = new Set<string>();
    files.forEach((f, i) => {
      const t = tags[i];
      if (!t) return;
      next.set(f.rel, { stamp: f.stamp, tags: t });
      const song = this.toSong(f, t, ids);
      if (typeof song === 'string') problems.push(`${f.rel}: ${song}`);
      else songs.push(song);
    });
    this.cache = next;
    this.lastSignature = signature;
    return { songs, problems };
  }

  private toSong(f: FileInfo, t: Tags, ids: Set<string>): Song | string {
    const stem = basename(f.rel, extname(f.rel)).trim();
    const title = t.title?.trim() || stem;
    const language = t.language?.trim() || folderLanguage(f.rel) || this.opts.defaultLanguage;
    if (!language) return 'no language: tag it, put it in a language folder or set catalog.defaultLanguage';
    let id = songId(language, title);
    for (let n = 2; ids.has(id); n++) id = `${songId(language, title)}-${n}`;
    ids.add(id);
    const aliases = stem.toLowerCase() !== title.toLowerCase() ? [stem] : [];
    const song: Song = { id, title, aliases, language, genres: t.genres ?? [], url: f.path };
    if (t.durationMs && t.durationMs > 0) song.durationMs = Math.round(t.durationMs);
    // ReplayGain 2.0 brings a track to -18 LUFS: the track was at -18 - gain.
    const lufs = t.replayGainDb !== undefined && Number.isFinite(t.replayGainDb) ? -18 - t.replayGainDb : undefined;
    if (lufs !== undefined && lufs >= LOUDNESS_RANGE.min && lufs <= LOUDNESS_RANGE.max) song.loudnessLufs = Math.round(lufs * 10) / 10;
    return song;
  }

  /** Every audio file under the root, sorted, with a stamp that changes when the file does. */
  private async scan(): Promise<FileInfo[]> {
    const out: FileInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true });
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const path = join(dir, e.name);
        if (e.isDirectory()) await walk(path);
        else if (e.isFile() && AUDIO_EXTENSIONS.has(extname(e.name).toLowerCase())) {
          const s = await stat(path);
          out.push({ path, rel: relative(this.location, path), stamp: `${s.size}:${s.mtimeMs}` });
        }
      }
    };
    await walk(this.location);
    return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }
}

/** `Hindi/x.mp3` and `music/Hindi/x.mp3` → Hindi; a file at the root has none. */
function folderLanguage(rel: string): string | undefined {
  const parts = rel.split(sep).slice(0, -1);
  if (parts[0]?.toLowerCase() === 'music') parts.shift();
  return parts[0];
}

/**
 * Reads tags with music-metadata: pure JavaScript (no second ffmpeg-sized binary, no process per
 * file), maintained, and it knows every container the decoder plays. It is an ES module, loaded on
 * first use (Node's require of ES modules, Node >= 20.19).
 */
export async function readTagsWithMusicMetadata(path: string): Promise<Tags> {
  const { parseFile } = await import('music-metadata');
  const meta = await parseFile(path, { duration: true, skipCovers: true });
  const genres = (meta.common.genre ?? []).flatMap((g) => g.split(/[;,]/)).map((g) => g.trim()).filter(Boolean);
  return {
    title: meta.common.title,
    language: meta.common.language,
    genres: [...new Set(genres)],
    durationMs: meta.format.duration !== undefined ? meta.format.duration * 1000 : undefined,
    replayGainDb: meta.common.replaygain_track_gain?.dB,
  };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
