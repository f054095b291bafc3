import { toDb } from './analysis';

export interface SpeechDetectorOptions {
  /** A frame louder than this (RMS, dBFS) is voice. */
  thresholdDb: number;
  /** Voice this long in a row starts speech, ms. */
  onsetMs: number;
  /** Quiet this long in a row ends it (bridges the gaps between words), ms. */
  hangoverMs: number;
}

/** Speech on a phone or an agent's track: well above a quiet room, and the pauses between words are short. */
export const SPEECH_DETECTION: SpeechDetectorOptions = { thresholdDb: -40, onsetMs: 20, hangoverMs: 500 };

/**
 * Says whether a participant speaks, from the level of each frame of their audio: speech starts
 * after `onsetMs` of frames above the threshold and ends after `hangoverMs` below it. Pure.
 */
export class SpeechDetector {
  private loudMs = 0;
  private quietMs = 0;
  private on = false;

  constructor(private readonly o: SpeechDetectorOptions = SPEECH_DETECTION) {}

  get speaking(): boolean {
    return this.on;
  }

  /** Feeds one frame: its RMS (0–1 of full scale) and length; returns whether the participant speaks. */
  feed(rms: number, ms: number): boolean {
    if (toDb(rms) > this.o.thresholdDb) {
      this.loudMs += ms;
      this.quietMs = 0;
      if (this.loudMs >= this.o.onsetMs) this.on = true;
    } else {
      this.quietMs += ms;
      this.loudMs = 0;
      if (this.quietMs >= this.o.hangoverMs) this.on = false;
    }
    return this.on;
  }
}

/** RMS of int16 samples, 0..1 of full scale. */
export function rmsOf(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += (samples[i]! / 32768) ** 2;
  return Math.sqrt(sum / samples.length);
}
