import { fold, SongSearch } from './search';
import type { Song, SongQuery } from './song';

export { fold } from './search';

/** What `select` found, and how far it had to fall back to find anything. */
export interface Selection {
  songs: Song[];
  matched: 'language+genre' | 'language' | 'genre' | 'all';
  /** Set when the request could not be honoured exactly; the reply passes it on. */
  note?: string;
}

/** An immutable set of songs with selection by language/genre and free-text search. */
export class Catalog {
  /** Built on the first search. */
  private index: SongSearch | undefined;

  constructor(private readonly songs: readonly Song[]) {}

  all(): readonly Song[] {
    return this.songs;
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
   * Songs matching free text, best first (see SongSearch): tolerates case, accents, punctuation,
   * word order, typos, other scripts and loose romanised spellings, and matches titles and aliases.
   * `language` narrows when it can; a match in another language still counts when it has none.
   */
  search(text: string, language?: string): Song[] {
    this.index ??= new SongSearch(this.songs);
    const lang = language ? fold(language) : undefined;
    const inLang = (s: Song) => lang !== undefined && fold(s.language) === lang;
    const scored = this.index.scored(text).sort((a, b) => b.score - a.score || Number(inLang(b.song)) - Number(inLang(a.song)));
    if (lang) {
      const narrowed = scored.filter((s) => inLang(s.song));
      if (narrowed.length) return narrowed.map((s) => s.song);
    }
    return scored.map((s) => s.song);
  }
}
