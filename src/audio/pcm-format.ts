/** Signed 16-bit interleaved PCM, the format LiveKit's AudioSource takes. */
export interface PcmFormat {
  sampleRate: number;
  channels: number;
}

export const BYTES_PER_SAMPLE = 2;

export function bytesPerMs(format: PcmFormat): number {
  return (format.sampleRate * format.channels * BYTES_PER_SAMPLE) / 1000;
}

export function samplesPerChannel(format: PcmFormat, ms: number): number {
  return (format.sampleRate * ms) / 1000;
}
