// A participant that talks: publishes a microphone track with rtc-node, sends silence (an open
// mic), and on each "speak" line on stdin plays the raw PCM file (48 kHz mono s16le) once, then
// silence again. Prints JSON lines: {"event":"joined"}, {"event":"speaking"}, {"event":"spoken"}.
// Usage: node speaker-process.mjs URL ROOM IDENTITY PCM_FILE (LIVEKIT_API_KEY / _SECRET in env).
import { AudioFrame, AudioSource, dispose, LocalAudioTrack, Room, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [url, roomName, identity, pcmFile] = process.argv.slice(2);
const RATE = 48000;
const FRAME = 480; // 10 ms
const started = process.hrtime.bigint();
const out = (line) => process.stdout.write(`${JSON.stringify({ t: Number((process.hrtime.bigint() - started) / 1000000n), wall: Date.now(), ...line })}\n`);

const pcm = readFileSync(pcmFile);
const speech = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
const at = new AccessToken(process.env.LIVEKIT_API_KEY, process.env.LIVEKIT_API_SECRET, { identity });
at.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: false, canPublishData: false });
const room = new Room();
await room.connect(url, await at.toJwt(), { autoSubscribe: false, dynacast: false });
// A short queue, like a phone's microphone: what is captured is sent at once.
const source = new AudioSource(RATE, 1, 50);
const options = new TrackPublishOptions();
options.source = TrackSource.SOURCE_MICROPHONE;
await room.localParticipant.publishTrack(LocalAudioTrack.createAudioTrack('mic', source), options);
out({ event: 'joined' });

let pending = 0;
let stopping = false;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'speak') pending++;
});
process.once('SIGTERM', () => (stopping = true));
process.stdin.once('end', () => (stopping = true));

while (!stopping) {
  if (pending > 0) {
    pending--;
    out({ event: 'speaking' });
    for (let i = 0; i + FRAME <= speech.length && !stopping; i += FRAME) {
      // A fresh array per frame: AudioFrame ignores a view's byteOffset.
      await source.captureFrame(new AudioFrame(Int16Array.from(speech.subarray(i, i + FRAME)), RATE, 1, FRAME));
    }
    out({ event: 'spoken' });
  } else {
    await source.captureFrame(new AudioFrame(new Int16Array(FRAME), RATE, 1, FRAME));
  }
}
await room.disconnect();
await dispose();
process.exit(0);
