import type { Catalog } from '../catalog/catalog';
import type { Song } from '../catalog/song';
import { errorFields, type Logger } from '../ops/logger';
import type { CommandResult, SessionRegistry } from './registry';
import type { RoomMembers, RoomVerdict } from './room-policy';
import { parseDurableState, resumePoint, type DurableState } from './session-state';

export interface ResumeOptions {
  /** This bridge instance (bridge.instanceId). */
  instance: string;
  /** A state whose position is older than this is not resumed, ms. */
  maxAgeMs: number;
  catalog: () => Catalog;
  /** Who is in a room now (LiveKit RoomService): the room must exist and hold someone but the bot. */
  members: RoomMembers;
  botIdentity: string;
  /** The room policy a start would pass (a retained status is input like a command). */
  policy?: { check(device: string, room: string): Promise<RoomVerdict> };
  /**
   * Whether the instance named as a state's owner is gone, so this one may take the state over.
   * A state owned by this instance (or by none) is always this one's to resume.
   */
  ownerGone: (instance: string) => boolean;
  /** Of the states whose owner is gone, whether this instance is the one to take `device` (rendezvous); default all. */
  mine?: (device: string) => boolean;
  log: Logger;
  now?: () => number;
}

/** What start-up resume did, per device. */
export interface ResumeReport {
  resumed: string[];
  /** device → why its saved session was ended instead. */
  ended: Record<string, string>;
  /** Devices whose state belongs to a live instance: left alone. */
  skipped: string[];
}

/**
 * Resumes the sessions a previous run left playing or paused (their retained statuses, `saved`:
 * device → raw JSON). Every resume is enqueued in its device's queue at once, before the caller
 * lets commands in, so a command the device sent while the bridge was away runs after the resume
 * (a stop sent meanwhile wins). Resolves when every resume has been answered.
 */
export async function resumeSessions(registry: SessionRegistry, saved: ReadonlyMap<string, unknown>, o: ResumeOptions): Promise<ResumeReport> {
  const now = o.now ?? Date.now;
  const report: ResumeReport = { resumed: [], ended: {}, skipped: [] };
  let songsById: Map<string, Song> | undefined;
  const pending: Array<Promise<void>> = [];
  for (const [device, raw] of saved) {
    const parsed = parseDurableState(device, raw);
    if (!parsed.ok) continue; // idle, error, or not a status: nothing to resume
    const state = parsed.state;
    const other = state.instance !== null && state.instance !== o.instance;
    if ((other && !o.ownerGone(state.instance!)) || (state.instance !== o.instance && o.mine && !o.mine(device))) {
      report.skipped.push(device);
      continue;
    }
    const age = now() - state.takenAt;
    songsById ??= new Map(o.catalog().all().map((s) => [s.id, s]));
    const point = resumePoint(state, songsById);
    const refusal = age > o.maxAgeMs ? `the saved state is ${Math.round(age / 1000)} s old (sessions.resumeMaxAgeSeconds)` : point ? undefined : `song ${state.songId} is no longer in the catalog`;
    const outcome = registry.resume(device, state.room, point ?? fallbackPoint(state), refusal ? () => Promise.resolve(refusal) : () => roomProblem(device, state, o));
    pending.push(
      outcome.then(
        (r: CommandResult) => {
          if (r.ok) report.resumed.push(device);
          else report.ended[device] = r.message;
        },
        (err: unknown) => {
          report.ended[device] = errorFields(err).error;
          o.log.error('resume failed', { device, ...errorFields(err) });
        },
      ),
    );
  }
  await Promise.all(pending);
  o.log.info('sessions resumed', { resumed: report.resumed.length, ended: Object.keys(report.ended).length, skipped: report.skipped.length });
  for (const [device, reason] of Object.entries(report.ended)) o.log.info('saved session not resumed', { device, reason });
  return report;
}

/** Why the saved room must not be rejoined, or undefined: it must exist, hold a listener, and pass the policy. */
async function roomProblem(device: string, state: DurableState, o: ResumeOptions): Promise<string | undefined> {
  let identities: string[] | undefined;
  try {
    identities = await o.members.identitiesIn(state.room);
  } catch (err) {
    o.log.warn('could not ask LiveKit who is in the room to resume', { device, room: state.room, ...errorFields(err) });
    return `could not check room "${state.room}" (LiveKit did not answer)`;
  }
  if (identities === undefined) return `room "${state.room}" no longer exists`;
  if (!identities.some((id) => id !== o.botIdentity)) return `nobody is in room "${state.room}"`;
  const verdict = (await o.policy?.check(device, state.room)) ?? { ok: true };
  return verdict.ok ? undefined : verdict.message;
}

/** A refused resume still goes through the device's queue; this point is never played. */
function fallbackPoint(state: DurableState) {
  return { query: state.query, song: { id: state.songId, title: '', aliases: [], language: '', genres: [], url: '' }, positionMs: 0, upcoming: [], history: [], volume: state.volume, paused: false, seq: state.seq };
}
