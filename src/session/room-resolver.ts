export type RoomStrategy = 'session_id' | 'template' | 'discover';

/** Finds the room a device is in (the discover strategy); implemented over LiveKit's RoomService. */
export interface RoomFinder {
  findRoomOf(device: string): Promise<string | undefined>;
}

export interface RoomResolverOptions {
  strategy: RoomStrategy;
  template: string;
  finder?: RoomFinder;
}

/** The device is in no room, so the discover strategy has nowhere to play. */
export class RoomNotFoundError extends Error {}

/**
 * Which LiveKit room a device's music goes to:
 * - `session_id` (default): the command's session_id is the room name, as in the deployments this
 *   replaces; without one, the template;
 * - `template`: always the template over the device id, e.g. "{device}" or "music-{device}";
 * - `discover`: the room in which a participant with the device's identity is present now.
 */
export class RoomResolver {
  constructor(private readonly o: RoomResolverOptions) {}

  async resolve(device: string, sessionId: string | undefined): Promise<string> {
    switch (this.o.strategy) {
      case 'session_id':
        return sessionId ?? applyTemplate(this.o.template, device);
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
}

export function applyTemplate(template: string, device: string): string {
  return template.split('{device}').join(device);
}
