// npm run bench: how many rooms one machine streams, how fast commands are heard, what a room costs.
// Real Mosquitto and LiveKit, the daemon in its own process, listeners in another. Ramps the number
// of playing rooms step by step and writes bench/results/<stamp>.{json,md} and latest.md.
// Env: BENCH_STEPS (1,10,25,50,100), BENCH_STEP_SECONDS (30), BENCH_PROFILE=1 (daemon --cpu-prof),
// BENCH_FRAME_MS / BENCH_QUEUE_MS (audio settings under test; comma lists run the ramp once per
// frame × queue combination, each with a fresh daemon), BENCH_BURST (e.g. 1,25: instead of the ramp,
// that many starts at once from an idle daemon, with its `start timings` log lines per phase),
// BENCH_CONTENT (tones | music), BENCH_SONG_SECONDS (12), BENCH_SOAK_MINUTES (after the ramp, keep
// the last step playing this long and sample the daemon's RSS every minute), BENCH_RESULTS_DIR
// (bench/results), BENCH_BASELINE (a checkout of an earlier version with its dist/ built, e.g. by
// bench/baseline.sh: every unit runs with that daemon first, then with this one, in the same run, so
// before and after are measured side by side). Writes <stamp>.json, .md and .svg (the chart), and
// latest.md for a plain ramp of one setting. BENCH_INSTANCES (e.g. 1,2: that many daemons of one fleet per unit,
// each with its instance id, CPU and RSS summed), BENCH_RESUME=1 (after a unit's last step, kill -9
// its daemons, start them again, and time each room until it is heard again).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import { writeChart } from './chart.mjs';
import { benchCatalog, SONG_HZ } from './content.mjs';

const require = createRequire(import.meta.url);
const stack = require('../dist/ops/local-stack.js');
const ffmpegPath = require('@ffmpeg-installer/ffmpeg').path;

const ROOT = stack.PROJECT_ROOT;
/** A comma list of positive integers from the environment, or undefined when unset. */
function list(name) {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return undefined;
  const xs = v.split(',').map((x) => Number(x.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`${name} must be a comma list of positive integers, got "${v}"`);
  return xs;
}
const STEPS = list('BENCH_STEPS') ?? [1, 10, 25, 50, 100];
const BURSTS = list('BENCH_BURST');
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 30);
const PROFILE = process.env.BENCH_PROFILE === '1';
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 0);
const BASELINE = process.env.BENCH_BASELINE;
/** Daemon processes per unit (a comma list runs each count in turn): instances of one fleet on this machine, each room owned by one. */
const INSTANCE_COUNTS = list('BENCH_INSTANCES') ?? [1];
/** After a unit's last step, kill -9 its daemons and start them again: how long until every room is heard again (resume). */
const RESUME = process.env.BENCH_RESUME === '1';
/** The daemons under test: the baseline's (before) and this checkout's (after), or only this one. */
const BUILDS = BASELINE ? [{ name: 'before', root: BASELINE }, { name: 'after', root: ROOT }] : [{ name: undefined, root: ROOT }];
const CONTENT = process.env.BENCH_CONTENT ?? 'tones';
const SONG_SECONDS = Number(process.env.BENCH_SONG_SECONDS ?? 12);
if (!(SONG_SECONDS >= 3 && SONG_SECONDS <= 600)) throw new Error('BENCH_SONG_SECONDS must be 3..600');
/** Rooms skipped at once after each step, for skip latency and clicks. */
const SKIP_ROOMS = 10;
/** Phases of the daemon's `start timings` line (src/ops/start-timings.ts), in order. */
const START_PHASES = ['room_check', 'join_slot', 'token', 'connected', 'published', 'decoder', 'first_frame', 'total'];
const UNDERRUN_LIMIT_MS_PER_MIN = 100;
const KEY = 'devkey';
const SECRET = 'music-bridge-dev-secret-0123456789abcdef';
const TICK = 100; // clock ticks per second in /proc

const log = (...a) => process.stderr.write(`[bench] ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : null);

function procStat(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]), childCpu: Number(f[13]) + Number(f[14]), comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) };
}
function rssMb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
/** Processes whose parent is one of `pids`, with their CPU and RSS. */
function childrenOf(pids) {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = procStat(Number(e));
      if (pids.includes(st.ppid)) out.push({ pid: Number(e), ...st, rss: rssMb(Number(e)) });
    } catch {}
  }
  return out;
}
/**
 * One daemon's CPU and RSS, with its ffmpeg spawner's counted in (a process of the daemon's own),
 * and its ffmpeg processes' (started by the daemon or by the spawner) beside them.
 */
function sample(pid) {
  const d = procStat(pid);
  const spawners = childrenOf([pid]).filter((k) => k.comm.startsWith('music-bridge-sp'));
  const kids = childrenOf([pid, ...spawners.map((k) => k.pid)]).filter((k) => k.comm === 'ffmpeg');
  const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);
  return {
    at: Date.now(),
    daemonCpu: d.cpu + sum(spawners, (k) => k.cpu),
    ffmpegCpu: d.childCpu + sum(spawners, (k) => k.childCpu) + sum(kids, (k) => k.cpu),
    daemonRss: rssMb(pid) + sum(spawners, (k) => k.rss),
    spawnerRss: sum(spawners, (k) => k.rss),
    ffmpegRss: sum(kids, (k) => k.rss),
    ffmpeg: kids.length,
  };
}

/** JSON-lines child process with an event queue. */
function jsonChild(cmd, args, opts) {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], ...opts });
  const waiters = [];
  const events = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    let ev;
    try { ev = JSON.parse(line); } catch { return; }
    events.push(ev);
    for (const w of [...waiters]) if (w.pred(ev)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(ev); }
  });
  /** The first event from index `from` on that `pred` accepts, waiting up to `timeoutMs` for it. */
  const next = (pred, what, timeoutMs = 60000, from = 0) => {
    const found = events.find((e, i) => i >= from && pred(e));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e) => { clearTimeout(timer); resolve(e); } };
      const timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`timeout: ${what}`)); }, timeoutMs);
      waiters.push(w);
    });
  };
  return { proc, events, next, send: (o) => proc.stdin.write(`${JSON.stringify(o)}\n`) };
}

async function main() {
  // Figures are only worth keeping from a quiet machine: the load before the run goes into the report.
  const loadBefore = round(loadavg()[0]);
  if (loadBefore > 0.5) log(`load average ${loadBefore} before the run: the machine is not quiet, do not keep these figures`);
  const work = mkdtempSync(join(tmpdir(), 'music-bridge-bench-'));
  log(`generating ${SONG_HZ.length} ${CONTENT} songs of ${SONG_SECONDS} s`);
  const catalog = await benchCatalog(join(work, 'tracks'), CONTENT, SONG_SECONDS, ffmpegPath);
  const [mosq, lk] = await Promise.all([stack.startMosquittoOnFreePort(work), stack.startLiveKitOnFreePorts()]);
  const livekitUrl = `ws://127.0.0.1:${lk.ports.http}`;
  const mqttUrl = `mqtt://127.0.0.1:${mosq.port}`;
  // The daemon's defaults unless a run asks for other settings.
  const defaults = require('../dist/config/load.js').loadConfig({ env: {} }).config.audio;
  const frames = list('BENCH_FRAME_MS') ?? [defaults.frameMs];
  const queues = list('BENCH_QUEUE_MS') ?? [defaults.queueMs];
  const combos = frames.flatMap((frameMs) => queues.map((queueMs) => ({ frameMs, queueMs })));
  const profDir = join(ROOT, 'bench', 'results', 'profile');
  if (PROFILE) mkdirSync(profDir, { recursive: true });
  const daemons = [];
  let listeners;
  // Whatever happens, leave no server, daemon or listener behind.
  const cleanup = () => {
    for (const p of [...daemons.map((d) => d.proc), listeners?.proc, mosq.server.proc, lk.server.proc]) p?.kill('SIGKILL');
  };
  process.once('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
  listeners = jsonChild(process.execPath, [join(ROOT, 'bench', 'listeners.mjs'), livekitUrl, KEY, SECRET, JSON.stringify({ songs_hz: SONG_HZ, content: CONTENT })], {});
  await listeners.next((e) => e.ev === 'ready', 'listeners ready');

  const client = await mqtt.connectAsync(mqttUrl, { clientId: 'bench-app' });
  const replies = new Map();
  client.on('message', (t, p) => {
    if (!t.endsWith('/reply')) return;
    const r = JSON.parse(p.toString());
    replies.get(r.request_id)?.(r);
  });
  await client.subscribeAsync('bench/+/reply', { qos: 1 });
  let rid = 0;
  const command = (device, body) => new Promise((resolve) => {
    const id = `r${rid++}`;
    replies.set(id, (r) => {
      replies.delete(id);
      resolve(r);
    });
    client.publish(`bench/${device}/command`, JSON.stringify({ ...body, request_id: id }), { qos: 1 });
  });

  const results = [];
  const errors = [];
  const started = new Date();
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memory_gb: round(totalmem() / 2 ** 30), node: process.version, load_1m_before: loadBefore };
  const dir = process.env.BENCH_RESULTS_DIR ?? join(ROOT, 'bench', 'results');
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  let md = '';
  let soak;
  const resumes = [];
  const settings = {
    step_seconds: STEP_SECONDS, content: CONTENT, song_seconds: SONG_SECONDS,
    // One setting: as before (frame_ms, queue_ms); a matrix: the lists, and each step says its own.
    ...(combos.length === 1 ? { queue_ms: combos[0].queueMs, frame_ms: combos[0].frameMs } : { frames_ms: frames, queues_ms: queues }),
    ...(BURSTS ? { bursts: BURSTS } : { steps: STEPS }),
    ...(INSTANCE_COUNTS.length > 1 || INSTANCE_COUNTS[0] > 1 ? { instances: INSTANCE_COUNTS } : {}),
    ...(RESUME ? { resume: true } : {}),
  };
  const writeReport = () => {
    const report = { date: started.toISOString(), machine, settings, steps: results, ...(soak ? { soak } : {}), ...(resumes.length ? { resumes } : {}), ...(errors.length ? { errors } : {}) };
    mkdirSync(dir, { recursive: true });
    const json = join(dir, `${stamp}.json`);
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    writeChart(json);
    md = table(report, `${stamp}.svg`);
    writeFileSync(join(dir, `${stamp}.md`), md);
    // latest.md is the ramp of one audio setting, the README's table: not a burst, matrix, soak, resume or fleet.
    if (!BURSTS && combos.length === 1 && !SOAK_MINUTES && !RESUME && INSTANCE_COUNTS.every((k) => k === 1)) writeFileSync(join(dir, 'latest.md'), md);
  };

  /**
   * One daemon with one audio setting: starts it, plays `steps` (a ramp, or one burst), stops it and
   * lets the listeners leave its rooms. Returns false when the ramp stopped on underruns or rooms not heard.
   */
  const runUnit = async ({ frameMs, queueMs, steps, burst, tag, build, instances }) => {
    const startTimings = [];
    const nodeArgs = PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
    // The daemon's environment overrides its config file: the setting under test must not be overridden
    // (other AUDIO_* variables pass, e.g. AUDIO_FADE_MS=0 to see what the click residue of a cut is).
    const env = { ...process.env };
    delete env.AUDIO_FRAME_MS;
    delete env.AUDIO_QUEUE_MS;
    delete env.LOG_LEVEL; // a burst needs debug for its start timings
    delete env.MUSIC_BRIDGE_INSTANCE_ID;
    /** Instance `k` of the unit (one unless BENCH_INSTANCES): spawned, then ready (its /readyz answers 200), or undefined. */
    const startDaemon = async (k, resume = false) => {
      const httpPort = await stack.freeTcpPort();
      const config = {
        mqtt: { url: mqttUrl, baseTopic: 'bench', clientId: 'bench-daemon' },
        ...(instances > 1 ? { bridge: { instanceId: `bench-${k}` } } : {}),
        livekit: { url: livekitUrl, apiKey: KEY, apiSecret: SECRET },
        catalog: { location: catalog },
        audio: { queueMs, frameMs },
        // Resume only where it is measured: another unit's daemon must not pick up this one's rooms.
        sessions: { max: 1000, emptyRoomTimeoutMs: 0, resume },
        http: { port: httpPort },
        // A burst reads the daemon's `start timings` lines (debug: one per start, nothing per frame).
        log: { level: burst ? 'debug' : 'warn' },
      };
      const configFile = join(work, `config-${tag}-${k}${resume ? '-resume' : ''}.json`);
      writeFileSync(configFile, JSON.stringify(config));
      const proc = spawn(process.execPath, [...nodeArgs, join(build.root, 'dist', 'cli.js'), 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'], env });
      const d = { proc, pid: proc.pid, httpPort, spawnedAt: Date.now(), exited: new Promise((r) => proc.once('exit', r)), gone: false };
      void d.exited.then(() => (d.gone = true));
      daemons.push(d);
      createInterface({ input: proc.stdout }).on('line', (l) => {
        if (/"level":"(error|warn)"/.test(l)) log(`daemon ${k}:`, l.slice(0, 300));
        if (!l.includes('"start timings"')) return;
        try {
          startTimings.push(JSON.parse(l));
        } catch {}
      });
      for (const until = Date.now() + 30000; Date.now() < until && !d.gone; await sleep(100)) {
        const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok, () => false);
        if (ok) return d;
      }
      proc.kill('SIGKILL');
      await d.exited;
      return undefined;
    };
    const unitDaemons = [];
    for (let k = 0; k < instances; k++) unitDaemons.push(await startDaemon(k));
    if (unitDaemons.some((d) => !d)) {
      errors.push({ frame_ms: frameMs, queue_ms: queueMs, error: 'the daemon did not come up (invalid audio setting?)' });
      log(`frames ${frameMs} ms, queue ${queueMs} ms: the daemon did not come up; skipped`);
      for (const d of unitDaemons) d?.proc.kill('SIGKILL');
      await Promise.all(unitDaemons.map((d) => d?.exited));
      return true;
    }
    /** The unit's daemons together: CPU and RSS summed, and their own count of late frames. */
    const sampleDaemons = () => {
      const xs = unitDaemons.map((d) => sample(d.pid));
      return { at: Date.now(), daemonCpu: xs.reduce((a, x) => a + x.daemonCpu, 0), ffmpegCpu: xs.reduce((a, x) => a + x.ffmpegCpu, 0), daemonRss: xs.reduce((a, x) => a + x.daemonRss, 0), spawnerRss: xs.reduce((a, x) => a + x.spawnerRss, 0), ffmpegRss: xs.reduce((a, x) => a + x.ffmpegRss, 0), ffmpeg: xs.reduce((a, x) => a + x.ffmpeg, 0) };
    };
    const daemonUnderrunMs = async () => {
      let total = 0;
      for (const d of unitDaemons) {
        const text = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('music_bridge_underrun_seconds_total '));
        total += line ? Number(line.split(' ')[1]) * 1000 : 0;
      }
      return total;
    };
    let active = 0;
    let healthy = true;
    const room = (i) => `bench-${tag}-room-${i}`;
    const device = (i) => `bench-${tag}-dev-${i}`;
    for (const target of steps) {
      log(`${burst ? 'burst' : 'step'}: ${target} rooms (${build.name ? `${build.name}, ` : ''}${instances > 1 ? `${instances} instances, ` : ''}frames ${frameMs} ms, queue ${queueMs} ms, ${CONTENT})`);
      const fresh = [];
      for (let i = active; i < target; i++) fresh.push(i);
      // The rooms already playing are listened to while the new ones start: does a burst of starts disturb them?
      const playing = [...Array(active).keys()].map(room);
      const transitionFrom = Date.now();
      listeners.send({ stats: true });
      await listeners.next((e) => e.ev === 'stats' && e.t >= transitionFrom, 'stats before the starts');
      // Each listener is its device, as in production: the daemon's default room policy (member) checks that.
      listeners.send({ join: fresh.map((i) => ({ room: room(i), identity: device(i) })) });
      await Promise.all(fresh.map((i) => listeners.next((e) => e.ev === 'joined' && e.room === room(i), `join ${i}`)));
      const timingsFrom = startTimings.length;
      const replyMs = [];
      const subscribedMs = [];
      const soundMs = [];
      const ttfa = await Promise.all(fresh.map(async (i) => {
        const t0 = Date.now();
        const r = await command(device(i), { type: 'start_continuous_music', session_id: room(i) });
        if (!r.ok) throw new Error(`start ${i}: ${r.message}`);
        replyMs.push(Date.now() - t0); // the reply follows the join and the publication of the track
        const ev = await listeners.next((e) => e.ev === 'tone' && e.room === room(i) && e.first, `first audio in ${room(i)}`).catch(() => undefined);
        const sub = listeners.events.find((e) => e.ev === 'subscribed' && e.room === room(i));
        const sound = listeners.events.find((e) => e.ev === 'first_sound' && e.room === room(i));
        if (sub) subscribedMs.push(sub.t - t0);
        if (sound) soundMs.push(sound.t - t0);
        if (!ev) log(`no audio heard in ${room(i)} within 60 s`);
        return ev ? ev.t - t0 : null;
      }));
      const silentRooms = ttfa.filter((x) => x === null).length;
      const heardTtfa = ttfa.filter((x) => x !== null);
      active = target;
      await sleep(2000); // let the new rooms settle before measuring
      const windowStart = Date.now();
      listeners.send({ stats: true });
      const before = sampleDaemons();
      const othersBefore = [lk.server.proc.pid, listeners.proc.pid].map((pid) => procStat(pid).cpu);
      const underrunBefore = await daemonUnderrunMs();
      const transition = (await listeners.next((e) => e.ev === 'stats' && e.t >= windowStart, 'stats reset')).stats;
      const transitionSilenceMs = playing.reduce((a, r) => a + (transition[r]?.silent ?? 0) * 10, 0);
      await sleep(STEP_SECONDS * 1000);
      const windowEnd = Date.now();
      const after = sampleDaemons();
      const [sfuCpu, listenersCpu] = [lk.server.proc.pid, listeners.proc.pid].map((pid, k) => ((procStat(pid).cpu - othersBefore[k]) / TICK / ((after.at - before.at) / 1000)) * 100);
      const underrunAfter = await daemonUnderrunMs();
      listeners.send({ stats: true });
      const stats = (await listeners.next((e) => e.ev === 'stats' && e.t >= windowEnd, 'stats')).stats;
      const gaps = listeners.events.filter((e) => e.ev === 'tone' && !e.first && e.room.startsWith(`bench-${tag}-`) && e.t >= windowStart && e.t <= windowEnd).map((e) => e.gap_ms);
      // Skip latency in up to SKIP_ROOMS rooms at once: from the command to the next song heard. With
      // tones, the listener also measures the energy outside the two songs' tones around the change.
      const sampleRooms = [...Array(Math.min(SKIP_ROOMS, active)).keys()];
      const skipped = await Promise.all(sampleRooms.map(async (i) => {
        const from = listeners.events.length;
        if (CONTENT === 'tones') listeners.send({ watch: room(i) });
        const t0 = Date.now();
        await command(device(i), { type: 'skip_music' });
        const ev = await listeners.next((e) => e.ev === 'tone' && e.room === room(i), `skip in ${room(i)}`, 20000, from).catch(() => undefined);
        const click = CONTENT === 'tones' ? await listeners.next((e) => e.ev === 'click' && e.room === room(i), `click in ${room(i)}`, 20000, from).catch(() => undefined) : undefined;
        return { ms: ev ? ev.t - t0 : null, residue: click?.residue_ratio ?? null };
      }));
      const skips = skipped.map((x) => x.ms).filter((x) => x !== null);
      const residues = skipped.map((x) => x.residue).filter((x) => x !== null);
      const wallS = (after.at - before.at) / 1000;
      const roomMinutes = (active * wallS) / 60;
      const silentMs = Object.entries(stats).filter(([r]) => r.startsWith(`bench-${tag}-`)).reduce((a, [, s]) => a + s.silent * 10, 0);
      const step = {
        ...(build.name ? { build: build.name } : {}),
        ...(instances > 1 ? { instances } : {}),
        frame_ms: frameMs, queue_ms: queueMs, content: CONTENT, song_seconds: SONG_SECONDS, ...(burst ? { burst: true } : {}),
        rooms: active,
        daemon_cpu_pct: round(((after.daemonCpu - before.daemonCpu) / TICK / wallS) * 100),
        // What shares the machine: the SFU and the listeners (not the daemon's cost, but its competition).
        sfu_cpu_pct: round(sfuCpu),
        listeners_cpu_pct: round(listenersCpu),
        daemon_rss_mb: round(after.daemonRss),
        // Of which the ffmpeg spawner's (a helper process of the daemon's; 0 for a build without it).
        spawner_rss_mb: round(after.spawnerRss),
        ffmpeg_cpu_pct: round(((after.ffmpegCpu - before.ffmpegCpu) / TICK / wallS) * 100),
        ffmpeg_rss_mb: round(after.ffmpegRss),
        ffmpeg_processes: after.ffmpeg,
        underrun_ms_per_room_min: round(silentMs / roomMinutes),
        // Silence heard in the rooms that were playing before this step, while its rooms started, ms per such room.
        start_disturbance_ms_per_playing_room: playing.length ? round(transitionSilenceMs / playing.length) : null,
        daemon_underrun_ms_per_room_min: round((underrunAfter - underrunBefore) / roomMinutes),
        started_rooms: fresh.length,
        start_reply_ms_p50: pct(replyMs, 50), start_reply_ms_p95: pct(replyMs, 95),
        // The listener's side of first audio: its subscription to the bot's track, then the first sound received.
        subscribed_ms_p50: pct(subscribedMs, 50), subscribed_ms_p95: pct(subscribedMs, 95),
        first_sound_ms_p50: pct(soundMs, 50), first_sound_ms_p95: pct(soundMs, 95),
        first_audio_ms_p50: pct(heardTtfa, 50), first_audio_ms_p95: pct(heardTtfa, 95),
        rooms_without_audio: silentRooms,
        skip_ms_p50: pct(skips, 50), skip_ms_p95: pct(skips, 95),
        // Energy outside the songs' tones around a skip, over the music's level (the integration test's bound is 0.25).
        click_residue_p50: pct(residues, 50), click_residue_max: residues.length ? Math.max(...residues) : null,
        gap_ms_p50: pct(gaps, 50), gap_ms_max: gaps.length ? Math.max(...gaps) : null, song_changes: gaps.length,
      };
      step.daemon_cpu_pct_per_room = round(step.daemon_cpu_pct / active);
      const prev = results.at(-1);
      step.rss_mb_per_added_room = prev && prev.build === step.build && prev.instances === step.instances && prev.frame_ms === frameMs && prev.queue_ms === queueMs && !burst && active > prev.rooms ? round((step.daemon_rss_mb - prev.daemon_rss_mb) / (active - prev.rooms)) : null;
      const phases = startTimings.slice(timingsFrom);
      if (burst) {
        step.start_timings = phases.length;
        step.start_phases_ms = Object.fromEntries(START_PHASES.map((ph) => {
          const xs = phases.map((l) => l[`${ph}_ms`]).filter((x) => typeof x === 'number');
          return [ph, { p50: pct(xs, 50), p95: pct(xs, 95) }];
        }));
      }
      results.push(step);
      log(JSON.stringify(step));
      writeReport(); // after every step, so a run cut short still leaves its numbers
      if (silentRooms > 0) {
        log(`${silentRooms} room(s) not heard within 60 s: stopping the ramp`);
        healthy = false;
        break;
      }
      // The daemon's own lateness decides; listener-side silence on a shared 2-core machine also
      // reflects the listeners' and the SFU's share of the CPU, so only gross silence stops the ramp.
      if (step.daemon_underrun_ms_per_room_min > UNDERRUN_LIMIT_MS_PER_MIN || step.underrun_ms_per_room_min > 10 * UNDERRUN_LIMIT_MS_PER_MIN) {
        log('underruns: stopping the ramp');
        healthy = false;
        break;
      }
    }

    if (SOAK_MINUTES > 0 && !burst && results.length > 0) {
      // Memory over time at the last step: the first minute is warm-up, growth is measured after it.
      log(`soak: ${active} rooms for ${SOAK_MINUTES} min`);
      const underrunStart = await daemonUnderrunMs();
      const t0 = Date.now();
      listeners.send({ stats: true });
      const rss = [];
      for (let m = 0; m <= SOAK_MINUTES; m++) {
        if (m > 0) await sleep(60000);
        rss.push(round(sampleDaemons().daemonRss));
        log(`soak minute ${m}: daemon RSS ${rss.at(-1)} MB`);
      }
      const tEnd = Date.now();
      listeners.send({ stats: true });
      const stats = (await listeners.next((e) => e.ev === 'stats' && e.t >= tEnd, 'soak stats')).stats;
      const roomMinutes = (active * (tEnd - t0)) / 60000;
      soak = {
        rooms: active,
        minutes: SOAK_MINUTES,
        daemon_rss_mb_by_minute: rss,
        rss_growth_mb_after_first_minute: round(rss.at(-1) - rss[1 < rss.length ? 1 : 0]),
        underrun_ms_per_room_min: round(Object.values(stats).reduce((a, s) => a + s.silent * 10, 0) / roomMinutes),
        daemon_underrun_ms_per_room_min: round(((await daemonUnderrunMs()) - underrunStart) / roomMinutes),
      };
      log(JSON.stringify(soak));
      writeReport();
    }

    if (RESUME && !burst && active > 0) {
      // A crash and a restart: kill -9 every daemon, start them again with resume on, and time each
      // room from the restart to the first sound of its new track (the listener's new subscription).
      log(`resume: kill -9 and restart with ${active} rooms`);
      for (const d of unitDaemons) d.proc.kill('SIGKILL');
      await Promise.all(unitDaemons.map((d) => d.exited));
      const from = listeners.events.length;
      const t0 = Date.now();
      unitDaemons.length = 0;
      for (let k = 0; k < instances; k++) unitDaemons.push(await startDaemon(k, true));
      const readyMs = Date.now() - t0;
      const heard = await Promise.all([...Array(active).keys()].map(async (i) => {
        const ev = await listeners.next((e) => e.ev === 'first_sound' && e.room === room(i), `resumed ${room(i)}`, 30000, from).catch(() => undefined);
        return ev ? ev.t - t0 : null;
      }));
      const ms = heard.filter((x) => x !== null);
      resumes.push({
        ...(build.name ? { build: build.name } : {}), ...(instances > 1 ? { instances } : {}), frame_ms: frameMs, queue_ms: queueMs,
        rooms: active, heard: ms.length, ready_ms: readyMs, heard_ms_p50: pct(ms, 50), heard_ms_p95: pct(ms, 95), heard_ms_max: ms.length ? Math.max(...ms) : null,
        heard_within_5s: ms.filter((x) => x <= 5000).length,
      });
      log(JSON.stringify(resumes.at(-1)));
      writeReport();
    }

    // The next unit starts from an idle machine: these daemons and their rooms go.
    for (const d of unitDaemons) d.proc.kill('SIGTERM');
    const stopped = await Promise.race([Promise.all(unitDaemons.map((d) => d.exited)).then(() => true), sleep(20000).then(() => false)]);
    if (!stopped) {
      for (const d of unitDaemons) d.proc.kill('SIGKILL');
      await Promise.all(unitDaemons.map((d) => d.exited));
    }
    const rooms = [...Array(active).keys()].map(room);
    const leaveFrom = listeners.events.length;
    listeners.send({ leave: rooms });
    await listeners.next((e) => e.ev === 'left', 'listeners left', 60000, leaveFrom);
    return healthy;
  };

  let n = 0;
  for (const { frameMs, queueMs } of combos) {
    for (const build of BUILDS) {
      for (const instances of INSTANCE_COUNTS) {
        if (BURSTS) {
          for (const size of BURSTS) await runUnit({ frameMs, queueMs, steps: [size], burst: true, tag: `u${n++}`, build, instances });
        } else {
          await runUnit({ frameMs, queueMs, steps: STEPS, burst: false, tag: `u${n++}`, build, instances });
        }
      }
    }
  }
  if (results.length === 0) writeReport();

  listeners.send({ quit: true });
  await client.endAsync();
  await Promise.all([mosq.server.stop(), lk.server.stop()]);
  rmSync(work, { recursive: true, force: true });

  process.stdout.write(md);
}

function round(x) {
  return Math.round(x * 10) / 10;
}

function table(r, chart) {
  const cols = [
    ...(r.steps.some((s) => s.build) ? [['build', 'Build']] : []),
    ...(r.steps.some((s) => s.instances) ? [['instances', 'Instances']] : []),
    ['frame_ms', 'Frame ms'], ['queue_ms', 'Queue ms'],
    ['rooms', 'Rooms'], ['daemon_cpu_pct', 'Daemon CPU %'], ['daemon_cpu_pct_per_room', 'CPU %/room'], ['daemon_rss_mb', 'Daemon RSS MB'], ['rss_mb_per_added_room', 'RSS MB/added room'],
    ['ffmpeg_cpu_pct', 'ffmpeg CPU %'], ['ffmpeg_rss_mb', 'ffmpeg RSS MB'], ['sfu_cpu_pct', 'LiveKit CPU %'], ['listeners_cpu_pct', 'Listeners CPU %'], ['underrun_ms_per_room_min', 'Silence heard ms/room-min'], ['start_disturbance_ms_per_playing_room', 'Silence in playing rooms during the starts ms/room'], ['daemon_underrun_ms_per_room_min', 'Daemon late ms/room-min'],
    ['started_rooms', 'Started at once'], ['rooms_without_audio', 'Rooms not heard'], ['start_reply_ms_p50', 'Start reply p50 ms'],
    ['first_audio_ms_p50', 'First audio p50 ms'], ['first_audio_ms_p95', 'p95'], ['skip_ms_p50', 'Skip p50 ms'], ['skip_ms_p95', 'p95'],
    ['click_residue_max', 'Click residue max'], ['gap_ms_p50', 'Gap p50 ms'], ['gap_ms_max', 'Gap max ms'],
  ];
  const st = r.settings;
  const head = `| ${cols.map((c) => c[1]).join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n`;
  // Steps of runs before the matrix carry no frame/queue of their own: the run's settings apply.
  const rows = r.steps.map((s) => `| ${cols.map((c) => s[c[0]] ?? (c[0] === 'frame_ms' ? st.frame_ms : c[0] === 'queue_ms' ? st.queue_ms : undefined) ?? '-').join(' | ')} |`).join('\n');
  const audio = st.frames_ms ? `Frames ${st.frames_ms.join(', ')} ms × queue ${st.queues_ms.join(', ')} ms (a fresh daemon each)` : `Frames ${st.frame_ms} ms, queue ${st.queue_ms} ms`;
  const bursts = r.steps.filter((s) => s.start_phases_ms);
  const phases = START_PHASES;
  const builds = bursts.some((s) => s.build);
  const burstTable = bursts.length
    ? `\nWhere a start's time goes: the daemon's \`start timings\` lines, ms per phase, p50 / p95 (room_check: from the command to the session, the room policy's question to LiveKit; join_slot: waiting for a join slot; ` +
      `token: minting it; connected: signalling + ICE/DTLS; published: the track; decoder: spawning the first ffmpeg after that, absent when it was spawned while joining; first_frame: the first frame captured). ` +
      `The listener's side: subscribed to the bot's track, then its first sound, ms after the command.\n\n` +
      `| ${builds ? 'Build | ' : ''}Frame ms | Queue ms | Started at once | Lines | First audio p50 / p95 | Subscribed p50 / p95 | First sound p50 / p95 | ${phases.join(' | ')} |\n|${[...(builds ? [''] : []), '', '', '', '', '', '', '', ...phases].map(() => '---').join('|')}|\n` +
      bursts.map((s) => `| ${builds ? `${s.build ?? '-'} | ` : ''}${s.frame_ms} | ${s.queue_ms} | ${s.started_rooms} | ${s.start_timings} | ${s.first_audio_ms_p50 ?? '-'} / ${s.first_audio_ms_p95 ?? '-'} | ` +
        `${s.subscribed_ms_p50 ?? '-'} / ${s.subscribed_ms_p95 ?? '-'} | ${s.first_sound_ms_p50 ?? '-'} / ${s.first_sound_ms_p95 ?? '-'} | ` +
        `${phases.map((p) => `${s.start_phases_ms[p].p50 ?? '-'} / ${s.start_phases_ms[p].p95 ?? '-'}`).join(' | ')} |`).join('\n') + '\n'
    : '';
  return `# Benchmark ${r.date}\n\nMachine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memory_gb} GB, Node ${r.machine.node}${r.machine.load_1m_before !== undefined ? `, load ${r.machine.load_1m_before} before the run` : ''}. ` +
    `${audio}, ${st.step_seconds} s per step, ${st.song_seconds} s songs (${st.content ?? 'tones'}). ` +
    `Daemon, listeners, LiveKit and Mosquitto share the machine.\n\n${chart ? `![CPU per room, silence heard and first audio against rooms](${chart})\n\n` : ''}${head}${rows}\n` +
    burstTable +
    (r.errors?.length ? `\nNot run: ${r.errors.map((e) => `frames ${e.frame_ms} ms / queue ${e.queue_ms} ms (${e.error})`).join('; ')}.\n` : '') +
    (r.resumes ? `\nResume after kill -9 (every daemon killed, then started again; ms from the restart to each room's first sound on the new track):\n\n` +
      `| Build | Instances | Frame ms | Queue ms | Rooms | Heard | Ready ms | Heard p50 ms | p95 | max | Heard within 5 s |\n|---|---|---|---|---|---|---|---|---|---|---|\n` +
      r.resumes.map((x) => `| ${x.build ?? '-'} | ${x.instances ?? 1} | ${x.frame_ms} | ${x.queue_ms} | ${x.rooms} | ${x.heard} | ${x.ready_ms} | ${x.heard_ms_p50 ?? '-'} | ${x.heard_ms_p95 ?? '-'} | ${x.heard_ms_max ?? '-'} | ${x.heard_within_5s} / ${x.rooms} |`).join('\n') + '\n' : '') +
    (r.soak ? `\nSoak: ${r.soak.rooms} rooms for ${r.soak.minutes} min; daemon RSS by minute ${r.soak.daemon_rss_mb_by_minute.join(', ')} MB ` +
      `(growth after the first minute ${r.soak.rss_growth_mb_after_first_minute} MB); silence heard ${r.soak.underrun_ms_per_room_min} ms/room-min, ` +
      `daemon late ${r.soak.daemon_underrun_ms_per_room_min} ms/room-min.\n` : '');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
