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
  | { type: 'get_status' };

/** A command plus the caller's correlation fields, echoed in the reply. */
export interface CommandEnvelope {
  command: Command;
  sessionId?: string;
  requestId?: string;
}
