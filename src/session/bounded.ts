import { TimeLimitError, withTimeLimit } from '../ops/time-limit';

/**
 * Time bounds of every await on the way down (teardown), so a stalled native call, a dead data
 * channel or a server that never answers cannot hold a room, a device's command queue or the
 * shutdown. The sum for one session stays well under the daemon's 5 s shutdown deadline.
 */
export interface TeardownBounds {
  /** The player's fade-out and its decoders gone. */
  playerStopMs: number;
  /** One data message to the room (stopped notices). */
  messageMs: number;
  /** Unpublishing the music track. */
  unpublishMs: number;
  /** Leaving the room. */
  leaveMs: number;
  /** One frame handed to the track; longer is an output error (the player rebuilds the track). */
  captureMs: number;
}

export const TEARDOWN_BOUNDS: TeardownBounds = {
  playerStopMs: 1500,
  messageMs: 250,
  unpublishMs: 500,
  leaveMs: 1000,
  captureMs: 2000,
};

/** Longest a shutdown waits for every session to end (all in parallel). */
export const SHUTDOWN_SESSIONS_MS = 3000;

/**
 * Awaits `p` for at most `ms`, never throws: a failure or a timeout is logged through `warn`
 * (teardown goes on either way). Resolves true when `p` settled well in time.
 */
export async function settleWithin(p: Promise<unknown>, ms: number, what: string, warn: (msg: string, fields: Record<string, unknown>) => void): Promise<boolean> {
  try {
    await withTimeLimit(p, ms, what);
    return true;
  } catch (err) {
    if (err instanceof TimeLimitError) warn('teardown step timed out; going on', { step: what, bound_ms: ms });
    else warn(`${what} failed`, { error: err instanceof Error ? err.message : String(err) });
    return false;
  }
}
