import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateToneCatalog, type ToneSpec } from './tone-catalog';

/**
 * The sample catalog for dev mode and the README: synthesised tones (clean licence, a distinct pitch
 * per song so you can hear a skip), tagged with languages and genres, in the manifest format users
 * write for their own catalogs.
 */
export const SAMPLE_SONGS: ToneSpec[] = [
  { title: 'Morning Pop', language: 'English', genres: ['pop'], hz: 440, seconds: 30, format: 'mp3', aliases: ['morning song'] },
  { title: 'City Lights', language: 'English', genres: ['pop'], hz: 523, seconds: 30, format: 'mp3' },
  { title: 'Summer Drive', language: 'English', genres: ['pop', 'rock'], hz: 587, seconds: 30, format: 'mp3' },
  { title: 'Thunder Road Tone', language: 'English', genres: ['rock'], hz: 330, seconds: 30, format: 'mp3' },
  { title: 'Lullaby in A', language: 'English', genres: ['lullaby'], hz: 220, seconds: 30, format: 'ogg', aliases: ['sleep song'] },
  { title: 'Chanda Mama', language: 'Hindi', genres: ['lullaby', 'kids'], hz: 294, seconds: 30, format: 'mp3', aliases: ['chanda mama door ke'] },
  { title: 'Dil Se Tone', language: 'Hindi', genres: ['pop'], hz: 392, seconds: 30, format: 'ogg' },
  { title: 'Café del Tono', language: 'Spanish', genres: ['pop'], hz: 494, seconds: 30, format: 'mp3', aliases: ['cafe del tono'] },
];

/** Generates the sample catalog under `dir` unless it is already there; returns the manifest path. */
export async function ensureSampleCatalog(dir: string, ffmpegPath: string): Promise<string> {
  const manifest = join(dir, 'catalog.json');
  if (existsSync(manifest)) return manifest;
  return generateToneCatalog(dir, SAMPLE_SONGS, ffmpegPath);
}
