/** Commands the app can send. The first three are the original message shapes and must keep working verbatim. */
export type Command =
  | { type: 'start_continuous_music'; language?: string; genre?: string }
  | { type: 'stop_continuous_music' }
  | { type: 'skip_music' }
  | { type: 'previous_music' }
  | { type: 'pause_music' }
  | { type: 'resume_music' }
  | { type: 'set_volume'; volume: number }
  | { type: 'play_song'; query: string; language?: string }
  | { type: 'get_status' }
  | { type: 'enqueue_music'; query?: string; songId?: string; language?: string; position: 'next' | 'end' }
  | { type: 'get_queue'; limit: number }
  | { type: 'remove_from_queue'; index?: number; songId?: string }
  | { type: 'clear_queue' }
  | { type: 'set_repeat'; mode: 'off' | 'one' | 'all' }
  | { type: 'set_shuffle'; on: boolean }
  | { type: 'set_ducking'; on: boolean }
  | { type: 'seek_music'; positionMs: number };

/** Longest position a seek may name (a day), ms; the song's duration bounds it further. */
export const MAX_SEEK_MS = 86_400_000;

/** How many songs `get_queue` lists each way by default, and at most. */
export const QUEUE_LIST_DEFAULT = 10;
export const QUEUE_LIST_MAX = 25;
/** `remove_from_queue` indexes beyond this are refused as malformed (the queue is far shorter). */
export const MAX_QUEUE_INDEX = 1000;

/** A command plus the caller's correlation fields, echoed in the reply. */
export interface CommandEnvelope {
  command: Command;
  sessionId?: string;
  requestId?: string;
}
