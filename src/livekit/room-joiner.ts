import type { EventEmitter } from 'eventemitter3';
import type { PcmFormat } from '../audio/pcm-format';
import { errorFields, type Logger } from '../ops/logger';
import { startTimings } from '../ops/start-timings';
import { BotConnection, type BotConnectionEvents, type RtcRoom } from './bot-connection';
import { abortReason, type InFlightGauge, JoinSlots } from './join-slots';
import { type AudioOutputFactory, MusicTrack } from './music-track';
import { stopSdkLogForwarding } from './sdk-logs';

export interface RoomJoinerOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  identity: string;
  name: string;
  connectTimeoutMs: number;
  format: PcmFormat;
  queueMs: number;
  bitrate: number;
  /** Most joins in flight in this process; further joins wait for a slot. */
  maxJoinsInFlight: number;
  log: Logger;
  /** Told the number of joins in flight whenever it changes. */
  inFlight?: InFlightGauge;
  leaveTimeoutMs?: number;
  /** Report when the others speak (ducking): see JoinOptions.speakers. */
  speakers?: boolean;
  createRoom?: () => RtcRoom;
  createOutput?: AudioOutputFactory;
}

/** A room joined with the music track published: what a session plays into (its RoomLink port). */
export interface JoinedRoom extends Pick<EventEmitter<BotConnectionEvents>, 'on' | 'off'> {
  readonly track: MusicTrack;
  readonly otherParticipants: number;
  send(topic: string, message: Record<string, unknown>): Promise<void>;
  leave(): Promise<void>;
}

export type JoinRoom = (room: string, signal: AbortSignal) => Promise<JoinedRoom>;

/**
 * Joins rooms as the bot and publishes its music track, at most `maxJoinsInFlight` at a time (a
 * join waiting for a slot gives up as soon as its signal aborts). A track that cannot be published
 * leaves the room again: the caller gets either a room with music on it or an error, never half.
 */
export function createRoomJoiner(o: RoomJoinerOptions): JoinRoom {
  const slots = new JoinSlots(o.maxJoinsInFlight, o.inFlight);
  return async (room, signal) => {
    const release = await slots.acquire(signal);
    startTimings.mark(room, 'join_slot');
    const log = o.log.child({ room });
    try {
      log.debug('joining room', { joins_in_flight: slots.inFlight, joins_waiting: slots.queued });
      const connection = await BotConnection.join(
        {
          url: o.url,
          apiKey: o.apiKey,
          apiSecret: o.apiSecret,
          identity: o.identity,
          name: o.name,
          room,
          timeoutMs: o.connectTimeoutMs,
          leaveTimeoutMs: o.leaveTimeoutMs,
          log,
          speakers: o.speakers,
          createRoom: o.createRoom,
        },
        signal,
      );
      reportSdkLogForwarding(log);
      const track = new MusicTrack(connection.participant, { format: o.format, queueMs: o.queueMs, bitrate: o.bitrate, log, createOutput: o.createOutput });
      try {
        await track.publish();
        if (signal.aborted) throw abortReason(signal);
        startTimings.mark(room, 'published');
      } catch (err) {
        await track.unpublish();
        await connection.leave().catch((e: unknown) => log.warn('leaving the room after a failed publish failed', errorFields(e)));
        throw err;
      }
      return {
        track,
        on: connection.on.bind(connection),
        off: connection.off.bind(connection),
        get otherParticipants() {
          return connection.otherParticipants;
        },
        send: (topic, message) => connection.send(topic, message),
        leave: () => connection.leave(),
      };
    } finally {
      release();
    }
  };
}

let forwardingReported = false;

function reportSdkLogForwarding(log: Logger): void {
  const forwarding = stopSdkLogForwarding(); // rtc-node's client exists once a room connected
  if (forwardingReported) return;
  forwardingReported = true;
  if (forwarding === 'stopped') log.debug('LiveKit SDK log forwarding stopped');
  if (forwarding === 'unsupported') log.warn('could not stop the LiveKit SDK forwarding its log records; CPU use per room will be higher');
}
