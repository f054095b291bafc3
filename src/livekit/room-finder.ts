import { RoomServiceClient } from 'livekit-server-sdk';

export interface RoomFinderOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  /** True when a participant identity is the device's (the caller knows how devices are named). */
  isDeviceIdentity: (identity: string, device: string) => boolean;
  /** The bot's own identity, never taken for a device. */
  botIdentity: string;
}

/**
 * Asks LiveKit's RoomService which room holds a participant with the device's identity. Fits the
 * session layer's RoomFinder port structurally; which identities belong to a device is the
 * caller's rule (`isDeviceIdentity`), so this layer knows nothing of device ids.
 */
export class LiveKitRoomFinder {
  private readonly client: RoomServiceClient;

  constructor(private readonly o: RoomFinderOptions) {
    this.client = new RoomServiceClient(o.url.replace(/^ws(s?):\/\//, 'http$1://'), o.apiKey, o.apiSecret);
  }

  async findRoomOf(device: string): Promise<string | undefined> {
    const rooms = await this.client.listRooms();
    // Newest room first: a device that reconnected may briefly appear in its old room too.
    rooms.sort((a, b) => Number(b.creationTime - a.creationTime));
    for (const room of rooms) {
      const participants = await this.client.listParticipants(room.name);
      const match = participants.some((p) => p.identity !== this.o.botIdentity && this.o.isDeviceIdentity(p.identity, device));
      if (match) return room.name;
    }
    return undefined;
  }
}
