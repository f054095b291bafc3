import { transliterate } from 'transliteration';
import type { Song } from './song';

/** Below this a song does not match at all. */
export const MIN_SCORE = 0.5;

/** Case-, accent- and punctuation-insensitive form used for every comparison. */
export function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * The searchable form of a name or a query: folded, and non-Latin scripts spelled in Latin letters
 * (Devanagari, Cyrillic, Chinese, ...), so a title in its own script is found by its romanisation.
 */
export function searchKey(text: string): string {
  // Transliterate before folding: folding drops the vowel signs of scripts such as Devanagari.
  // eslint-disable-next-line no-control-regex
  return fold(/^[\x00-\x7f]*$/.test(text) ? text : transliterate(text.normalize('NFC')));
}

/**
 * A looser spelling of one word, for romanised text that is written many ways: "chandaa" and
 * "chanda", "mornee" and "morni", "bhalu" and "balu", "phool" and "fool", "zindagi" and "jindagi".
 * Both the query and the names go through it, so it only ever adds matches.
 */
export function looseWord(word: string): string {
  return word
    .replace(/ee/g, 'i')
    .replace(/oo/g, 'u')
    .replace(/(.)\1+/g, '$1')
    .replace(/ph/g, 'f')
    .replace(/ck/g, 'k')
    .replace(/w/g, 'v')
    .replace(/z/g, 'j')
    .replace(/q/g, 'k')
    .replace(/([bcdfgjklmnprstvx])h/g, '$1') // aspirates and sh/ch: kh→k, bh→b, sh→s
    .replace(/ee/g, 'i')
    .replace(/oo/g, 'u')
    .replace(/(.)\1+/g, '$1') // long vowels and doubled consonants: aa→a, tt→t
    .replace(/m(?=[bcdfgjklnpstv])/g, 'n') // anusvara written m or n: "chamda"/"chanda"
    .replace(/([^aeiou])y$/, '$1i');
}

interface Name {
  key: string;
  words: string[];
  loose: string[];
}

function nameOf(text: string): Name {
  const key = searchKey(text);
  const words = key ? key.split(' ') : [];
  return { key, words, loose: words.map(looseWord) };
}

/**
 * Free-text search over titles and aliases (romanised spellings are aliases). Word-based, so word
 * order does not matter and a short query matches a long title; each word may be exact, a loose
 * (romanised) spelling, a prefix of 4+ letters, or have a typo (one edit from 4 letters, two from 8).
 */
export class SongSearch {
  private readonly names: { song: Song; names: Name[] }[];

  constructor(songs: readonly Song[]) {
    this.names = songs.map((song) => ({ song, names: [song.title, ...song.aliases].map(nameOf).filter((n) => n.key) }));
  }

  /** Songs scoring at least MIN_SCORE, best first, with their score (1 = a name equals the query). */
  scored(text: string): { song: Song; score: number }[] {
    const q = nameOf(text);
    if (!q.key) return [];
    return this.names
      .map(({ song, names }) => ({ song, score: Math.max(0, ...names.map((n) => similarity(q, n))) }))
      .filter((s) => s.score >= MIN_SCORE)
      .sort((a, b) => b.score - a.score);
  }
}

/**
 * 1 for equal; high when every query word is in the name, more so the more of the name the query
 * covers; lower for a partial match.
 */
function similarity(q: Name, n: Name): number {
  if (q.key === n.key) return 1;
  if (q.key.replace(/ /g, '') === n.key.replace(/ /g, '')) return 0.98; // "babyshark" for "baby shark"
  const scores = q.words.map((w, i) => wordScore(w, q.loose[i]!, n));
  const found = scores.filter((x) => x > 0).length;
  const quality = scores.reduce((a, b) => a + b, 0) / q.words.length;
  if (found === q.words.length) return (0.6 + 0.35 * Math.min(1, q.words.length / n.words.length)) * quality;
  if (n.key.includes(q.key)) return 0.55;
  return (0.85 * found) / Math.max(q.words.length, n.words.length);
}

function wordScore(w: string, loose: string, n: Name): number {
  if (n.words.includes(w)) return 1;
  if (n.loose.includes(loose)) return 0.95;
  if (near(w, n.words, true) || near(loose, n.loose, true)) return 0.9;
  if (near(w, n.words, false) || near(loose, n.loose, false)) return 0.85;
  return 0;
}

/** A prefix of 4+ letters of one of `words`, or (not prefix) within one edit from 4 letters, two from 8. */
function near(w: string, words: string[], prefix: boolean): boolean {
  if (w.length < 4) return false;
  if (prefix) return words.some((x) => x.startsWith(w));
  const allowed = w.length >= 8 ? 2 : 1;
  return words.some((x) => editDistance(x, w, allowed) <= allowed);
}

/**
 * Edit distance with swapped neighbours counting as one edit ("twinkel"), cut short: anything
 * above `max` is reported as max + 1.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return max + 1;
    [before, prev] = [prev, row];
  }
  return Math.min(prev[b.length]!, max + 1);
}
