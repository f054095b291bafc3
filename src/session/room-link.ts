import type { EventEmitter } from 'eventemitter3';
import type { AudioSink } from '../player/types';

/** What a room tells its session (the LiveKit adapter in src/livekit implements this port). */
export interface RoomLinkEvents {
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
  /** Another participant started (true) or stopped (false) speaking (LiveKit's active speakers); sent only when asked for. */
  speaking: (active: boolean) => void;
}

/** What a session needs of its room: a published music track and a data channel. */
export interface RoomLink extends Pick<EventEmitter<RoomLinkEvents>, 'on' | 'off'> {
  readonly track: AudioSink & { unpublish(): Promise<void> };
  readonly otherParticipants: number;
  send(topic: string, message: Record<string, unknown>): Promise<void>;
  leave(): Promise<void>;
}

/**
 * Joins `room` and publishes the music track. An aborted `signal` rejects the join at once; the
 * implementation still owns the connection it started and leaves the room when it completes.
 */
export type RoomJoiner = (room: string, signal: AbortSignal) => Promise<RoomLink>;
