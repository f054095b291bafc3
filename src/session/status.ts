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
  /** Songs queued after the current one (enqueued plus the continuous playlist's bag). */
  queue_length: number;
  /** Songs users enqueued (`enqueue_music`) still to play. */
  queued: number;
  repeat: 'off' | 'one' | 'all';
  shuffle: boolean;
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
  /** The music goes down while others in the room speak (audio.duck, set_ducking). */
  ducking: boolean;
  /** The music is down now because someone speaks. */
  ducked: boolean;
  updated_at: string;
}

/** What the status shows of a song; `measuredMs`: its length when the catalog has none. */
export function songInfo(song: Song | undefined, measuredMs?: number): SongInfo | null {
  if (!song) return null;
  return { id: song.id, title: song.title, language: song.language, genre: song.genres[0] ?? null, duration_ms: song.durationMs ?? measuredMs ?? null };
}

export function idleStatus(device: string, error: string | null = null, reason: string | null = null, seq = 0): DeviceStatus {
  return {
    device,
    room: null,
    state: error ? 'error' : 'idle',
    song: null,
    volume: 100,
    queue_length: 0,
    queued: 0,
    repeat: 'off',
    shuffle: true,
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
    ducking: false,
    ducked: false,
    updated_at: new Date().toISOString(),
  };
}

/** A song of `get_queue`; `queued`: a user enqueued it (else it comes from the continuous playlist). */
export interface QueueSong {
  id: string;
  title: string;
  queued: boolean;
}

/** The `queue` of a `get_queue` reply. */
export interface QueueView {
  current: SongInfo | null;
  /** In play order: index 0 plays next (the `index` of remove_from_queue). */
  up_next: QueueSong[];
  /** The most recently played first. */
  history: { id: string; title: string }[];
  queued: number;
  repeat: 'off' | 'one' | 'all';
  shuffle: boolean;
}
