import { RoomServiceClient } from 'livekit-server-sdk';
import { normaliseDeviceId } from '../mqtt/device-id';
import { applyTemplate, type RoomFinder } from '../session/room-resolver';

export interface RoomFinderOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  /** The identity devices join with; {device} is the canonical device id. */
  identityTemplate: string;
  /** The bot's own identity, never taken for a device. */
  botIdentity: string;
}

/**
 * Asks LiveKit's RoomService which room holds a participant with the device's identity. The
 * identity matches when it equals the template or is another spelling of the same MAC address.
 */
export class LiveKitRoomFinder implements RoomFinder {
  private readonly client: RoomServiceClient;

  constructor(private readonly o: RoomFinderOptions) {
    this.client = new RoomServiceClient(o.url.replace(/^ws(s?):\/\//, 'http$1://'), o.apiKey, o.apiSecret);
  }

  async findRoomOf(device: string): Promise<string | undefined> {
    const wanted = applyTemplate(this.o.identityTemplate, device);
    const rooms = await this.client.listRooms();
    // Newest room first: a device that reconnected may briefly appear in its old room too.
    rooms.sort((a, b) => Number(b.creationTime - a.creationTime));
    for (const room of rooms) {
      const participants = await this.client.listParticipants(room.name);
      const match = participants.some((p) => {
        if (p.identity === this.o.botIdentity) return false;
        if (p.identity === wanted) return true;
        const id = normaliseDeviceId(p.identity);
        return id.ok && id.id === device;
      });
      if (match) return room.name;
    }
    return undefined;
  }
}
