import { AudioFrame, AudioSource, LocalAudioTrack, type LocalParticipant, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import type { PcmFormat } from '../audio/pcm-format';

export interface MusicTrackOptions {
  format: PcmFormat;
  queueMs: number;
  bitrate: number;
}

/**
 * The bot's one published audio track. `capture` must be awaited before the next call: the
 * awaited loop is the real-time pacing, and rtc-node rejects overlapping captures.
 */
export class MusicTrack {
  private source: AudioSource | undefined;
  private track: LocalAudioTrack | undefined;
  private sid: string | undefined;

  constructor(private readonly participant: LocalParticipant, private readonly opts: MusicTrackOptions) {}

  async publish(): Promise<void> {
    const { format, queueMs, bitrate } = this.opts;
    // queueMs is validated to be a multiple of 10 ms; anything else aborts the native side.
    this.source = new AudioSource(format.sampleRate, format.channels, queueMs);
    this.track = LocalAudioTrack.createAudioTrack('music', this.source);
    const options = new TrackPublishOptions({
      source: TrackSource.SOURCE_MICROPHONE,
      // Music is never silent long enough for DTX to help, and DTX's comfort noise ruins fades.
      dtx: false,
      red: true,
      audioEncoding: { maxBitrate: BigInt(bitrate) },
    });
    const publication = await this.participant.publishTrack(this.track, options);
    this.sid = publication.sid;
  }

  async capture(samples: Int16Array): Promise<void> {
    const source = this.source;
    if (!source) throw new Error('music track is not published');
    const { sampleRate, channels } = this.opts.format;
    await source.captureFrame(new AudioFrame(samples, sampleRate, channels, samples.length / channels));
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
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.opts.queueMs + 500)));
    await Promise.race([source.waitForPlayout(), cap]).finally(() => clearTimeout(timer));
  }

  /** Rebuilds source and track after a failed capture; the room keeps its other state. */
  async republish(): Promise<void> {
    await this.unpublish();
    await this.publish();
  }

  async unpublish(): Promise<void> {
    const { sid, track, source } = this;
    this.sid = this.track = this.source = undefined;
    if (sid) await this.participant.unpublishTrack(sid).catch(() => undefined);
    await track?.close(false).catch(() => undefined);
    await source?.close().catch(() => undefined);
  }
}
