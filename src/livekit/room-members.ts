import { RoomServiceClient, ServerError } from 'livekit-server-sdk';

export interface RoomMembersOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  /** Give up on LiveKit's answer after this long, ms. */
  timeoutMs?: number;
}

/**
 * Who is in a room now, from LiveKit's RoomService (for the `member` room policy). Implements the
 * session layer's RoomMembers port structurally; imports nothing of it.
 */
export class LiveKitRoomMembers {
  private readonly client: RoomServiceClient;

  constructor(o: RoomMembersOptions) {
    const requestTimeout = Math.max(1, Math.ceil((o.timeoutMs ?? 5000) / 1000));
    this.client = new RoomServiceClient(o.url.replace(/^ws(s?):\/\//, 'http$1://'), o.apiKey, o.apiSecret, { requestTimeout });
  }

  /** The identities of the room's participants; undefined when there is no such room. */
  async identitiesIn(room: string): Promise<string[] | undefined> {
    try {
      return (await this.client.listParticipants(room)).map((p) => p.identity);
    } catch (err) {
      if (err instanceof ServerError && (err.status === 404 || err.code === 'not_found')) return undefined;
      throw err;
    }
  }
}
