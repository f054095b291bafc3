import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A synthetic song: a sine tone, so a listener can tell songs apart by frequency. */
export interface ToneSpec {
  title: string;
  language: string;
  genres: string[];
  hz: number;
  seconds: number;
  /** mp3 (44.1 kHz stereo, like real catalogs), ogg (Vorbis), opus, m4a, flac or wav. */
  format: 'mp3' | 'ogg' | 'opus' | 'm4a' | 'flac' | 'wav';
  aliases?: string[];
  /** Peak amplitude, 0-1 of full scale; default 0.5. */
  amplitude?: number;
  /** A sweep instead of a steady tone: the frequency rises by this much per second from `hz` (the pitch heard tells the position). */
  sweepHzPerSecond?: number;
}

const CODEC: Record<ToneSpec['format'], string[]> = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '128k'],
  ogg: ['-c:a', 'libvorbis', '-q:a', '4'],
  opus: ['-c:a', 'libopus', '-b:a', '96k'],
  m4a: ['-c:a', 'aac', '-b:a', '128k'],
  flac: ['-c:a', 'flac'],
  wav: ['-c:a', 'pcm_s16le'],
};

/**
 * Writes each tone as a file and a catalog manifest (catalog.json) that tags them with language and
 * genre. Licence-free by construction.
 */
export async function generateToneCatalog(dir: string, songs: ToneSpec[], ffmpegPath: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const entries = [];
  for (const s of songs) {
    const file = `${slug(s.title)}-${s.hz}hz.${s.format}`;
    const rate = s.format === 'opus' ? '48000' : '44100';
    await run(ffmpegPath, [
      '-y', '-hide_banner', '-loglevel', 'error',
      // Half of full scale: loud like mastered music, with headroom for the codecs.
      '-f', 'lavfi', '-i', `aevalsrc=${s.amplitude ?? 0.5}*sin(2*PI*(${s.hz}*t+${(s.sweepHzPerSecond ?? 0) / 2}*t*t)):s=${rate}:d=${s.seconds}`,
      '-ac', '2', '-ar', rate, ...CODEC[s.format],
      // Tagged like real music, so a directory catalog can read them.
      '-metadata', `title=${s.title}`, '-metadata', `language=${s.language}`, '-metadata', `genre=${s.genres.join(';')}`,
      join(dir, file),
    ]);
    entries.push({ title: s.title, aliases: s.aliases ?? [], language: s.language, genres: s.genres, file, duration_ms: s.seconds * 1000 });
  }
  const manifest = join(dir, 'catalog.json');
  await writeFile(manifest, `${JSON.stringify({ songs: entries }, null, 2)}\n`);
  return manifest;
}

function slug(text: string): string {
  return text.toLowerCase().normalize('NFD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
