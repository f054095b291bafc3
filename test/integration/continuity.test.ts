import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import installer from '@ffmpeg-installer/ffmpeg';
import { startMosquitto, startMosquittoOnFreePort } from '../../src/ops/local-stack';
import { Daemon } from '../support/daemon';
import { AUDIBLE_RMS, type Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { testScope } from '../support/scope';
import { stackInfo } from '../support/stack';

jest.setTimeout(150_000);

const run = promisify(execFile);

/**
 * Songs whose frequency steps every second (base + 40 Hz × whole seconds), so a listener can tell
 * both which song plays and where in it: the step says the second, the time of the next step the
 * rest. Each song's steps are apart from every other song's.
 */
const SONGS = [
  { title: 'Steps Low', genre: 'steps-low', base: 300 },
  { title: 'Steps Mid', genre: 'steps-mid', base: 1200 },
  { title: 'Steps High', genre: 'steps-high', base: 2100 },
];
const SECONDS = 20;
const STEP_HZ = 40;
const HZ_TOLERANCE = 12;

async function steppedCatalog(): Promise<string> {
  const dir = mkdtempSync(join(stackInfo().workDir, 'continuity-'));
  const songs = [];
  for (const s of SONGS) {
    const file = `${s.genre}.mp3`;
    await run(installer.path, [
      '-y', '-hide_banner', '-loglevel', 'error',
      '-f', 'lavfi', '-i', `aevalsrc=0.5*sin(2*PI*(${s.base}+${STEP_HZ}*floor(t))*t):s=44100:d=${SECONDS}`,
      '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '128k', join(dir, file),
    ]);
    songs.push({ title: s.title, aliases: [], language: 'English', genres: [s.genre], file, duration_ms: SECONDS * 1000 });
  }
  const manifest = join(dir, 'catalog.json');
  writeFileSync(manifest, JSON.stringify({ songs }));
  return manifest;
}

/** The step (second of the song) a frame's frequency is, when it is one of `base`'s steps and audible. */
function stepOf(base: number, hz: number | undefined, rms: number | undefined): number | undefined {
  if (hz === undefined || rms === undefined || rms < AUDIBLE_RMS) return undefined;
  const k = Math.round((hz - base) / STEP_HZ);
  return k >= 0 && k < SECONDS && Math.abs(hz - (base + k * STEP_HZ)) <= HZ_TOLERANCE ? k : undefined;
}

interface Heard {
  /** Listener time (ms) of the first frame of the first run of the song, and its step. */
  t0: number;
  step: number;
  /** Listener time of the first frame of the next step: the position at t0 is (step+1) s − (t1 − t0). */
  t1: number;
  /** Wall clock when the song was first recognised. */
  at: number;
  /** Median level of the song's frames between t0 and t1. */
  rms: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Median level of the last `n` audible frames of `base`'s steps. */
function levelOf(l: Listener, base: number, n = 100): number {
  return median(l.frames.filter((h) => stepOf(base, h.hz, h.rms) !== undefined).slice(-n).map((h) => h.rms!));
}

/** Waits for 10 frames in a row of one step of `base`, then for the next step; from `from`. */
async function hearPosition(l: Listener, base: number, from: number, what: string, timeoutMs = 15000): Promise<Heard> {
  const runOf = (start: number, want: (k: number) => boolean): { t: number; k: number; i: number } | undefined => {
    const items = l.lines.items;
    let run = 0;
    let runStep = -1;
    let first = 0;
    for (let i = start; i < items.length; i++) {
      const h = items[i]!;
      if (h.rms === undefined) continue;
      const k = stepOf(base, h.hz, h.rms);
      if (k !== undefined && want(k) && k === runStep) run++;
      else if (k !== undefined && want(k)) [run, runStep, first] = [1, k, i];
      else [run, runStep] = [0, -1];
      if (run >= 10) return { t: items[first]!.t, k: runStep, i: first };
    }
    return undefined;
  };
  let heard: { t: number; k: number; i: number } | undefined;
  let at = 0;
  await l.lines.until(
    () => {
      heard ??= runOf(from, () => true);
      if (heard && at === 0) at = Date.now();
      return heard !== undefined;
    },
    what,
    timeoutMs,
  );
  const first = heard!;
  let next: { t: number; i: number } | undefined;
  await l.lines.until(() => (next = runOf(first.i, (k) => k === first.k + 1)) !== undefined, `${what}: the next step`, 3000);
  const between = l.lines.items.slice(first.i, next!.i).filter((h) => stepOf(base, h.hz, h.rms) === first.k);
  return { t0: first.t, step: first.k, t1: next!.t, at, rms: median(between.map((h) => h.rms!)) };
}

function positionAt(h: Heard): number {
  return (h.step + 1) * 1000 - (h.t1 - h.t0);
}

/** The last retained status of `device` seen by the app. */
function lastStatus(app: AppClient, device: string): Record<string, unknown> {
  const topic = `${app.base}/${device}/status`;
  const found = app.messages.items.filter((m) => m.topic === topic && m.json).at(-1);
  if (!found) throw new Error(`no status of ${device}`);
  return found.json!;
}

describe('continuity: sessions survive a restart of the bridge', () => {
  const scope = testScope();
  let catalog: string;

  beforeAll(async () => {
    catalog = await steppedCatalog();
  });

  /** Three rooms playing, one song each, one at volume 50, each past its first seconds. */
  async function threeRooms(prefix: string, mqttUrl?: string) {
    const overrides = { catalog: { location: catalog }, sessions: { positionIntervalMs: 1000 }, ...(mqttUrl ? { mqtt: { url: mqttUrl } } : {}) };
    const daemon = await Daemon.start(overrides);
    scope.defer(() => daemon.stop());
    const app = mqttUrl ? await AppClient.connectTo(mqttUrl, daemon.baseTopic) : await AppClient.connect(daemon.baseTopic);
    scope.defer(() => app.close());
    const rooms = SONGS.map((s, i) => ({ ...s, device: `aabbccddee${prefix}${i}`, room: `cont-${prefix}-${i}` }));
    const listeners = await Promise.all(rooms.map((r) => scope.listen(r.room)));
    for (const r of rooms) {
      const reply = await app.command(r.device, { type: 'start_continuous_music', session_id: r.room, genre: r.genre });
      expect(reply.ok).toBe(true);
    }
    expect((await app.command(rooms[1]!.device, { type: 'set_volume', volume: 50 })).ok).toBe(true);
    // Past the first seconds, so a resume from 0 would show.
    for (const r of rooms) await app.status(r.device, (s) => typeof s.position_ms === 'number' && s.position_ms >= 4000, `${r.device} at 4 s`, 0, 20000);
    const before = rooms.map((r, i) => levelOf(listeners[i]!, r.base));
    for (const level of before) expect(level).toBeGreaterThan(AUDIBLE_RMS);
    return { daemon, app, rooms, listeners, before };
  }

  /** Starts the daemon again and checks every room (but `stopped`) is heard within 5 s at the saved song, position and volume. */
  async function restartAndCheck(daemon: Daemon, app: AppClient, rooms: Awaited<ReturnType<typeof threeRooms>>['rooms'], listeners: Listener[], before: number[], stopped?: number) {
    const saved = rooms.map((r) => lastStatus(app, r.device));
    const marks = listeners.map((l) => l.mark);
    const fromMsg = app.messages.items.length;
    const t0 = Date.now();
    const next = await daemon.restart();
    scope.defer(() => next.stop());
    for (const [i, r] of rooms.entries()) {
      if (i === stopped) continue;
      const s = saved[i]!;
      expect(s).toMatchObject({ state: 'playing', room: r.room });
      // A listener may print what it heard with a delay: audio of the old process can follow the
      // mark. The new process's music comes with its music_resumed message, so what follows it is new.
      const told = await listeners[i]!.lines.next((h) => h.event === 'data' && h.message?.type === 'music_resumed', `${r.room} told music_resumed`, 10000, marks[i]);
      const heard = await hearPosition(listeners[i]!, r.base, listeners[i]!.lines.items.indexOf(told), `${r.room} heard again`, 10000);
      expect(heard.at - t0).toBeLessThanOrEqual(5000);
      const recorded = s.position_ms as number;
      expect(Math.abs(positionAt(heard) - recorded)).toBeLessThanOrEqual(1000);
      // Same loudness as before the restart: the volume was kept (volume 50 is half the amplitude,
      // so a lost volume shows as 2 or 0.5; the codec's level differs a little between the steps).
      expect(heard.rms / before[i]!).toBeGreaterThan(0.7);
      expect(heard.rms / before[i]!).toBeLessThan(1.4);
      console.log(`${r.room}: heard ${heard.at - t0} ms after the start, at ${positionAt(heard)} ms (saved ${recorded} ms), level ×${(heard.rms / before[i]!).toFixed(2)}`);
      const status = await app.status(r.device, (x) => x.state === 'playing', `${r.device} playing again`, fromMsg, 5000);
      expect(status.json).toMatchObject({ room: r.room, volume: i === 1 ? 50 : 100, song: { id: (s.song as { id: string }).id } });
    }
    return next;
  }

  test('SIGTERM, then a new process: every room heard again within 5 s, at the same song and position (±1 s), same volume', async () => {
    const { daemon, app, rooms, listeners, before } = await threeRooms('a');
    expect(await daemon.stop('SIGTERM')).toBe(0);
    for (const r of rooms) expect(lastStatus(app, r.device)).toMatchObject({ state: 'playing', reason: 'bridge shutting down' });
    await restartAndCheck(daemon, app, rooms, listeners, before);
  });

  test('kill -9, then a new process: the same, from the last recorded position; a room stopped by command is not resumed', async () => {
    const { daemon, app, rooms, listeners, before } = await threeRooms('b');
    const stopped = 2;
    expect((await app.command(rooms[stopped]!.device, { type: 'stop_continuous_music' })).ok).toBe(true);
    // A fresh position of the rooms that play, then the crash.
    const from = app.messages.items.length;
    for (const [i, r] of rooms.entries()) if (i !== stopped) await app.status(r.device, (s) => s.state === 'playing', `${r.device} position`, from, 5000);
    const stoppedMark = listeners[stopped]!.mark;
    daemon.proc.kill('SIGKILL');
    await daemon.exited;
    const next = await restartAndCheck(daemon, app, rooms, listeners, before, stopped);
    const resumed = await next.lines.next((l) => l.message === 'sessions resumed', 'resume summary', 10000);
    expect(resumed).toMatchObject({ resumed: 2 });
    expect(lastStatus(app, rooms[stopped]!.device)).toMatchObject({ state: 'idle' });
    // By now the other rooms play again: the stopped one got no music and no music_resumed (its bot
    // left at the stop, so its listener gets no frames at all).
    const quiet = listeners[stopped]!;
    const since = quiet.lines.items.slice(stoppedMark);
    expect(since.filter((h) => stepOf(rooms[stopped]!.base, h.hz, h.rms) !== undefined)).toEqual([]);
    expect(since.filter((h) => h.event === 'data' && h.message?.type === 'music_resumed')).toEqual([]);
  });
});

describe('continuity: the broker restarts too', () => {
  const scope = testScope();

  test('SIGTERM, broker restart with persistence, then a new process: the rooms resume from the statuses the broker kept', async () => {
    const catalog = await steppedCatalog();
    const dir = mkdtempSync(join(tmpdir(), 'music-bridge-continuity-broker-'));
    chmodSync(dir, 0o777); // Mosquitto started as root drops to its own user, which writes here
    scope.defer(() => rmSync(dir, { recursive: true, force: true }));
    const extra = `persistence_location ${dir}/\n`;
    const started = await startMosquittoOnFreePort(dir, 'persist.d', undefined, 3, extra);
    let broker = started.server;
    scope.defer(() => broker.stop());
    const url = `mqtt://127.0.0.1:${started.port}`;
    const daemon = await Daemon.start({ mqtt: { url }, catalog: { location: catalog }, sessions: { positionIntervalMs: 1000 } });
    scope.defer(() => daemon.stop());
    const app = await AppClient.connectTo(url, daemon.baseTopic);
    const device = 'aabbccddeec1';
    const room = 'cont-broker';
    const listener = await scope.listen(room);
    expect((await app.command(device, { type: 'start_continuous_music', session_id: room, genre: SONGS[0]!.genre })).ok).toBe(true);
    expect((await app.command(device, { type: 'set_volume', volume: 70 })).ok).toBe(true);
    await app.status(device, (s) => typeof s.position_ms === 'number' && s.position_ms >= 3000, 'at 3 s', 0, 20000);
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const saved = lastStatus(app, device);
    expect(saved).toMatchObject({ state: 'playing', reason: 'bridge shutting down' });
    await app.close();

    await broker.stop();
    broker = await startMosquitto(started.port, dir, 'persist.d', extra);
    const mark = listener.mark;
    const next = await daemon.restart();
    scope.defer(() => next.stop());
    const told = await listener.lines.next((h) => h.event === 'data' && h.message?.type === 'music_resumed', 'music_resumed after the broker restart', 10000, mark);
    const heard = await hearPosition(listener, SONGS[0]!.base, listener.lines.items.indexOf(told), 'heard again', 10000);
    expect(Math.abs(positionAt(heard) - (saved.position_ms as number))).toBeLessThanOrEqual(1000);
    const after = await AppClient.connectTo(url, daemon.baseTopic);
    scope.defer(() => after.close());
    await after.status(device, (s) => s.state === 'playing' && s.volume === 70, 'playing at volume 70 again', 0, 10000);
  });
});
