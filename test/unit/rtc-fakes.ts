import { EventEmitter } from 'node:events';
import { type AudioFrame, DisconnectReason, RoomEvent } from '@livekit/rtc-node';
import type { BotParticipant, RemotePublication, RtcRoom } from '../../src/livekit/bot-connection';
import type { AudioOutputFactory, AudioSourceLike, AudioTrackLike } from '../../src/livekit/music-track';
import { deferred, type Deferred } from '../support/deferred';
export { deferred, type Deferred } from '../support/deferred';

/** Lets every queued promise callback run (no timers involved). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

interface Publication {
  sid?: string;
  name?: string;
  track?: unknown;
}

export class FakeParticipant implements BotParticipant {
  readonly identity = 'music-bridge';
  readonly trackPublications = new Map<string, Publication>();
  /** Each publishTrack call takes the next outcome; none left = publish at once with a new SID. */
  readonly publishOutcomes: Array<Deferred<{ sid?: string }>> = [];
  readonly unpublished: string[] = [];
  readonly data: Array<{ topic?: string; text: string }> = [];
  private nextSid = 1;

  async publishTrack(track: AudioTrackLike): Promise<{ sid?: string }> {
    const outcome = this.publishOutcomes.shift();
    const pub = outcome ? await outcome.promise : { sid: `TR_${this.nextSid++}` };
    if (pub.sid) this.trackPublications.set(pub.sid, { sid: pub.sid, name: 'music', track });
    return pub;
  }

  async unpublishTrack(sid: string): Promise<void> {
    this.unpublished.push(sid);
    // As rtc-node: the server answers for SIDs it does not know with an error, and the map keeps the entry.
    const key = [...this.trackPublications].find(([, pub]) => pub.sid === sid)?.[0];
    if (key === undefined) throw new Error(`track not found: ${sid}`);
    this.trackPublications.delete(key);
  }

  async publishData(data: Uint8Array, options: { topic?: string }): Promise<void> {
    this.data.push({ topic: options.topic, text: new TextDecoder().decode(data) });
  }

  /** The SDK's full reconnect: every publication now has a new SID (the object is updated in place). */
  sdkRepublished(): void {
    for (const pub of [...this.trackPublications.values()]) pub.sid = `TR_${this.nextSid++}`;
  }

  get published(): Publication[] {
    return [...this.trackPublications.values()];
  }
}

/**
 * rtc-node's Room as far as the bot sees it: `connect` completes when the test says, and like the
 * real one `disconnect` does nothing until the connect has produced a handle, and emits
 * Disconnected (CLIENT_INITIATED) to whoever still listens when it does disconnect.
 */
export class FakeRoom extends EventEmitter implements RtcRoom {
  readonly connecting = deferred();
  /** Set to make `disconnect` hang (or answer later). */
  disconnectGate: Deferred<void> | undefined;
  localParticipant: FakeParticipant | undefined;
  readonly remoteParticipants = new Map<string, { trackPublications: Map<string, RemotePublication> }>();
  private handle = false;
  /** Disconnects that reached the server (after a handle existed). */
  disconnects = 0;
  emitted: string[] = [];

  constructor(readonly participant = new FakeParticipant()) {
    super();
  }

  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (this.listenerCount(event) > 0) this.emitted.push(String(event));
    return super.emit(event, ...args);
  }

  get isConnected(): boolean {
    return this.handle;
  }

  /** The index i of the room the join token grants, for tests that name rooms room-<i>. */
  joinIndex = -1;

  async connect(_url: string, token: string): Promise<void> {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { video?: { room?: string } };
    this.joinIndex = Number(claims.video?.room?.replace(/^room-/, '') ?? -1);
    await this.connecting.promise;
    this.handle = true;
    this.localParticipant = this.participant;
  }

  async disconnect(): Promise<void> {
    if (!this.handle) return;
    if (this.disconnectGate) await this.disconnectGate.promise;
    this.handle = false;
    this.disconnects++;
    this.emit(RoomEvent.Disconnected, DisconnectReason.CLIENT_INITIATED);
  }
}

export class FakeSource implements AudioSourceLike {
  readonly frames: AudioFrame[] = [];
  closed = false;
  cleared = 0;
  /** Set to make the next captures hang until the test answers. */
  captureGate: Deferred<void> | undefined;
  queuedDuration = 0;

  async captureFrame(frame: AudioFrame): Promise<void> {
    this.frames.push(frame);
    if (this.captureGate) await this.captureGate.promise;
  }

  clearQueue(): void {
    this.cleared++;
  }

  async waitForPlayout(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

export class FakeTrack implements AudioTrackLike {
  closed = false;
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** An output factory that records every source and track it made. */
export function fakeOutputs(): { create: AudioOutputFactory; made: Array<{ source: FakeSource; track: FakeTrack }> } {
  const made: Array<{ source: FakeSource; track: FakeTrack }> = [];
  return {
    made,
    create: () => {
      const pair = { source: new FakeSource(), track: new FakeTrack() };
      made.push(pair);
      return pair;
    },
  };
}
