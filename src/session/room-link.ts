import type { EventEmitter } from 'eventemitter3';
import type { BotConnectionEvents } from '../livekit/bot-connection';
import type { AudioSink } from '../player/types';

/** What a session needs of its room: a published music track and a data channel. */
export interface RoomLink extends Pick<EventEmitter<BotConnectionEvents>, 'on' | 'off'> {
  readonly track: AudioSink & { unpublish(): Promise<void> };
  readonly otherParticipants: number;
  send(topic: string, message: Record<string, unknown>): Promise<void>;
  leave(): Promise<void>;
}

export type RoomJoiner = (room: string) => Promise<RoomLink>;
