// npm run bench: how many rooms one machine streams, how fast commands are heard, what a room costs.
// Real Mosquitto and LiveKit, the daemon in its own process, listeners in another. Ramps the number
// of playing rooms step by step and writes bench/results/<stamp>.{json,md} and latest.md.
// Env: BENCH_STEPS (1,10,25,50,100), BENCH_STEP_SECONDS (30), BENCH_PROFILE=1 (daemon --cpu-prof),
// BENCH_QUEUE_MS / BENCH_FRAME_MS (audio settings under test), BENCH_SOAK_MINUTES (after the ramp,
// keep the last step playing this long and sample the daemon's RSS every minute).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';

const require = createRequire(import.meta.url);
const stack = require('../dist/ops/local-stack.js');
const { generateToneCatalog } = require('../dist/catalog/tone-catalog.js');
const ffmpegPath = require('@ffmpeg-installer/ffmpeg').path;

const ROOT = stack.PROJECT_ROOT;
const STEPS = (process.env.BENCH_STEPS ?? '1,10,25,50,100').split(',').map(Number);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 30);
const PROFILE = process.env.BENCH_PROFILE === '1';
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 0);
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
function children(pid) {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = procStat(Number(e));
      if (st.ppid === pid && st.comm === 'ffmpeg') out.push({ pid: Number(e), ...st, rss: rssMb(Number(e)) });
    } catch {}
  }
  return out;
}
function sample(pid) {
  const d = procStat(pid);
  const kids = children(pid);
  return { at: Date.now(), daemonCpu: d.cpu, ffmpegCpu: d.childCpu + kids.reduce((a, k) => a + k.cpu, 0), daemonRss: rssMb(pid), ffmpegRss: kids.reduce((a, k) => a + k.rss, 0), ffmpeg: kids.length };
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
  const next = (pred, what, timeoutMs = 60000) => {
    const found = events.find(pred);
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
  const work = mkdtempSync(join(tmpdir(), 'music-bridge-bench-'));
  const songs = [440, 523, 587, 659, 784, 880].map((hz, i) => ({ title: `Bench ${i + 1}`, language: 'English', genres: ['pop'], hz, seconds: 12, format: 'mp3' }));
  const catalog = await generateToneCatalog(join(work, 'tracks'), songs, ffmpegPath);
  const [mosq, lk] = await Promise.all([stack.startMosquittoOnFreePort(work), stack.startLiveKitOnFreePorts()]);
  const livekitUrl = `ws://127.0.0.1:${lk.ports.http}`;
  const mqttUrl = `mqtt://127.0.0.1:${mosq.port}`;
  // The daemon's defaults unless a run asks for other settings.
  const defaults = require('../dist/config/load.js').loadConfig({ env: {} }).config.audio;
  const queueMs = Number(process.env.BENCH_QUEUE_MS ?? defaults.queueMs);
  const frameMs = Number(process.env.BENCH_FRAME_MS ?? defaults.frameMs);
  const httpPort = await stack.freeTcpPort();
  const config = {
    mqtt: { url: mqttUrl, baseTopic: 'bench', clientId: 'bench-daemon' },
    livekit: { url: livekitUrl, apiKey: KEY, apiSecret: SECRET },
    catalog: { location: catalog },
    audio: { queueMs, frameMs },
    sessions: { max: 1000, emptyRoomTimeoutMs: 0 },
    http: { port: httpPort },
    log: { level: 'warn' },
  };
  const daemonUnderrunMs = async () => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('music_bridge_underrun_seconds_total '));
    return line ? Number(line.split(' ')[1]) * 1000 : 0;
  };
  writeFileSync(join(work, 'config.json'), JSON.stringify(config));
  const profDir = join(ROOT, 'bench', 'results', 'profile');
  if (PROFILE) mkdirSync(profDir, { recursive: true });
  const nodeArgs = PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const daemon = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist', 'cli.js'), 'start', '--config', join(work, 'config.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: daemon.stdout }).on('line', (l) => { if (/"level":"(error|warn)"/.test(l)) log('daemon:', l.slice(0, 300)); });
  let listeners;
  // Whatever happens, leave no server, daemon or listener behind.
  const cleanup = () => {
    for (const p of [daemon, listeners?.proc, mosq.server.proc, lk.server.proc]) p?.kill('SIGKILL');
  };
  process.once('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
  listeners = jsonChild(process.execPath, [join(ROOT, 'bench', 'listeners.mjs'), livekitUrl, KEY, SECRET], {});
  await listeners.next((e) => e.ev === 'ready', 'listeners ready');

  const client = await mqtt.connectAsync(mqttUrl, { clientId: 'bench-app' });
  const replies = new Map();
  client.on('message', (t, p) => {
    if (!t.endsWith('/reply')) return;
    const r = JSON.parse(p.toString());
    replies.get(r.request_id)?.(r);
  });
  const online = new Promise((resolve) => client.on('message', (t, p) => t === 'bench/bridge/state' && p.toString() === 'online' && resolve()));
  await client.subscribeAsync('bench/+/reply', { qos: 1 });
  await client.subscribeAsync('bench/bridge/state', { qos: 1 });
  await online;
  let rid = 0;
  const command = (device, body) => new Promise((resolve) => {
    const id = `r${rid++}`;
    replies.set(id, resolve);
    client.publish(`bench/${device}/command`, JSON.stringify({ ...body, request_id: id }), { qos: 1 });
  });

  const results = [];
  const started = new Date();
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memory_gb: round(totalmem() / 2 ** 30), node: process.version };
  const dir = join(ROOT, 'bench', 'results');
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  let md = '';
  let soak;
  const writeReport = () => {
    const report = { date: started.toISOString(), machine, settings: { step_seconds: STEP_SECONDS, queue_ms: queueMs, frame_ms: frameMs, song_seconds: 12 }, steps: results, ...(soak ? { soak } : {}) };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
    md = table(report);
    writeFileSync(join(dir, `${stamp}.md`), md);
    writeFileSync(join(dir, 'latest.md'), md);
  };
  let active = 0;
  const room = (i) => `bench-room-${i}`;
  const device = (i) => `bench-dev-${i}`;
  for (const target of STEPS) {
    log(`step: ${target} rooms`);
    const fresh = [];
    for (let i = active; i < target; i++) fresh.push(i);
    listeners.send({ join: fresh.map(room) });
    await Promise.all(fresh.map((i) => listeners.next((e) => e.ev === 'joined' && e.room === room(i), `join ${i}`)));
    const replyMs = [];
    const ttfa = await Promise.all(fresh.map(async (i) => {
      const t0 = Date.now();
      const r = await command(device(i), { type: 'start_continuous_music', session_id: room(i) });
      if (!r.ok) throw new Error(`start ${i}: ${r.message}`);
      replyMs.push(Date.now() - t0); // the reply follows the join and the publication of the track
      const ev = await listeners.next((e) => e.ev === 'tone' && e.room === room(i) && e.first, `first audio in ${room(i)}`).catch(() => undefined);
      if (!ev) log(`no audio heard in ${room(i)} within 60 s`);
      return ev ? ev.t - t0 : null;
    }));
    const silentRooms = ttfa.filter((x) => x === null).length;
    const heardTtfa = ttfa.filter((x) => x !== null);
    active = target;
    await sleep(2000); // let the new rooms settle before measuring
    const windowStart = Date.now();
    listeners.send({ stats: true });
    const before = sample(daemon.pid);
    const othersBefore = [lk.server.proc.pid, listeners.proc.pid].map((pid) => procStat(pid).cpu);
    const underrunBefore = await daemonUnderrunMs();
    await listeners.next((e) => e.ev === 'stats' && e.t >= windowStart, 'stats reset');
    await sleep(STEP_SECONDS * 1000);
    const windowEnd = Date.now();
    const after = sample(daemon.pid);
    const [sfuCpu, listenersCpu] = [lk.server.proc.pid, listeners.proc.pid].map((pid, k) => ((procStat(pid).cpu - othersBefore[k]) / TICK / ((after.at - before.at) / 1000)) * 100);
    const underrunAfter = await daemonUnderrunMs();
    listeners.send({ stats: true });
    const stats = (await listeners.next((e) => e.ev === 'stats' && e.t >= windowEnd, 'stats')).stats;
    const gaps = listeners.events.filter((e) => e.ev === 'tone' && !e.first && e.t >= windowStart && e.t <= windowEnd).map((e) => e.gap_ms);
    // Skip latency in up to 10 rooms at once.
    const sampleRooms = [...Array(Math.min(10, active)).keys()];
    const skips = await Promise.all(sampleRooms.map(async (i) => {
      const from = listeners.events.length;
      const t0 = Date.now();
      await command(device(i), { type: 'skip_music' });
      const ev = await listeners.next((e) => e.ev === 'tone' && e.room === room(i) && listeners.events.indexOf(e) >= from, `skip in ${room(i)}`, 20000).catch(() => undefined);
      return ev ? ev.t - t0 : null;
    })).then((xs) => xs.filter((x) => x !== null));
    const wallS = (after.at - before.at) / 1000;
    const roomMinutes = (active * wallS) / 60;
    const silentMs = Object.values(stats).reduce((a, s) => a + s.silent * 10, 0);
    const step = {
      rooms: active,
      daemon_cpu_pct: round(((after.daemonCpu - before.daemonCpu) / TICK / wallS) * 100),
      // What shares the machine: the SFU and the listeners (not the daemon's cost, but its competition).
      sfu_cpu_pct: round(sfuCpu),
      listeners_cpu_pct: round(listenersCpu),
      daemon_rss_mb: round(after.daemonRss),
      ffmpeg_cpu_pct: round(((after.ffmpegCpu - before.ffmpegCpu) / TICK / wallS) * 100),
      ffmpeg_rss_mb: round(after.ffmpegRss),
      ffmpeg_processes: after.ffmpeg,
      underrun_ms_per_room_min: round(silentMs / roomMinutes),
      daemon_underrun_ms_per_room_min: round((underrunAfter - underrunBefore) / roomMinutes),
      started_rooms: fresh.length,
      start_reply_ms_p50: pct(replyMs, 50), start_reply_ms_p95: pct(replyMs, 95),
      first_audio_ms_p50: pct(heardTtfa, 50), first_audio_ms_p95: pct(heardTtfa, 95),
      rooms_without_audio: silentRooms,
      skip_ms_p50: pct(skips, 50), skip_ms_p95: pct(skips, 95),
      gap_ms_p50: pct(gaps, 50), gap_ms_max: gaps.length ? Math.max(...gaps) : null, song_changes: gaps.length,
    };
    step.daemon_cpu_pct_per_room = round(step.daemon_cpu_pct / active);
    const prev = results.at(-1);
    step.rss_mb_per_added_room = prev ? round((step.daemon_rss_mb - prev.daemon_rss_mb) / (active - prev.rooms)) : null;
    results.push(step);
    log(JSON.stringify(step));
    writeReport(); // after every step, so a run cut short still leaves its numbers
    if (silentRooms > 0) {
      log(`${silentRooms} room(s) not heard within 60 s: stopping the ramp`);
      break;
    }
    // The daemon's own lateness decides; listener-side silence on a shared 2-core machine also
    // reflects the listeners' and the SFU's share of the CPU, so only gross silence stops the ramp.
    if (step.daemon_underrun_ms_per_room_min > UNDERRUN_LIMIT_MS_PER_MIN || step.underrun_ms_per_room_min > 10 * UNDERRUN_LIMIT_MS_PER_MIN) {
      log('underruns: stopping the ramp');
      break;
    }
  }

  if (SOAK_MINUTES > 0 && results.length > 0) {
    // Memory over time at the last step: the first minute is warm-up, growth is measured after it.
    log(`soak: ${active} rooms for ${SOAK_MINUTES} min`);
    const underrunStart = await daemonUnderrunMs();
    const t0 = Date.now();
    listeners.send({ stats: true });
    const rss = [];
    for (let m = 0; m <= SOAK_MINUTES; m++) {
      if (m > 0) await sleep(60000);
      rss.push(round(sample(daemon.pid).daemonRss));
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

  listeners.send({ quit: true });
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  await client.endAsync();
  await Promise.all([mosq.server.stop(), lk.server.stop()]);
  rmSync(work, { recursive: true, force: true });

  process.stdout.write(md);
}

function round(x) {
  return Math.round(x * 10) / 10;
}

function table(r) {
  const cols = [
    ['rooms', 'Rooms'], ['daemon_cpu_pct', 'Daemon CPU %'], ['daemon_cpu_pct_per_room', 'CPU %/room'], ['daemon_rss_mb', 'Daemon RSS MB'], ['rss_mb_per_added_room', 'RSS MB/added room'],
    ['ffmpeg_cpu_pct', 'ffmpeg CPU %'], ['ffmpeg_rss_mb', 'ffmpeg RSS MB'], ['sfu_cpu_pct', 'LiveKit CPU %'], ['listeners_cpu_pct', 'Listeners CPU %'], ['underrun_ms_per_room_min', 'Silence heard ms/room-min'], ['daemon_underrun_ms_per_room_min', 'Daemon late ms/room-min'],
    ['started_rooms', 'Started at once'], ['rooms_without_audio', 'Rooms not heard'], ['start_reply_ms_p50', 'Start reply p50 ms'],
    ['first_audio_ms_p50', 'First audio p50 ms'], ['first_audio_ms_p95', 'p95'], ['skip_ms_p50', 'Skip p50 ms'], ['skip_ms_p95', 'p95'],
    ['gap_ms_p50', 'Gap p50 ms'], ['gap_ms_max', 'Gap max ms'],
  ];
  const head = `| ${cols.map((c) => c[1]).join(' | ')} |\n|${cols.map(() => '---').join('|')}|\n`;
  const rows = r.steps.map((s) => `| ${cols.map((c) => s[c[0]] ?? '-').join(' | ')} |`).join('\n');
  return `# Benchmark ${r.date}\n\nMachine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memory_gb} GB, Node ${r.machine.node}. ` +
    `Frames ${r.settings.frame_ms} ms, queue ${r.settings.queue_ms} ms, ${r.settings.step_seconds} s per step, ${r.settings.song_seconds} s songs. ` +
    `Daemon, listeners, LiveKit and Mosquitto share the machine.\n\n${head}${rows}\n` +
    (r.soak ? `\nSoak: ${r.soak.rooms} rooms for ${r.soak.minutes} min; daemon RSS by minute ${r.soak.daemon_rss_mb_by_minute.join(', ')} MB ` +
      `(growth after the first minute ${r.soak.rss_growth_mb_after_first_minute} MB); silence heard ${r.soak.underrun_ms_per_room_min} ms/room-min, ` +
      `daemon late ${r.soak.daemon_underrun_ms_per_room_min} ms/room-min.\n` : '');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
