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

/** The bound was hit: what the caller awaited did not settle in time. */
export class TimeoutError extends Error {}

/**
 * Settles like `p`, or rejects with TimeoutError after `ms`. A late rejection of `p` is swallowed
 * (nobody awaits it any more; it must not become an unhandled rejection).
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms);
  });
  p.catch(() => undefined);
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Awaits `p` for at most `ms`, never throws: a failure or a timeout is logged through `warn`
 * (teardown goes on either way). Resolves true when `p` settled well in time.
 */
export async function settleWithin(p: Promise<unknown>, ms: number, what: string, warn: (msg: string, fields: Record<string, unknown>) => void): Promise<boolean> {
  try {
    await within(p, ms, what);
    return true;
  } catch (err) {
    if (err instanceof TimeoutError) warn('teardown step timed out; going on', { step: what, bound_ms: ms });
    else warn(`${what} failed`, { error: err instanceof Error ? err.message : String(err) });
    return false;
  }
}
