import type { Song } from '../catalog/song';

/**
 * `resuming`: the session is being restored from its retained status after a restart (see docs/mqtt-api.md);
 * `degraded`: the song source is down; the session stays and retries (fallback or silence meanwhile).
 */
export type SessionState = 'idle' | 'starting' | 'resuming' | 'playing' | 'paused' | 'reconnecting' | 'degraded' | 'error';

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
  /**
   * What a resume needs (src/session/session-state.ts): the current song's position, ms, counted
   * from the frames captured, and when it was taken; null without a song.
   */
  position_ms: number | null;
  position_at: string | null;
  /** Ids of the songs up next and of those played (most recent last), each at most RESUME_LIST_LIMIT. */
  queue: string[];
  history: string[];
  /** The bridge instance that owns the session (bridge.instanceId), null when none does. */
  instance: string | null;
  /** Grows with every status of the device published by its owner (a newer status has a larger one). */
  seq: number;
  updated_at: string;
}

export function songInfo(song: Song | undefined): SongInfo | null {
  if (!song) return null;
  return { id: song.id, title: song.title, language: song.language, genre: song.genres[0] ?? null, duration_ms: song.durationMs ?? null };
}

export function idleStatus(device: string, error: string | null = null, reason: string | null = null, seq = 0): DeviceStatus {
  return {
    device,
    room: null,
    state: error ? 'error' : 'idle',
    song: null,
    volume: 100,
    queue_length: 0,
    language: null,
    genre: null,
    error,
    last_failure: null,
    reason,
    position_ms: null,
    position_at: null,
    queue: [],
    history: [],
    instance: null,
    seq,
    updated_at: new Date().toISOString(),
  };
}
