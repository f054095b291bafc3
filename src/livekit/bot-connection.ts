import { DisconnectReason, type LocalParticipant, Room, RoomEvent } from '@livekit/rtc-node';
import { EventEmitter } from 'eventemitter3';
import { onlyRoomEventsFor } from './room-events';
import { botToken } from './token';

export interface JoinOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  identity: string;
  name: string;
  room: string;
  timeoutMs: number;
}

export interface BotConnectionEvents {
  /**
   * The bot is out of the room. `recoverable` is false when rejoining would be wrong (room deleted
   * or closed, bot removed, another participant took the identity), true when the server or the
   * network went away and a fresh join may work.
   */
  disconnected: (reason: string, recoverable: boolean) => void;
  /** The SDK lost the signalling connection and is trying to resume it in place. */
  reconnecting: () => void;
  /** The SDK's own reconnect worked; the track is published again. */
  reconnected: () => void;
  /** Participants other than the bot joined or left. */
  participantsChanged: (others: number) => void;
}

/** Disconnects after which the bot must not come back on its own. */
const FINAL_REASONS = new Set(['CLIENT_INITIATED', 'DUPLICATE_IDENTITY', 'PARTICIPANT_REMOVED', 'ROOM_DELETED', 'ROOM_CLOSED', 'USER_REJECTED']);

/** The bot's membership in one LiveKit room. */
export class BotConnection extends EventEmitter<BotConnectionEvents> {
  private left = false;

  private constructor(private readonly room: Room, readonly participant: LocalParticipant) {
    super();
    room.on(RoomEvent.Disconnected, (reason: DisconnectReason) => {
      if (this.left) return;
      const name = DisconnectReason[reason] ?? String(reason);
      this.emit('disconnected', name, !FINAL_REASONS.has(name));
    });
    // Reported at once so the status says "reconnecting" while the SDK retries, which can take
    // tens of seconds before it gives up with a Disconnected.
    room.on(RoomEvent.Reconnecting, () => {
      if (!this.left) this.emit('reconnecting');
    });
    room.on(RoomEvent.Reconnected, () => {
      if (!this.left) this.emit('reconnected');
    });
    const changed = () => this.emit('participantsChanged', this.otherParticipants);
    room.on(RoomEvent.ParticipantConnected, changed);
    room.on(RoomEvent.ParticipantDisconnected, changed);
  }

  static async join(o: JoinOptions): Promise<BotConnection> {
    const token = await botToken(o);
    const room = new Room();
    onlyRoomEventsFor(room);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`joining room "${o.room}" timed out after ${o.timeoutMs} ms`)), o.timeoutMs);
    });
    try {
      // The bot publishes only; it never subscribes to the other participants' audio.
      await Promise.race([room.connect(o.url, token, { autoSubscribe: false, dynacast: false }), timeout]);
    } catch (err) {
      await room.disconnect().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (!room.localParticipant) throw new Error('connected without a local participant');
    return new BotConnection(room, room.localParticipant);
  }

  get otherParticipants(): number {
    return this.room.remoteParticipants.size;
  }

  get connected(): boolean {
    return this.room.isConnected;
  }

  /** A reliable data message to everyone in the room. */
  async send(topic: string, message: Record<string, unknown>): Promise<void> {
    await this.participant.publishData(new TextEncoder().encode(JSON.stringify(message)), { reliable: true, topic });
  }

  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    await this.room.disconnect();
    this.room.removeAllListeners();
  }
}
