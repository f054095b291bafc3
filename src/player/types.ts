import type { Readable } from 'node:stream';
import type { Song } from '../catalog/song';

/** Where frames go: the room's published track (or a fake in unit tests). */
export interface AudioSink {
  /** Resolves when the frame is queued; callers await each call (that is the pacing). */
  capture(samples: Int16Array): Promise<void>;
  /** Resolves when the queued audio has played out. */
  drain(): Promise<void>;
  /** Audio queued and not yet played, ms (when the sink can tell). */
  readonly queuedMs?: number;
  /** Rebuilds the output after a capture failed. */
  republish(): Promise<void>;
}

/** A running decode of one song. */
export interface Decoder {
  readonly output: Readable;
  readonly finished: Promise<void>;
  readonly done: boolean;
  /** Resolves when the decoder's process is gone (after `kill` or the end); absent: `finished` settling says so. */
  readonly exited?: Promise<void>;
  /** Ends the decode now; safe to call more than once. */
  kill(reason?: string): void;
}

/** Opens a decode of `song`, from `startMs` into it when given (resume, seek_music). */
export type DecoderFactory = (song: Song, startMs?: number) => Decoder;
