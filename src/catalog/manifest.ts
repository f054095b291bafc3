import { dirname, isAbsolute, resolve } from 'node:path';
import { isHttpUrl } from './conditional-fetch';
import { isObject, text, textList } from './json-fields';
import { LOUDNESS_RANGE, type Song } from './song';

/** A parsed catalog: the good songs, and one line per entry that was skipped. */
export interface ParsedCatalog {
  songs: Song[];
  problems: string[];
}

/**
 * Parses a catalog manifest: `{"songs": [{"title", "language", "genres"|"genre", "url"|"file",
 * "aliases"?, "id"?, "duration_ms"?}]}`. `file` is relative to the manifest's own location (a
 * directory or an http(s) URL). A bad entry is reported and skipped; only a bad document throws.
 */
export function parseManifest(doc: unknown, location: string): ParsedCatalog {
  if (!isObject(doc) || !Array.isArray(doc.songs)) throw new Error('a catalog manifest is an object with a "songs" array');
  const songs: Song[] = [];
  const problems: string[] = [];
  const ids = new Set<string>();
  doc.songs.forEach((entry: unknown, i: number) => {
    try {
      const song = parseEntry(entry, location);
      if (ids.has(song.id)) throw new Error(`duplicate id "${song.id}"`);
      ids.add(song.id);
      songs.push(song);
    } catch (err) {
      problems.push(`songs[${i}]: ${(err as Error).message}`);
    }
  });
  return { songs, problems };
}

function parseEntry(entry: unknown, location: string): Song {
  if (!isObject(entry)) throw new Error('not an object');
  const title = text(entry, 'title');
  const language = text(entry, 'language');
  const genres = entry.genres !== undefined ? textList(entry, 'genres') : entry.genre !== undefined ? [text(entry, 'genre')] : [];
  const aliases = entry.aliases !== undefined ? textList(entry, 'aliases') : [];
  let url: string;
  if (entry.url !== undefined) url = text(entry, 'url');
  else if (entry.file !== undefined) url = resolveFile(text(entry, 'file'), location);
  else throw new Error('needs "url" or "file"');
  const id = entry.id !== undefined ? text(entry, 'id') : songId(language, title);
  const song: Song = { id, title, aliases, language, genres, url };
  if (entry.duration_ms !== undefined) {
    if (typeof entry.duration_ms !== 'number' || !(entry.duration_ms > 0)) throw new Error('"duration_ms" must be a positive number');
    song.durationMs = entry.duration_ms;
  }
  if (entry.loudness_lufs !== undefined) {
    const l = entry.loudness_lufs;
    if (typeof l !== 'number' || !Number.isFinite(l) || l < LOUDNESS_RANGE.min || l > LOUDNESS_RANGE.max) throw new Error(`"loudness_lufs" must be a number from ${LOUDNESS_RANGE.min} to ${LOUDNESS_RANGE.max}`);
    song.loudnessLufs = l;
  }
  return song;
}

/** A stable id from language and title, e.g. `english/baby-shark-dance`. */
export function songId(language: string, title: string): string {
  return `${slug(language)}/${slug(title)}`;
}

export function slug(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '');
}

/** Resolves `file` against the manifest: beside an http manifest it becomes a URL, else a path. */
function resolveFile(file: string, location: string): string {
  if (/^(https?|file):\/\//.test(file) || isAbsolute(file)) return file;
  if (isHttpUrl(location)) return new URL(file.split('/').map(encodeURIComponent).join('/'), location).toString();
  const base = location.startsWith('file://') ? new URL(location).pathname : location;
  return resolve(dirname(base), file);
}
