// Bench songs. `tones`: one sine per song (the bench's original content, cheap for the encoder).
// `music`: a chord over the song's pitch plus pink noise with a slow swell, at music-like loudness
// (about -14 dBFS RMS, peaks near -5 dBFS), because Opus's cost depends on the content; the
// fundamental dominates so listeners still tell songs apart by pitch.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const { generateToneCatalog } = require('../dist/catalog/tone-catalog.js');
const run = promisify(execFile);

/** Song pitches, Hz: a listener names the song playing by these. */
export const SONG_HZ = [440, 523, 587, 659, 784, 880];

export const CONTENTS = ['tones', 'music'];

/** The ffmpeg filter graph of one `music` song: chord (root, major third, fifth, octave) + pink noise 20 dB down, swelling every 4 s. */
export function musicGraph(hz, seconds, rate = 44100) {
  const partials = [[0.32, 1, 0], [0.05, 1.25, 0.5], [0.09, 1.5, 1], [0.05, 2, 2]]
    .map(([a, k, phase]) => `${a}*sin(2*PI*${hz * k}*t+${phase})`).join('+');
  return `anoisesrc=c=pink:a=0.05:d=${seconds}:r=${rate}[n];` +
    `aevalsrc='(${partials})*(0.8+0.2*sin(2*PI*0.25*t))':s=${rate}:d=${seconds}[s];` +
    '[s][n]amerge=inputs=2,pan=stereo|c0=c0+c1|c1=c0+c1';
}

/** Writes the bench catalog (6 songs of `seconds` each) under `dir`; returns the manifest path. */
export async function benchCatalog(dir, content, seconds, ffmpegPath) {
  if (!CONTENTS.includes(content)) throw new Error(`BENCH_CONTENT must be one of ${CONTENTS.join(', ')}`);
  const songs = SONG_HZ.map((hz, i) => ({ title: `Bench ${i + 1}`, language: 'English', genres: ['pop'], hz, seconds, format: 'mp3' }));
  if (content === 'tones') return generateToneCatalog(dir, songs, ffmpegPath);
  await mkdir(dir, { recursive: true });
  const entries = [];
  for (const s of songs) {
    const file = `bench-music-${s.hz}hz.mp3`;
    await run(ffmpegPath, ['-y', '-hide_banner', '-loglevel', 'error', '-filter_complex', musicGraph(s.hz, seconds), '-ac', '2', '-ar', '44100', '-c:a', 'libmp3lame', '-b:a', '128k',
      '-metadata', `title=${s.title}`, join(dir, file)]);
    entries.push({ title: s.title, aliases: [], language: s.language, genres: s.genres, file, duration_ms: seconds * 1000 });
  }
  const manifest = join(dir, 'catalog.json');
  await writeFile(manifest, `${JSON.stringify({ songs: entries }, null, 2)}\n`);
  return manifest;
}
