import { DisconnectReason, Room, RoomEvent, TrackKind, type RoomOptions } from '@livekit/rtc-node';
import { EventEmitter } from 'eventemitter3';
import { errorFields, type Logger } from '../ops/logger';
import type { PublishingParticipant } from './music-track';
import { onlyRoomEventsFor } from './room-events';
import { withTimeLimit } from './time-limit';
import { abortReason } from './join-slots';
import { botToken } from './token';

/** The bot's local participant: what it publishes with (rtc-node's LocalParticipant fits). */
export interface BotParticipant extends PublishingParticipant {
  readonly identity?: string;
  publishData(data: Uint8Array, options: { reliable?: boolean; topic?: string }): Promise<void>;
}

/** The parts of rtc-node's Room the bot uses; the real Room fits, unit tests pass a fake. */
export interface RtcRoom {
  connect(url: string, token: string, opts?: RoomOptions): Promise<void>;
  disconnect(): Promise<void>;
  on(event: RoomEvent, listener: (...args: never[]) => void): unknown;
  removeAllListeners(): unknown;
  readonly localParticipant?: BotParticipant;
  readonly remoteParticipants: { readonly size: number; values?(): Iterable<{ readonly trackPublications: ReadonlyMap<string, RemotePublication> }> };
  readonly isConnected: boolean;
}

/** A remote track publication, as far as subscribing for speaker updates goes. */
export interface RemotePublication {
  readonly kind?: TrackKind;
  setSubscribed(subscribed: boolean): void;
}

/** A participant in an active-speaker update. */
interface SpeakerLike {
  readonly identity: string;
}

export interface JoinOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  identity: string;
  name: string;
  room: string;
  timeoutMs: number;
  /** Longest wait for a disconnect (leave, or a join given up on); default DEFAULT_LEAVE_TIMEOUT_MS. */
  leaveTimeoutMs?: number;
  log?: Logger;
  /**
   * Report when other participants speak (`speaking`). The bot then subscribes to their audio
   * tracks, because LiveKit sends speaker updates only about tracks one subscribes to, but opens no
   * AudioStream: nothing is decoded or read here.
   */
  speakers?: boolean;
  /** Makes the Room; default rtc-node's. */
  createRoom?: () => RtcRoom;
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
  /** Another participant started (true) or stopped (false) speaking; only with `speakers`. */
  speaking: (active: boolean) => void;
}

/** Disconnects after which the bot must not come back on its own. */
export const FINAL_REASONS: ReadonlySet<string> = new Set(['CLIENT_INITIATED', 'DUPLICATE_IDENTITY', 'PARTICIPANT_REMOVED', 'ROOM_DELETED', 'ROOM_CLOSED', 'USER_REJECTED']);

/** A disconnect that hangs (server gone, FFI stuck) must not hold a shutdown or a rejoin. */
export const DEFAULT_LEAVE_TIMEOUT_MS = 3000;

/** Joins given up on (timed out, aborted) whose connect has not completed yet, by room: each still has an owner. */
const abandoned = new Map<string, Set<Promise<void>>>();

function abandon(room: string, settled: Promise<void>): void {
  const pending = abandoned.get(room) ?? new Set();
  abandoned.set(room, pending.add(settled));
  void settled.finally(() => {
    pending.delete(settled);
    if (pending.size === 0 && abandoned.get(room) === pending) abandoned.delete(room);
  });
}

/** Joins given up on whose connect is still running (their rooms are left when it completes). */
export function abandonedJoins(): number {
  let n = 0;
  for (const pending of abandoned.values()) n += pending.size;
  return n;
}

/** Waits (at most `ms`) until every join given up on has completed and been left; for shutdown. */
export async function settleAbandonedJoins(ms: number): Promise<void> {
  const all = [...abandoned.values()].flatMap((pending) => [...pending]);
  if (all.length === 0) return;
  await withTimeLimit(Promise.all(all), ms, 'leaving abandoned joins').then(
    () => undefined,
    () => undefined,
  );
}

/**
 * Waits, at most `ms` and no longer than `signal` allows, for earlier joins of `room` given up on:
 * one that connected after a fresh join would take the bot identity from it (DUPLICATE_IDENTITY,
 * which ends the session), so a fresh join goes in only once the earlier one is out.
 */
async function afterAbandonedJoinsOf(room: string, ms: number, signal: AbortSignal, log: Logger | undefined): Promise<void> {
  const pending = abandoned.get(room);
  if (!pending || pending.size === 0) return;
  log?.debug('waiting for an earlier join of this room, given up on, to finish', { room, pending: pending.size });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([withTimeLimit(Promise.all([...pending]), ms, 'waiting for an earlier join').catch(() => log?.warn('an earlier join of this room, given up on, is still running; joining anyway', { room })), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/** The bot's membership in one LiveKit room. */
export class BotConnection extends EventEmitter<BotConnectionEvents> {
  private left = false;

  private constructor(
    private readonly room: RtcRoom,
    readonly participant: BotParticipant,
    private readonly leaveTimeoutMs: number,
    speakers = false,
  ) {
    super();
    if (speakers) this.followSpeakers();
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
    const changed = () => {
      if (!this.left) this.emit('participantsChanged', this.otherParticipants);
    };
    room.on(RoomEvent.ParticipantConnected, changed);
    room.on(RoomEvent.ParticipantDisconnected, changed);
  }

  private othersSpeaking = false;

  /** Subscribes to every audio track of the others (now and later) and reports when they speak. */
  private followSpeakers(): void {
    const subscribe = (pub: RemotePublication) => {
      if (pub.kind === TrackKind.KIND_AUDIO) pub.setSubscribed(true);
    };
    for (const p of this.room.remoteParticipants.values?.() ?? []) for (const pub of p.trackPublications.values()) subscribe(pub);
    this.room.on(RoomEvent.TrackPublished, subscribe);
    const self = this.participant.identity;
    this.room.on(RoomEvent.ActiveSpeakersChanged, (speakers: SpeakerLike[]) => {
      // The bot's own music makes it a "speaker" too: only the others count.
      const active = speakers.some((s) => s.identity !== self);
      if (this.left || active === this.othersSpeaking) return;
      this.othersSpeaking = active;
      this.emit('speaking', active);
    });
  }

  /**
   * Joins the room. The timeout or an abort of `signal` rejects at once, but the connect keeps
   * running inside rtc-node, and `room.disconnect()` does nothing before it has produced a handle:
   * so the join stays owned here, and the room is left the moment the connect completes. Without
   * that the late connect would be a ghost bot that kicks the live one (DUPLICATE_IDENTITY).
   */
  static async join(o: JoinOptions, signal: AbortSignal): Promise<BotConnection> {
    if (signal.aborted) throw abortReason(signal);
    const leaveTimeoutMs = o.leaveTimeoutMs ?? DEFAULT_LEAVE_TIMEOUT_MS;
    // Twice the join timeout: by then a connect given up on has landed or failed, unless the FFI is
    // stuck, and then joining anyway is the lesser harm.
    await afterAbandonedJoinsOf(o.room, 2 * o.timeoutMs, signal, o.log);
    const token = await botToken({ ...o, subscribe: o.speakers === true });
    if (signal.aborted) throw abortReason(signal);
    const room = o.createRoom ? o.createRoom() : new Room();
    onlyRoomEventsFor(room);
    // Nothing is subscribed on its own; with `speakers` the audio tracks are, for speaker updates only.
    const connecting = room.connect(o.url, token, { autoSubscribe: false, dynacast: false });
    const givenUp = new Promise<Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error(`joining room "${o.room}" timed out after ${o.timeoutMs} ms`)), o.timeoutMs);
      const onAbort = () => resolve(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      // Whatever settles the race first, the timer and the listener go with it.
      void connecting.then(stop, stop);
      function stop() {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
    });
    const outcome = await Promise.race([connecting.then(() => undefined), givenUp]);
    if (outcome instanceof Error) {
      const ghost = connecting.then(
        async () => {
          o.log?.info('a join given up on completed; leaving that room', { room: o.room, reason: outcome.message });
          await disconnectSilently(room, leaveTimeoutMs, o.log);
        },
        () => undefined, // never connected: nothing to leave
      );
      abandon(o.room, ghost);
      throw outcome;
    }
    if (signal.aborted || !room.localParticipant) {
      await disconnectSilently(room, leaveTimeoutMs, o.log);
      throw signal.aborted ? abortReason(signal) : new Error('connected without a local participant');
    }
    return new BotConnection(room, room.localParticipant, leaveTimeoutMs, o.speakers === true);
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

  /** Leaves the room, waiting at most the leave timeout; from the first call on, no event is emitted. */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.room.removeAllListeners();
    await withTimeLimit(this.room.disconnect(), this.leaveTimeoutMs, 'leaving the room');
  }
}

/** Leaves a room nobody listens to: no event reaches anyone, a failure or a hang is only logged. */
async function disconnectSilently(room: RtcRoom, ms: number, log: Logger | undefined): Promise<void> {
  room.removeAllListeners();
  await withTimeLimit(room.disconnect(), ms, 'leaving the room').catch((err: unknown) => log?.warn('could not leave a room given up on', errorFields(err)));
}
