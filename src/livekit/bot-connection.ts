import { DisconnectReason, Room, RoomEvent, TrackKind, type RoomOptions } from '@livekit/rtc-node';
import { rmsOf, SpeechDetector } from '../audio/speech-detector';
import { EventEmitter } from 'eventemitter3';
import { errorFields, type Logger } from '../ops/logger';
import { startTimings } from '../ops/start-timings';
import type { PublishingParticipant } from './music-track';
import { onlyRoomEventsFor } from './room-events';
import { openSpeechStream, SPEECH_STREAM, type LevelStream, type OpenLevelStream } from './speech-streams';
import { withTimeLimit } from '../ops/time-limit';
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

export type { LevelStream } from './speech-streams';

/** Frames of the others' audio the speech detection reads: 16 kHz mono, 10 ms each. */
const SPEECH_FRAME_MS = SPEECH_STREAM.frameSizeMs;
/** Audio tracks followed for speech at once (a phone and an agent, with room to spare); more are ignored. */
export const MAX_SPEECH_TRACKS = 4;



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
   * Report when other participants speak (`speaking`): the bot subscribes to their audio tracks and
   * measures the level of each (16 kHz mono) with a speech detector. LiveKit's own active-speaker
   * updates were measured too slow and unsteady for this (see docs/audio.md).
   */
  speakers?: boolean;
  /** Decodes a subscribed track; default rtc-node's AudioStream. */
  openLevelStream?: OpenLevelStream;
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
    speakers?: OpenLevelStream,
  ) {
    super();
    if (speakers) this.followSpeakers(speakers);
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
  /** Followed tracks by publication SID: their stream and whether their participant speaks. */
  private readonly voices = new Map<string, { stream: LevelStream; speaking: boolean }>();

  /** Subscribes to every audio track of the others (now and later) and reports when any of them speaks. */
  private followSpeakers(open: OpenLevelStream): void {
    const subscribe = (pub: RemotePublication) => {
      if (pub.kind === TrackKind.KIND_AUDIO) pub.setSubscribed(true);
    };
    for (const p of this.room.remoteParticipants.values?.() ?? []) for (const pub of p.trackPublications.values()) subscribe(pub);
    this.room.on(RoomEvent.TrackPublished, subscribe);
    this.room.on(RoomEvent.TrackSubscribed, (track: { kind?: TrackKind }, pub: { sid?: string }) => {
      const sid = pub.sid;
      if (this.left || track.kind !== TrackKind.KIND_AUDIO || !sid || this.voices.has(sid) || this.voices.size >= MAX_SPEECH_TRACKS) return;
      const voice = { stream: open(track), speaking: false };
      this.voices.set(sid, voice);
      void this.listen(sid, voice);
    });
    this.room.on(RoomEvent.TrackUnsubscribed, (_track: unknown, pub: { sid?: string }) => this.stopListening(pub.sid));
  }

  /** Reads one track's levels until it ends or is cancelled; never rejects. */
  private async listen(sid: string, voice: { stream: LevelStream; speaking: boolean }): Promise<void> {
    const detector = new SpeechDetector();
    try {
      for await (const frame of voice.stream) {
        const speaking = detector.feed(rmsOf(frame.data), SPEECH_FRAME_MS);
        if (speaking !== voice.speaking) {
          voice.speaking = speaking;
          this.speakingChanged();
        }
      }
    } catch {
      /* a stream that fails is as if the track went away */
    } finally {
      if (this.voices.get(sid) === voice) this.stopListening(sid);
    }
  }

  private stopListening(sid: string | undefined): void {
    const voice = sid === undefined ? undefined : this.voices.get(sid);
    if (!voice || !sid) return;
    this.voices.delete(sid);
    void voice.stream.cancel().catch(() => undefined);
    this.speakingChanged();
  }

  private speakingChanged(): void {
    const active = [...this.voices.values()].some((v) => v.speaking);
    if (this.left || active === this.othersSpeaking) return;
    this.othersSpeaking = active;
    this.emit('speaking', active);
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
    startTimings.mark(o.room, 'token');
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
    startTimings.mark(o.room, 'connected');
    return new BotConnection(room, room.localParticipant, leaveTimeoutMs, o.speakers ? (o.openLevelStream ?? openSpeechStream) : undefined);
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
    for (const sid of [...this.voices.keys()]) this.stopListening(sid);
    await withTimeLimit(this.room.disconnect(), this.leaveTimeoutMs, 'leaving the room');
  }
}

/** Leaves a room nobody listens to: no event reaches anyone, a failure or a hang is only logged. */
async function disconnectSilently(room: RtcRoom, ms: number, log: Logger | undefined): Promise<void> {
  room.removeAllListeners();
  await withTimeLimit(room.disconnect(), ms, 'leaving the room').catch((err: unknown) => log?.warn('could not leave a room given up on', errorFields(err)));
}
