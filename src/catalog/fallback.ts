import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { AUDIO_EXTENSIONS } from './directory-source';
import type { Song } from './song';

/** Songs of the fallback, played in a loop while the song source is down. */
export interface Fallback {
  songs: Song[];
  /** The directory they are in (their media root). */
  root: string;
}

/** Most files a fallback directory contributes; a fallback is a few loops, not a second catalog. */
const MAX_FALLBACK_SONGS = 100;

/**
 * Loads `catalog.fallback`: one audio file, or the audio files directly in a directory (sorted by
 * name). Throws when the path is missing or holds no audio file: a fallback configured but not there
 * is a start-up error, not a silent surprise during the next outage.
 */
export async function loadFallback(location: string): Promise<Fallback> {
  const path = await realpath(location);
  const info = await stat(path);
  if (info.isFile()) return { songs: [fallbackSong(path)], root: dirname(path) };
  const names = (await readdir(path, { withFileTypes: true }))
    .filter((e) => e.isFile() && AUDIO_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort()
    .slice(0, MAX_FALLBACK_SONGS);
  if (names.length === 0) throw new Error(`catalog.fallback ${location} has no audio files`);
  return { songs: names.map((n) => fallbackSong(join(path, n))), root: path };
}

function fallbackSong(path: string): Song {
  const title = basename(path, extname(path));
  return { id: `fallback/${title}`, title, aliases: [], language: '', genres: [], url: path };
}
