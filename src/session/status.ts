import type { Song } from '../catalog/song';

/** `degraded`: the song source is down; the session stays and retries (fallback or silence meanwhile). */
export type SessionState = 'idle' | 'starting' | 'playing' | 'paused' | 'reconnecting' | 'degraded' | 'error';

export interface SongInfo {
  id: string;
  title: string;
  language: string;
  genre: string | null;
  duration_ms: number | null;
}

/** The last song that could not be played in this session (404, corrupt file, stalled stream). */
export interface SongFailure {
  id: string;
  title: string;
  error: string;
  at: string;
}

/** The retained per-device status, and the `state` part of every reply. */
export interface DeviceStatus {
  device: string;
  room: string | null;
  state: SessionState;
  song: SongInfo | null;
  volume: number;
  /** Songs queued after the current one. */
  queue_length: number;
  language: string | null;
  genre: string | null;
  error: string | null;
  /** The last song that failed in this session (playback went on with the next one), else null. */
  last_failure: SongFailure | null;
  /** Why the session last ended (stop command, room closed, failure), null while it runs. */
  reason: string | null;
  updated_at: string;
}

export function songInfo(song: Song | undefined): SongInfo | null {
  if (!song) return null;
  return { id: song.id, title: song.title, language: song.language, genre: song.genres[0] ?? null, duration_ms: song.durationMs ?? null };
}

export function idleStatus(device: string, error: string | null = null, reason: string | null = null): DeviceStatus {
  return { device, room: null, state: error ? 'error' : 'idle', song: null, volume: 100, queue_length: 0, language: null, genre: null, error, last_failure: null, reason, updated_at: new Date().toISOString() };
}
