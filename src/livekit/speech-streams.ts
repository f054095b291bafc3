import { AudioStream } from '@livekit/rtc-node';

/** Decoded audio of a remote track, frame by frame (rtc-node's AudioStream fits); `cancel` ends it. */
export interface LevelStream extends AsyncIterable<{ readonly data: Int16Array }> {
  cancel(): Promise<void>;
}

export type OpenLevelStream = (track: unknown) => LevelStream;

export const SPEECH_STREAM = { sampleRate: 16000, numChannels: 1, frameSizeMs: 10 } as const;

type FfiListener = (event: { message: { case?: string; value?: { streamHandle?: unknown } } }) => void;

interface FfiClientLike {
  on(event: string, listener: FfiListener): unknown;
  off(event: string, listener: FfiListener): unknown;
}

/** rtc-node's AudioStreamSource, as far as used here. */
interface StreamSourceLike {
  onEvent: FfiListener;
  ffiHandle: { handle: unknown };
}

/** Per stream handle, its source's listener: one FFI listener serves every speech stream. */
const byHandle = new Map<string, FfiListener>();
let dispatcher: FfiListener | undefined;

/**
 * rtc-node hands every FFI event of the process (each captured frame of every room, each decoded
 * frame of every stream) to every AudioStream, each of which keeps only its own: with N rooms
 * ducking, N streams each wade through all N rooms' traffic. Here each speech stream's listener is
 * taken off the FFI client and one dispatcher routes audio-stream events by handle instead. When
 * rtc-node's internals are not as expected, the stream is left as rtc-node made it.
 */
export const openSpeechStream: OpenLevelStream = (track) => {
  const stream = new AudioStream(track as ConstructorParameters<typeof AudioStream>[0], { ...SPEECH_STREAM });
  const source = newestSource(track);
  const client = (globalThis as { _ffiClientInstance?: Partial<FfiClientLike> })._ffiClientInstance;
  if (!source || typeof client?.on !== 'function' || typeof client.off !== 'function') return levels(stream, () => undefined);
  const key = String(source.ffiHandle.handle);
  client.off('ffi_event', source.onEvent);
  byHandle.set(key, source.onEvent);
  if (!dispatcher) {
    dispatcher = (event) => {
      if (event.message.case === 'audioStreamEvent') byHandle.get(String(event.message.value?.streamHandle))?.(event);
    };
    client.on('ffi_event', dispatcher);
  }
  return levels(stream, () => {
    if (byHandle.get(key) === source.onEvent) byHandle.delete(key);
  });
};

/**
 * Reads `stream` through a reader, whose `cancel` reaches rtc-node's source (its teardown frees the
 * FFI stream); a ReadableStream's own `cancel` refuses while it is being read. `onEnd` runs once the
 * stream ends or is cancelled.
 */
function levels(stream: AudioStream, onEnd: () => void): LevelStream {
  const reader = stream.getReader();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          yield r.value;
        }
      } finally {
        onEnd();
      }
    },
    cancel: async () => {
      onEnd();
      await reader.cancel().catch(() => undefined);
    },
  };
}

/** The source of the stream just opened on `track` (rtc-node keeps WeakRefs to them on the track). */
function newestSource(track: unknown): StreamSourceLike | undefined {
  const refs = (track as { audioStreams?: unknown }).audioStreams;
  if (!(refs instanceof Set) || refs.size === 0) return undefined;
  const last = [...refs].pop() as { deref?: () => unknown } | undefined;
  const source = last?.deref?.() as Partial<StreamSourceLike> | undefined;
  if (typeof source?.onEvent !== 'function' || source.ffiHandle?.handle === undefined) return undefined;
  return source as StreamSourceLike;
}

/** Speech streams routed by the dispatcher now (tests, metrics). */
export function routedSpeechStreams(): number {
  return byHandle.size;
}
