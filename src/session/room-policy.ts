import { applyTemplate } from './room-resolver';

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
  /** For `member`: the identity a device joins its room with; {device} is the canonical id. */
  identityTemplate: string;
  /** The bot's own identity: never counts as a device. */
  botIdentity: string;
  members?: RoomMembers;
  /** The canonical device id an identity spells, if any (e.g. "AA:BB:CC:DD:EE:FF" → "aabbccddeeff"). */
  deviceOf: (identity: string) => string | undefined;
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

/** Why a room pattern is unusable, or undefined: {device} must be in it, delimited from `*`. */
export function roomPatternProblem(pattern: string): string | undefined {
  if (!pattern.includes('{device}')) return 'must contain {device}';
  // "*{device}" would let device "ab" claim the rooms of "xab" (and "{device}*" those of "abx").
  if (/\*\{device\}|\{device\}\*/.test(pattern)) return 'must not put * right next to {device} (use a delimiter such as "_")';
  return undefined;
}

/** A full-match RegExp for one device: every character literal except `*` and {device}. */
export function compileRoomPattern(pattern: string, device: string): RegExp {
  const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  // A MAC's hex digits mean the same in either case, and no other device id is 12 hex digits.
  const id = MAC_HEX.test(device) ? device.replace(/[a-f]/g, (c) => `[${c}${c.toUpperCase()}]`) : literal(device);
  const body = pattern
    .split('{device}')
    .map((part) => part.split('*').map(literal).join('[^]*'))
    .join(id);
  return new RegExp(`^${body}$`);
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
        return compileRoomPattern(this.o.pattern, device).test(room)
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
    const wanted = applyTemplate(this.o.identityTemplate, device);
    const isDevice = (identity: string) => identity !== this.o.botIdentity && (identity === wanted || this.o.deviceOf(identity) === device);
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
