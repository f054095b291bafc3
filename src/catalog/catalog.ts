import type { Song, SongQuery } from './song';

/** What `select` found, and how far it had to fall back to find anything. */
export interface Selection {
  songs: Song[];
  matched: 'language+genre' | 'language' | 'genre' | 'all';
  /** Set when the request could not be honoured exactly; the reply passes it on. */
  note?: string;
}

/** An immutable set of songs with selection by language/genre and free-text search. */
export class Catalog {
  private readonly byIdMap: Map<string, Song>;

  constructor(private readonly songs: readonly Song[]) {
    this.byIdMap = new Map(songs.map((s) => [s.id, s]));
  }

  all(): readonly Song[] {
    return this.songs;
  }

  byId(id: string): Song | undefined {
    return this.byIdMap.get(id);
  }

  languages(): string[] {
    return [...new Set(this.songs.map((s) => s.language))].sort();
  }

  /**
   * Songs of the requested language and genre. When the genre has nothing, falls back to the
   * language, then to the whole catalog, and says so in `note`.
   */
  select(query: SongQuery): Selection {
    const lang = query.language ? fold(query.language) : undefined;
    const genre = query.genre ? fold(query.genre) : undefined;
    const inLang = lang ? this.songs.filter((s) => fold(s.language) === lang) : [...this.songs];
    const hasGenre = (s: Song) => s.genres.some((g) => fold(g) === genre);
    if (genre) {
      const both = inLang.filter(hasGenre);
      if (both.length) return { songs: both, matched: lang ? 'language+genre' : 'genre' };
    }
    if (lang && inLang.length) {
      return genre
        ? { songs: inLang, matched: 'language', note: `no ${query.genre} songs in ${query.language}; playing all ${query.language} songs` }
        : { songs: inLang, matched: 'language' };
    }
    if (!lang && !genre) return { songs: [...this.songs], matched: 'all' };
    const wanted = [query.language, query.genre].filter(Boolean).join(' ');
    return { songs: [...this.songs], matched: 'all', note: `no ${wanted} songs; playing the whole catalog` };
  }

  /**
   * Songs matching free text, best first. Tolerates case, accents, punctuation and word order, and
   * matches titles and aliases (romanised spellings are aliases). `language` narrows when it can.
   */
  search(text: string, language?: string): Song[] {
    const q = fold(text);
    if (!q) return [];
    const lang = language ? fold(language) : undefined;
    const scored = this.songs
      .map((song) => ({ song, score: Math.max(...[song.title, ...song.aliases].map((name) => similarity(q, fold(name)))) }))
      .filter((s) => s.score >= 0.5)
      .sort((a, b) => b.score - a.score || Number(lang !== undefined && fold(b.song.language) === lang) - Number(lang !== undefined && fold(a.song.language) === lang));
    if (lang) {
      const inLang = scored.filter((s) => fold(s.song.language) === lang);
      if (inLang.length) return inLang.map((s) => s.song);
    }
    return scored.map((s) => s.song);
  }
}

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
 * 1 for equal; high when every query word is in the name (whole, as a prefix of 4+ letters, or with
 * one typo in a word of 4+ letters), more so the more of the name the query covers; low for a
 * partial match.
 */
function similarity(query: string, name: string): number {
  if (!name) return 0;
  if (query === name) return 1;
  const words = name.split(' ');
  const qWords = query.split(' ');
  const score = (w: string): number => {
    if (words.includes(w)) return 1;
    if (w.length >= 4 && words.some((n) => n.startsWith(w) || editDistance(n, w) <= 1)) return 0.9;
    return 0;
  };
  const scores = qWords.map(score);
  const found = scores.filter((x) => x > 0).length;
  const quality = scores.reduce((a, b) => a + b, 0) / qWords.length;
  if (found === qWords.length) return (0.6 + 0.35 * Math.min(1, qWords.length / words.length)) * quality;
  if (name.includes(query)) return 0.55;
  return (0.85 * found) / Math.max(qWords.length, words.length);
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 1) return 2;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
