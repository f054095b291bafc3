import { AudioStream, dispose, type RemoteTrack, Room, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { randomBytes } from 'node:crypto';
import { analyseFrame, toDb, toneLevel } from '../audio/analysis';
import { WavWriter } from '../audio/wav-writer';
import { loadConfig } from '../config/load';
import type { AppConfig } from '../config/schema';
import { stopSdkLogForwarding } from '../livekit/sdk-logs';
import { normaliseDeviceId } from '../mqtt/device-id';
import { readRetainedStatuses } from './retained-statuses';

export interface ListenOptions {
  /** The room to join; or `device`, whose room is read from its retained status. */
  room?: string;
  device?: string;
  /** Record what is heard to this WAV file. */
  wav?: string;
  url?: string;
  /** Join as this identity (e.g. a device id, to be found by the discover room strategy). */
  identity?: string;
  json: boolean;
  /** With --json, also report each frame's level at these frequencies (Hz), e.g. to see a crossfade. */
  tones?: number[];
  seconds?: number;
  configFile?: string;
}

const SAMPLE_RATE = 48000;
const FRAME_MS = 10;

/**
 * Joins a room as an ordinary participant and reports what it hears from the bot: with --json one
 * line per 10 ms frame ({t, from, rms, hz}: `from` is the participant heard, and `tones` levels when asked) plus events (data messages, participants), else a level meter.
 */
export async function runListen(o: ListenOptions): Promise<number> {
  const { config } = loadConfig({ file: o.configFile });
  const roomName = o.room ?? (await roomOfDevice(config, o.device));
  const wav = o.wav ? new WavWriter(o.wav, SAMPLE_RATE, 1) : undefined;
  const url = o.url ?? config.livekit.url;
  const at = new AccessToken(config.livekit.apiKey, config.livekit.apiSecret, { identity: o.identity ?? `listener-${randomBytes(4).toString('hex')}` });
  at.addGrant({ roomJoin: true, room: roomName, canSubscribe: true, canPublish: false, canPublishData: false });
  const started = process.hrtime.bigint();
  const now = () => Number((process.hrtime.bigint() - started) / 1000000n);
  const out = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ t: now(), ...line })}\n`);

  const room = new Room();
  const streams: AudioStream[] = [];
  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _pub, participant) => {
    if (track.kind !== TrackKind.KIND_AUDIO) return;
    if (o.json) out({ event: 'track', participant: participant.identity });
    const stream = new AudioStream(track, { sampleRate: SAMPLE_RATE, numChannels: 1, frameSizeMs: FRAME_MS });
    streams.push(stream);
    void (async () => {
      let meter = 0;
      for await (const frame of stream) {
        wav?.write(frame.data);
        const a = analyseFrame(frame.data, frame.sampleRate, frame.channels);
        if (o.json) out({ from: participant.identity, rms: round(a.rms, 5), hz: round(a.hz, 1), ...(o.tones?.length ? { tones: tonesOf(frame.data, frame.sampleRate, frame.channels, o.tones) } : {}) });
        else if (++meter % 10 === 0) process.stdout.write(`\r${meterBar(a.rms)} ${toDb(a.rms).toFixed(1).padStart(6)} dB ${a.hz.toFixed(0).padStart(5)} Hz `);
      }
    })();
  });
  room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
    const text = new TextDecoder().decode(payload);
    let message: unknown = text;
    try {
      message = JSON.parse(text);
    } catch {
      /* not JSON: report as text */
    }
    if (o.json) out({ event: 'data', topic: topic ?? null, from: participant?.identity ?? null, message });
    else process.stdout.write(`\n[${topic ?? ''}] ${text}\n`);
  });
  room.on(RoomEvent.ParticipantConnected, (p) => o.json && out({ event: 'participant_joined', identity: p.identity }));
  room.on(RoomEvent.ParticipantDisconnected, (p) => o.json && out({ event: 'participant_left', identity: p.identity }));

  await room.connect(url, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  stopSdkLogForwarding();
  if (o.json) out({ event: 'joined', room: roomName, participants: [...room.remoteParticipants.keys()] });
  else process.stdout.write(`listening in room "${roomName}" (Ctrl-C to stop)${o.wav ? `, recording to ${o.wav}` : ''}\n`);

  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (o.seconds) setTimeout(done, o.seconds * 1000);
  });
  for (const s of streams) await s.cancel().catch(() => undefined);
  await room.disconnect();
  wav?.close();
  await dispose();
  return 0;
}

/** The room a device's music plays in, from its retained status. */
async function roomOfDevice(config: AppConfig, device: string | undefined): Promise<string> {
  if (!device) throw new Error('listen needs a DEVICE or --room');
  const id = normaliseDeviceId(device);
  if (!id.ok) throw new Error(id.reason);
  const [status] = await readRetainedStatuses(config, id.id, 3000);
  if (!status?.room) throw new Error(`device ${id.id} is not playing in any room (state: ${status?.state ?? 'unknown'}); use --room`);
  return status.room;
}

function tonesOf(samples: Int16Array, sampleRate: number, channels: number, tones: number[]): Record<string, number> {
  return Object.fromEntries(tones.map((hz) => [String(hz), round(toneLevel(samples, sampleRate, hz, channels), 5)]));
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function meterBar(rms: number): string {
  const width = 30;
  const filled = Math.max(0, Math.min(width, Math.round(((toDb(rms) + 60) / 60) * width)));
  return `[${'#'.repeat(filled)}${' '.repeat(width - filled)}]`;
}
