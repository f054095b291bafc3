import { closeSync, openSync, writeSync } from 'node:fs';

/** Writes 16-bit PCM to a WAV file as it arrives; the header's sizes are filled in on close. */
export class WavWriter {
  private readonly fd: number;
  private bytes = 0;

  constructor(path: string, private readonly sampleRate: number, private readonly channels: number) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, this.header(0));
  }

  write(samples: Int16Array): void {
    const buf = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    writeSync(this.fd, buf);
    this.bytes += buf.length;
  }

  close(): void {
    writeSync(this.fd, this.header(this.bytes), 0, 44, 0);
    closeSync(this.fd);
  }

  private header(dataBytes: number): Buffer {
    const h = Buffer.alloc(44);
    const blockAlign = this.channels * 2;
    h.write('RIFF', 0, 'ascii');
    h.writeUInt32LE(36 + dataBytes, 4);
    h.write('WAVE', 8, 'ascii');
    h.write('fmt ', 12, 'ascii');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20); // PCM
    h.writeUInt16LE(this.channels, 22);
    h.writeUInt32LE(this.sampleRate, 24);
    h.writeUInt32LE(this.sampleRate * blockAlign, 28);
    h.writeUInt16LE(blockAlign, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36, 'ascii');
    h.writeUInt32LE(dataBytes, 40);
    return h;
  }
}
