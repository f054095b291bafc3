import { AudioFrame, AudioSource, LocalAudioTrack, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import type { PcmFormat } from '../audio/pcm-format';
import { errorFields, type Logger } from '../ops/logger';
import { withTimeLimit } from '../ops/time-limit';

/** The parts of rtc-node's AudioSource used here. */
export interface AudioSourceLike {
  captureFrame(frame: AudioFrame): Promise<void>;
  clearQueue(): void;
  readonly queuedDuration: number;
  waitForPlayout(): Promise<void>;
  close(): Promise<void>;
}

/** The parts of rtc-node's LocalAudioTrack used here. */
export interface AudioTrackLike {
  close(closeSource?: boolean): Promise<void>;
}

/** What the track is published with (rtc-node's LocalParticipant fits). */
export interface PublishingParticipant {
  publishTrack(track: AudioTrackLike, options: TrackPublishOptions): Promise<{ readonly sid?: string }>;
  unpublishTrack(sid: string): Promise<void>;
  readonly trackPublications: ReadonlyMap<string, { readonly sid?: string; readonly name?: string; readonly track?: unknown }>;
}

/** A fresh source and the track over it; default rtc-node's AudioSource and LocalAudioTrack. */
export type AudioOutputFactory = (format: PcmFormat, queueMs: number, name: string) => { source: AudioSourceLike; track: AudioTrackLike };

export interface MusicTrackOptions {
  format: PcmFormat;
  queueMs: number;
  bitrate: number;
  log?: Logger;
  /** Longest wait for a publish, unpublish or close (ms); default 5000. */
  timeoutMs?: number;
  createOutput?: AudioOutputFactory;
}

/** The bot publishes one audio track, under this name; anything else of that name is a leftover. */
export const MUSIC_TRACK_NAME = 'music';

const rtcOutput: AudioOutputFactory = (format, queueMs, name) => {
  // queueMs is validated to be a multiple of 10 ms; anything else aborts the native side.
  const source = new AudioSource(format.sampleRate, format.channels, queueMs);
  return { source, track: LocalAudioTrack.createAudioTrack(name, source) };
};

/**
 * The bot's one published audio track. `capture` must be awaited before the next call: the
 * awaited loop is the real-time pacing, and rtc-node rejects overlapping captures. Every call into
 * rtc-node is bounded in time: a stalled native call fails here instead of freezing the room.
 */
export class MusicTrack {
  private source: AudioSourceLike | undefined;
  private track: AudioTrackLike | undefined;
  private sid: string | undefined;
  private readonly timeoutMs: number;
  /** A capture normally returns as soon as the frame is queued, at worst after a queue's length. */
  private readonly captureTimeoutMs: number;

  constructor(private readonly participant: PublishingParticipant, private readonly opts: MusicTrackOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.captureTimeoutMs = opts.queueMs + 2000;
  }

  /** Publishes a fresh source and track; on failure both are closed and nothing stays published. */
  async publish(): Promise<void> {
    const { format, queueMs, bitrate } = this.opts;
    const { source, track } = (this.opts.createOutput ?? rtcOutput)(format, queueMs, MUSIC_TRACK_NAME);
    const options = new TrackPublishOptions({
      source: TrackSource.SOURCE_MICROPHONE,
      // Music is never silent long enough for DTX to help, and DTX's comfort noise ruins fades.
      dtx: false,
      red: true,
      audioEncoding: { maxBitrate: BigInt(bitrate) },
    });
    const publishing = this.participant.publishTrack(track, options);
    try {
      const publication = await withTimeLimit(publishing, this.timeoutMs, 'publishing the music track');
      [this.source, this.track, this.sid] = [source, track, publication.sid];
    } catch (err) {
      // A publish that completes after we gave up would leave a track nobody feeds: take it down.
      void publishing.then(
        (late) => (late.sid ? this.unpublishSid(late.sid) : undefined),
        () => undefined,
      );
      await this.close(track, source);
      throw err;
    }
  }

  async capture(samples: Int16Array): Promise<void> {
    const source = this.source;
    if (!source) throw new Error('music track is not published');
    const { sampleRate, channels } = this.opts.format;
    // rtc-node's AudioFrame reads from the start of the underlying buffer, whatever the view's
    // byteOffset: a view into a larger buffer would send the wrong samples. Always a fresh copy.
    const fresh = samples.slice();
    await withTimeLimit(source.captureFrame(new AudioFrame(fresh, sampleRate, channels, fresh.length / channels)), this.captureTimeoutMs, 'capturing a frame');
  }

  get queuedMs(): number {
    return this.source?.queuedDuration ?? 0;
  }

  /** Drops queued audio at once. */
  clear(): void {
    this.source?.clearQueue();
  }

  /** Resolves when the queue has played out (bounded, in case the source is gone). */
  async drain(): Promise<void> {
    const source = this.source;
    if (!source) return;
    await withTimeLimit(source.waitForPlayout(), this.opts.queueMs + 500, 'draining').catch(() => undefined);
  }

  /** Rebuilds source and track after a failed capture; the room keeps its other state. */
  async republish(): Promise<void> {
    await this.unpublish();
    await this.publish();
  }

  /**
   * Takes the track down: by the SID it was published under, then by whatever publication still
   * carries it or its name. After the SDK's own full reconnect the track is published again under
   * a new SID, so the one held here can be stale; without the sweep a rebuild would leave the dead
   * track published beside the new one.
   */
  async unpublish(): Promise<void> {
    const { sid, track, source } = this;
    this.sid = this.track = this.source = undefined;
    const tried = new Set<string>();
    if (sid) {
      tried.add(sid);
      await this.unpublishSid(sid);
    }
    for (const pub of [...this.participant.trackPublications.values()]) {
      const ours = (track !== undefined && pub.track === track) || pub.name === MUSIC_TRACK_NAME;
      if (!ours || !pub.sid || tried.has(pub.sid)) continue;
      tried.add(pub.sid);
      this.opts.log?.info('unpublishing a leftover music track', { sid: pub.sid });
      await this.unpublishSid(pub.sid);
    }
    await this.close(track, source);
  }

  private async unpublishSid(sid: string): Promise<void> {
    await withTimeLimit(this.participant.unpublishTrack(sid), this.timeoutMs, 'unpublishing the music track').catch((err: unknown) =>
      this.opts.log?.warn('unpublishing the music track failed', { sid, ...errorFields(err) }),
    );
  }

  private async close(track: AudioTrackLike | undefined, source: AudioSourceLike | undefined): Promise<void> {
    const closing = async (what: string, work: Promise<void> | undefined) => {
      if (!work) return;
      await withTimeLimit(work, this.timeoutMs, what).catch((err: unknown) => this.opts.log?.warn(`${what} failed`, errorFields(err)));
    };
    await closing('closing the music track', track?.close(false));
    await closing('closing the audio source', source?.close());
  }
}
