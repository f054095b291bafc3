// Bench listeners: a separate process (so its CPU is not counted against the daemon) that joins
// rooms as ordinary participants and reports what it hears per room as JSON lines on stdout.
// argv: url key secret [options JSON: {"songs_hz":[...], "content":"tones"|"music"}]
// stdin: {"join":["room" | {"room","identity"},...]} | {"leave":["room",...]} | {"watch":"room"} | {"stats":true} | {"quit":true}
// `watch` records the room's frames until the next song is heard and reports the energy outside the
// two songs' tones around that change ({"ev":"click"}): what a skip without a clean fade adds.
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { AudioStream, Room, RoomEvent, TrackKind, dispose } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { dominantPitch, residueOutside } from './pitch.mjs';

const require = createRequire(import.meta.url);
const { analyseFrame } = require('../dist/audio/analysis.js');
const { stopSdkLogForwarding } = require('../dist/livekit/sdk-logs.js');
const { onlyRoomEventsFor } = require('../dist/livekit/room-events.js');
const [url, key, secret, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson ?? '{}');
const SONGS_HZ = options.songs_hz ?? [];
const FRAME = 480; // 10 ms at 48 kHz, mono
// Chords and noise defeat the zero-crossing pitch: with `music` content name the song pitch that dominates.
const pitchOf = options.content === 'music' && SONGS_HZ.length ? dominantPitch(SONGS_HZ, FRAME, 48000) : undefined;
const residue = SONGS_HZ.length ? residueOutside(SONGS_HZ, FRAME, 48000) : undefined;
const WATCH_FRAMES_AFTER = 20; // recorded after the new song is recognised
const WATCH_FRAMES_MAX = 500;
const nearestSong = (hz) => SONGS_HZ.reduce((a, b) => (Math.abs(b - hz) < Math.abs(a - hz) ? b : a), SONGS_HZ[0]);
const SILENT = 0.005;
const out = (o) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);

/** Per room: current tone run, silence inside playback, gaps at tone changes. */
const rooms = new Map();

/** Joins `name` as `identity` (the bench uses the device's id, so the daemon's default room policy, member, lets the device start music there). */
async function join(name, identity = `bench-listener-${name}`) {
  const at = new AccessToken(key, secret, { identity });
  at.addGrant({ roomJoin: true, room: name, canSubscribe: true, canPublish: false });
  const room = new Room();
  onlyRoomEventsFor(room); // every audio frame of every room would otherwise reach every Room
  const st = { room, frames: 0, silent: 0, playing: false, runHz: 0, run: 0, toneHz: 0, silenceRun: 0, lastToneEnd: 0 };
  rooms.set(name, st);
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind !== TrackKind.KIND_AUDIO) return;
    // Where the time between the bot's first frame and the first tone heard goes: the subscription, then the first frame received.
    out({ ev: 'subscribed', room: name });
    const stream = new AudioStream(track, { sampleRate: 48000, numChannels: 1, frameSizeMs: 10 });
    (async () => {
      let firstFrame = true;
      for await (const frame of stream) {
        if (firstFrame && analyseFrame(frame.data, 48000, 1).rms >= SILENT) {
          firstFrame = false;
          out({ ev: 'first_sound', room: name });
        }
        const a = analyseFrame(frame.data, 48000, 1);
        if (pitchOf && a.rms >= SILENT && frame.data.length === FRAME) a.hz = pitchOf(frame.data);
        if (st.watch) watchFrame(name, st, frame.data, a.rms);
        onFrame(name, st, a);
      }
    })().catch(() => undefined);
  });
  await room.connect(url, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  stopSdkLogForwarding(); // as the daemon does: the SDK's log events cost every room CPU
  out({ ev: 'joined', room: name });
}

function watchFrame(name, st, data, rms) {
  const w = st.watch;
  w.frames.push({ data: Int16Array.from(data), rms });
  if (w.after === undefined && st.toneHz && Math.abs(st.toneHz - w.fromHz) > 12) w.after = w.frames.length;
  const done = w.after !== undefined && w.frames.length >= w.after + WATCH_FRAMES_AFTER;
  if (!done && w.frames.length < WATCH_FRAMES_MAX) return;
  st.watch = undefined;
  if (!done || !residue) return out({ ev: 'click', room: name, residue_ratio: null });
  const from = nearestSong(w.fromHz);
  const to = nearestSong(st.toneHz);
  const audible = w.frames.map((f) => f.rms).filter((r) => r >= SILENT * 4).sort((x, y) => x - y);
  const steady = audible[Math.floor(audible.length / 2)] ?? 0;
  const worst = Math.max(...w.frames.filter((f) => f.data.length === FRAME).map((f) => residue(f.data, from, to)));
  out({ ev: 'click', room: name, from_hz: from, to_hz: to, residue_ratio: steady > 0 ? Math.round((worst / steady) * 1000) / 1000 : null });
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
  if (msg.watch) {
    const st = rooms.get(msg.watch);
    if (st) st.watch = { fromHz: st.toneHz, frames: [] };
  }
  if (msg.leave) {
    await Promise.all(msg.leave.map(async (r) => {
      const st = rooms.get(r);
      rooms.delete(r);
      await st?.room.disconnect().catch(() => undefined);
    }));
    out({ ev: 'left', rooms: msg.leave.length });
  }
  if (msg.join) await Promise.all(msg.join.map((r) => (typeof r === 'string' ? { room: r } : r)).map((r) => join(r.room, r.identity).catch((e) => out({ ev: 'error', room: r.room, error: String(e) }))));
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
