/** One playable song. `url` is a local path, a file:// URL or an http(s):// URL. */
export interface Song {
  id: string;
  title: string;
  aliases: string[];
  language: string;
  genres: string[];
  url: string;
  durationMs?: number;
  /** Integrated loudness (EBU R128), LUFS, when the catalog knows it (`loudness_lufs`, ReplayGain tags). */
  loudnessLufs?: number;
}

/** Loudness values outside this range are refused as nonsense (digital silence is about -70 LUFS). */
export const LOUDNESS_RANGE = { min: -70, max: 0 } as const;

/** What a start command asks for; both fields optional and matched case-insensitively. */
export interface SongQuery {
  language?: string;
  genre?: string;
}
