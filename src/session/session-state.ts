import type { Song, SongQuery } from '../catalog/song';
import { roomNameProblem } from './room-policy';

/**
 * The durable part of a session: what its retained status (DeviceStatus) says about where the music
 * was, read back after a restart. The broker is the only store; this module turns a retained
 * message (hostile like every input: anyone allowed to publish there can write one) into a checked
 * shape, and that shape plus the catalog into a resume point.
 */

/** Most ids of the queue and of the history kept in a status: enough to carry on, small to publish. */
export const RESUME_LIST_LIMIT = 20;
/** Longest song id accepted from a retained status. */
const MAX_ID = 256;
const MAX_QUERY_FIELD = 64;

/** A status that says music was on, checked field by field. */
export interface DurableState {
  device: string;
  room: string;
  state: 'playing' | 'paused';
  songId: string;
  positionMs: number;
  /** Epoch ms when the position was taken (or the status written, when the position time is missing). */
  takenAt: number;
  queue: string[];
  history: string[];
  volume: number;
  query: SongQuery;
  instance: string | null;
  seq: number;
  /** Why the last owner wrote it (e.g. "bridge shutting down"), else null. */
  reason: string | null;
}

/** Where a resumed session starts: the song, its position, the playlist around it, the volume. */
export interface ResumePoint {
  query: SongQuery;
  song: Song;
  positionMs: number;
  upcoming: Song[];
  history: Song[];
  volume: number;
  paused: boolean;
  /** The sequence number of the status resumed from; the resumed session's statuses continue after it. */
  seq: number;
}

/**
 * The durable state in a retained status of `device`, or why there is none to resume: anything not
 * exactly of the expected shape is refused, never partly trusted.
 */
export function parseDurableState(device: string, raw: unknown): { ok: true; state: DurableState } | { ok: false; reason: string } {
  if (!isRecord(raw)) return no('not a JSON object');
  if (raw.device !== device) return no('the status names another device');
  if (raw.state !== 'playing' && raw.state !== 'paused' && raw.state !== 'resuming' && raw.state !== 'reconnecting') return no(`state ${String(raw.state).slice(0, 20)}: nothing to resume`);
  const room = raw.room;
  if (typeof room !== 'string' || roomNameProblem(room)) return no('no usable room');
  const song = raw.song;
  if (!isRecord(song) || !isId(song.id)) return no('no usable song id');
  const position = raw.position_ms;
  if (typeof position !== 'number' || !Number.isFinite(position) || position < 0) return no('no usable position');
  const takenAt = Date.parse(typeof raw.position_at === 'string' ? raw.position_at : String(raw.updated_at));
  if (!Number.isFinite(takenAt)) return no('no usable time');
  const volume = raw.volume;
  if (typeof volume !== 'number' || !Number.isInteger(volume) || volume < 0 || volume > 100) return no('no usable volume');
  const seq = typeof raw.seq === 'number' && Number.isSafeInteger(raw.seq) && raw.seq >= 0 ? raw.seq : 0;
  const instance = typeof raw.instance === 'string' && raw.instance.length <= MAX_QUERY_FIELD ? raw.instance : null;
  return {
    ok: true,
    state: {
      device,
      room,
      // A status caught while reconnecting or resuming was playing (a pause shows as paused).
      state: raw.state === 'paused' ? 'paused' : 'playing',
      songId: song.id,
      positionMs: Math.floor(position),
      takenAt,
      queue: ids(raw.queue),
      history: ids(raw.history),
      volume,
      query: { language: queryField(raw.language), genre: queryField(raw.genre) },
      instance,
      seq,
      reason: typeof raw.reason === 'string' ? raw.reason.slice(0, 200) : null,
    },
  };
}

/**
 * The resume point of `state` in `catalog` (songs by id): the song must still exist; queue and
 * history ids that are gone are dropped; the position is bounded to the song (a position past its
 * end starts it again a second before the end rather than decoding nothing).
 */
export function resumePoint(state: DurableState, songsById: ReadonlyMap<string, Song>): ResumePoint | undefined {
  const song = songsById.get(state.songId);
  if (!song) return undefined;
  const known = (list: string[]) => list.map((id) => songsById.get(id)).filter((s): s is Song => s !== undefined);
  const end = song.durationMs;
  const positionMs = end !== undefined && end > 0 ? Math.min(state.positionMs, Math.max(0, end - 1000)) : state.positionMs;
  const query: SongQuery = {};
  if (state.query.language) query.language = state.query.language;
  if (state.query.genre) query.genre = state.query.genre;
  return { query, song, positionMs, upcoming: known(state.queue), history: known(state.history), volume: state.volume, paused: state.state === 'paused', seq: state.seq };
}

function ids(v: unknown): string[] {
  return Array.isArray(v) ? v.slice(0, RESUME_LIST_LIMIT).filter(isId) : [];
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID;
}

function queryField(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_QUERY_FIELD ? v : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function no(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
