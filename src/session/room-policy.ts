import { roomPatternProblem } from '../config/schema';

/**
 * Which rooms a device may name (livekit.roomPolicy):
 * - `member`: the device is a participant of the room right now (LiveKit RoomService);
 * - `pattern`: the room name matches livekit.roomPattern, where {device} is the device's own id;
 * - `any`: every room (local development only).
 */
export type RoomPolicyName = 'member' | 'pattern' | 'any';

/** Who is in a room now, asked of LiveKit; undefined when the room does not exist. */
export interface RoomMembers {
  identitiesIn(room: string): Promise<string[] | undefined>;
}

export interface RoomPolicyOptions {
  policy: RoomPolicyName;
  /** For `pattern`: e.g. "*_{device}_*" (`*` any run of characters, {device} the canonical id). */
  pattern: string;
  /**
   * For `member`: whether a participant identity is the device's (livekit.deviceIdentityTemplate,
   * or another spelling of the same MAC); the same rule the room finder uses.
   */
  isDeviceIdentity: (identity: string, device: string) => boolean;
  /** The bot's own identity: never counts as a device. */
  botIdentity: string;
  members?: RoomMembers;
  /** How long a "yes, a member" answer is reused, ms; refusals are never cached. */
  cacheMs?: number;
  /** Most (device, room) answers kept. */
  cacheSize?: number;
  now?: () => number;
}

export type RoomVerdict = { ok: true } | { ok: false; code: 'room_not_allowed' | 'invalid_field'; message: string };

/** Longest room name accepted (LiveKit accepts longer; nothing legitimate needs them). */
export const MAX_ROOM_NAME = 128;
// C0 and C1 controls, DEL, lone surrogates, and the Unicode line/paragraph separators.
const BAD_ROOM_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MAC_HEX = /^[0-9a-f]{12}$/;

/** Why a room name is unusable, or undefined. */
export function roomNameProblem(room: string): string | undefined {
  if (room.length === 0) return 'the room name is empty';
  if (room.length > MAX_ROOM_NAME) return `the room name is longer than ${MAX_ROOM_NAME} characters`;
  if (BAD_ROOM_CHARS.test(room)) return 'the room name contains control characters';
  return undefined;
}

/** One character of a pattern: either exact, or (a MAC's hex digit) the same letter in either case. */
type PatternChar = string | [string, string];

/**
 * Whether `room` matches `pattern` for `device`: `*` is any run of characters, {device} the device's
 * id, everything else literal, the whole name must match. No RegExp: each literal run between stars
 * is found leftmost in turn (which is exact for `*`-only globs), so a hostile name costs at most
 * O(name × pattern), whatever the pattern's stars.
 */
export function matchesRoomPattern(pattern: string, device: string, room: string): boolean {
  // A MAC's hex digits mean the same in either case, and no other device id is 12 hex digits.
  // UTF-16 code units throughout, as `room[i]` reads them.
  const id: PatternChar[] = MAC_HEX.test(device) ? device.split('').map((c) => [c, c.toUpperCase()] as [string, string]) : device.split('');
  const runs = pattern.split('*').map((run) => run.split('{device}').flatMap((lit, i): PatternChar[] => (i === 0 ? lit.split('') : [...id, ...lit.split('')])));
  const at = (run: PatternChar[], pos: number) => pos + run.length <= room.length && run.every((c, k) => (typeof c === 'string' ? room[pos + k] === c : room[pos + k] === c[0] || room[pos + k] === c[1]));
  const first = runs[0]!;
  if (runs.length === 1) return first.length === room.length && at(first, 0);
  const last = runs[runs.length - 1]!;
  if (!at(first, 0) || first.length + last.length > room.length || !at(last, room.length - last.length)) return false;
  let pos = first.length;
  const end = room.length - last.length;
  for (const run of runs.slice(1, -1)) {
    while (pos + run.length <= end && !at(run, pos)) pos++;
    if (pos + run.length > end) return false;
    pos += run.length;
  }
  return true;
}

/**
 * Decides whether a device may play into a room its command named. The registry asks after
 * resolving the room; a refusal names the policy, never a secret.
 */
export class RoomPolicy {
  /** "device\nroom" → when the membership answer expires; Map order = least recently used first. */
  private readonly members = new Map<string, number>();
  private readonly cacheMs: number;
  private readonly cacheSize: number;
  private readonly now: () => number;

  constructor(private readonly o: RoomPolicyOptions) {
    if (o.policy === 'member' && !o.members) throw new Error('the member room policy needs a membership query');
    const problem = o.policy === 'pattern' ? roomPatternProblem(o.pattern) : undefined;
    if (problem) throw new Error(`livekit.roomPattern ${problem}`);
    this.cacheMs = o.cacheMs ?? 5000;
    this.cacheSize = o.cacheSize ?? 1000;
    this.now = o.now ?? Date.now;
  }

  get policy(): RoomPolicyName {
    return this.o.policy;
  }

  async check(device: string, room: string): Promise<RoomVerdict> {
    const problem = roomNameProblem(room);
    if (problem) return { ok: false, code: 'invalid_field', message: `session_id: ${problem}` };
    switch (this.o.policy) {
      case 'any':
        return { ok: true };
      case 'pattern':
        return matchesRoomPattern(this.o.pattern, device, room)
          ? { ok: true }
          : refuse(`room "${room}" is not one of device ${device}'s rooms (livekit.roomPolicy pattern: ${this.o.pattern})`);
      case 'member':
        return this.checkMember(device, room);
    }
  }

  private async checkMember(device: string, room: string): Promise<RoomVerdict> {
    const key = `${device}\n${room}`;
    const until = this.members.get(key);
    if (until !== undefined) {
      this.members.delete(key);
      if (until > this.now()) {
        this.members.set(key, until); // most recently used
        return { ok: true };
      }
    }
    let identities: string[] | undefined;
    try {
      identities = await this.o.members!.identitiesIn(room);
    } catch {
      // Fail closed: without an answer nobody is a member. The cause stays in the adapter's logs.
      return refuse(`could not check that device ${device} is a participant of room "${room}" (livekit.roomPolicy member): LiveKit did not answer`);
    }
    const isDevice = (identity: string) => identity !== this.o.botIdentity && this.o.isDeviceIdentity(identity, device);
    if (!identities?.some(isDevice)) {
      return refuse(`device ${device} is not a participant of room "${room}" (livekit.roomPolicy member)`);
    }
    this.members.set(key, this.now() + this.cacheMs);
    while (this.members.size > this.cacheSize) this.members.delete(this.members.keys().next().value!);
    return { ok: true };
  }
}

function refuse(message: string): RoomVerdict {
  return { ok: false, code: 'room_not_allowed', message };
}
