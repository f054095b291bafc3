// Bench listeners: a separate process (so its CPU is not counted against the daemon) that joins
// rooms as ordinary participants and reports what it hears per room as JSON lines on stdout.
// stdin: {"join":["room",...]} | {"stats":true} | {"quit":true}
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { AudioStream, Room, RoomEvent, TrackKind, dispose } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';

const require = createRequire(import.meta.url);
const { analyseFrame } = require('../dist/audio/analysis.js');
const { stopSdkLogForwarding } = require('../dist/livekit/sdk-logs.js');
const { onlyRoomEventsFor } = require('../dist/livekit/room-events.js');
const [url, key, secret] = process.argv.slice(2);
const SILENT = 0.005;
const out = (o) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);

/** Per room: current tone run, silence inside playback, gaps at tone changes. */
const rooms = new Map();

async function join(name) {
  const at = new AccessToken(key, secret, { identity: `bench-listener-${name}` });
  at.addGrant({ roomJoin: true, room: name, canSubscribe: true, canPublish: false });
  const room = new Room();
  onlyRoomEventsFor(room); // every audio frame of every room would otherwise reach every Room
  const st = { room, frames: 0, silent: 0, playing: false, runHz: 0, run: 0, toneHz: 0, silenceRun: 0, lastToneEnd: 0 };
  rooms.set(name, st);
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind !== TrackKind.KIND_AUDIO) return;
    const stream = new AudioStream(track, { sampleRate: 48000, numChannels: 1, frameSizeMs: 10 });
    (async () => {
      for await (const frame of stream) onFrame(name, st, analyseFrame(frame.data, 48000, 1));
    })().catch(() => undefined);
  });
  await room.connect(url, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  stopSdkLogForwarding(); // as the daemon does: the SDK's log events cost every room CPU
  out({ ev: 'joined', room: name });
}

function onFrame(name, st, a) {
  st.frames++;
  if (a.rms < SILENT) {
    if (st.playing) {
      st.silent++;
      st.silenceRun++;
    }
    st.run = 0;
    return;
  }
  const hz = Math.round(a.hz);
  if (Math.abs(hz - st.runHz) <= 12) st.run++;
  else {
    st.runHz = hz;
    st.run = 1;
  }
  // A new tone is established after 3 frames (30 ms) of the same frequency.
  if (st.run === 3 && Math.abs(st.runHz - st.toneHz) > 12) {
    const first = !st.playing;
    st.playing = true;
    out({ ev: 'tone', room: name, hz: st.runHz, first, gap_ms: first ? null : st.silenceRun * 10 });
    st.toneHz = st.runHz;
  }
  if (st.run >= 3) st.silenceRun = 0;
}

createInterface({ input: process.stdin }).on('line', async (line) => {
  const msg = JSON.parse(line);
  if (msg.join) await Promise.all(msg.join.map((r) => join(r).catch((e) => out({ ev: 'error', room: r, error: String(e) }))));
  if (msg.stats) {
    const stats = {};
    for (const [name, st] of rooms) {
      stats[name] = { frames: st.frames, silent: st.silent };
      st.frames = 0;
      st.silent = 0;
    }
    out({ ev: 'stats', stats });
  }
  if (msg.quit) {
    await Promise.all([...rooms.values()].map((st) => st.room.disconnect().catch(() => undefined)));
    await dispose();
    process.exit(0);
  }
});
out({ ev: 'ready' });
