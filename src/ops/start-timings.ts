/**
 * Where a start's time goes. The start path crosses layers that must not import each
 * other (session → LiveKit joiner → player), so each marks its phase here, keyed by room, and the
 * session logs one `start timings` debug line per start with the milliseconds of each phase. A few
 * Map operations per start and one per song; nothing per frame.
 *
 * Phases, in order (each is the time since the previous mark that was made):
 * - `room_check`: from the command to the session's start: the room resolved and checked against
 *   the room policy (the member policy asks LiveKit who is in the room)
 * - `join_slot`: a join slot is free (joins beyond `livekit.maxJoinsInFlight` wait here)
 * - `token`: the join token is minted (includes waiting out a join given up on for the same room)
 * - `connected`: rtc-node's `room.connect` resolved: signalling, then ICE and DTLS. rtc-node 1.1
 *   gives no finer event (one FFI connect request, one callback), so they are one phase.
 * - `published`: the music track is published (the publisher's negotiation)
 * - `decoder`: the first song's decoder is spawned (ffmpeg) after the track is published; absent
 *   when it was spawned while the room was joined (every start does that unless opening it failed)
 * - `first_frame`: the first frame is captured into the track
 */
export const START_PHASES = ['room_check', 'join_slot', 'token', 'connected', 'published', 'decoder', 'first_frame'] as const;
export type StartPhase = (typeof START_PHASES)[number];

/** Starts timed at once at most; a start that never finishes (failed join) is dropped after STALE_MS. */
const MAX_OPEN = 2000;
const STALE_MS = 120_000;

interface OpenStart {
  t0: number;
  marks: Partial<Record<StartPhase, number>>;
}

export class StartTimings {
  private readonly open = new Map<string, OpenStart>();

  constructor(readonly now: () => number = () => performance.now()) {}

  /** A start of `room` begins, now or at `t0` (a previous unfinished one for the room is replaced). */
  begin(room: string, t0: number = this.now()): void {
    this.open.delete(room);
    // Bounded: the oldest entries (Map order) go first, stale or beyond MAX_OPEN.
    for (const [key, s] of this.open) {
      if (this.open.size < MAX_OPEN && t0 - s.t0 < STALE_MS) break;
      this.open.delete(key);
    }
    this.open.set(room, { t0, marks: {} });
  }

  /** Marks a phase of the start in progress for `room`; no start in progress, or marked already: nothing. */
  mark(room: string, phase: StartPhase): void {
    const s = this.open.get(room);
    if (s && s.marks[phase] === undefined) s.marks[phase] = this.now();
  }

  /** `fn`, marking `phase` of the start of `room` when it is called (e.g. the decoder factory). */
  marking<A extends unknown[], R>(room: string, phase: StartPhase, fn: (...args: A) => R): (...args: A) => R {
    return (...args) => {
      this.mark(room, phase);
      return fn(...args);
    };
  }

  /** Ends the start of `room` (marking `last` first): ms per phase marked (`<phase>_ms`) and `total_ms`, or undefined when none is in progress. */
  finish(room: string, last?: StartPhase): Record<string, number> | undefined {
    if (last) this.mark(room, last);
    const s = this.open.get(room);
    if (!s) return undefined;
    this.open.delete(room);
    const out: Record<string, number> = {};
    let prev = s.t0;
    for (const phase of START_PHASES) {
      const at = s.marks[phase];
      if (at === undefined) continue;
      out[`${phase}_ms`] = Math.round(at - prev);
      prev = at;
    }
    out.total_ms = Math.round(prev - s.t0);
    return out;
  }

  get inProgress(): number {
    return this.open.size;
  }
}

/** The process's start timings, shared by the layers of the start path. */
export const startTimings = new StartTimings();
