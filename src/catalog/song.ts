/** One playable song. `url` is a local path, a file:// URL or an http(s):// URL. */
export interface Song {
  id: string;
  title: string;
  aliases: string[];
  language: string;
  genres: string[];
  url: string;
  durationMs?: number;
}

/** What a start command asks for; both fields optional and matched case-insensitively. */
export interface SongQuery {
  language?: string;
  genre?: string;
}
