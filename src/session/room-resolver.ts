import type { RoomPolicy } from './room-policy';

export type RoomStrategy = 'session_id' | 'template' | 'discover';

/** Finds the room a device is in (the discover strategy); implemented over LiveKit's RoomService. */
export interface RoomFinder {
  findRoomOf(device: string): Promise<string | undefined>;
}

export interface RoomResolverOptions {
  strategy: RoomStrategy;
  template: string;
  finder?: RoomFinder;
  /** Decides whether a room the command named may be used; without one, every room may. */
  policy?: RoomPolicy;
}

/** The device is in no room, so the discover strategy has nowhere to play. */
export class RoomNotFoundError extends Error {}

/** The room the command named is refused: not the device's (`room_not_allowed`) or not a usable name (`invalid_field`). */
export class RoomRefusedError extends Error {
  constructor(
    readonly code: 'room_not_allowed' | 'invalid_field',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Which LiveKit room a device's music goes to:
 * - `session_id` (default): the command's session_id is the room name, as in the deployments this
 *   replaces; without one, the template;
 * - `template`: always the template over the device id, e.g. "{device}" or "music-{device}";
 * - `discover`: the room in which a participant with the device's identity is present now.
 * Only a room the command names goes through the room policy: the template and discover rooms are
 * the device's own by construction.
 */
export class RoomResolver {
  constructor(private readonly o: RoomResolverOptions) {}

  async resolve(device: string, sessionId: string | undefined): Promise<string> {
    switch (this.o.strategy) {
      case 'session_id':
        return sessionId === undefined ? applyTemplate(this.o.template, device) : this.allowed(device, sessionId);
      case 'template':
        return applyTemplate(this.o.template, device);
      case 'discover': {
        if (!this.o.finder) throw new Error('the discover strategy needs a room finder');
        const room = await this.o.finder.findRoomOf(device);
        if (!room) throw new RoomNotFoundError(`device ${device} is in no LiveKit room`);
        return room;
      }
    }
  }

  private async allowed(device: string, room: string): Promise<string> {
    const verdict = (await this.o.policy?.check(device, room)) ?? { ok: true };
    if (!verdict.ok) throw new RoomRefusedError(verdict.code, verdict.message);
    return room;
  }
}

export function applyTemplate(template: string, device: string): string {
  return template.split('{device}').join(device);
}
