import installer from '@ffmpeg-installer/ffmpeg';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateToneCatalog, type ToneSpec } from '../../src/catalog/tone-catalog';
import { Daemon, type DaemonConfig } from '../support/daemon';
import { type Heard, Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { LIVEKIT_KEY, LIVEKIT_SECRET, stackInfo } from '../support/stack';

/** Helpers shared by the audio-*.test.ts integration tests. */

/** A listener frame with levels at the frequencies it was asked about (`listen --tones`). */
export type ToneFrame = Heard & { rms: number; tones: Record<string, number> };

/** A real listener that also reports, per 10 ms frame, the level at each of `tones` (Hz). */
export async function joinWithTones(room: string, tones: number[]): Promise<Listener> {
  const l = new Listener(['listen', '--room', room, '--json', '--url', stackInfo().livekitUrl, '--tones', tones.join(',')], {
    LIVEKIT_API_KEY: LIVEKIT_KEY,
    LIVEKIT_API_SECRET: LIVEKIT_SECRET,
    LOG_LEVEL: 'warn',
  });
  await l.lines.next((h) => h.event === 'joined', `listener joined ${room}`, 20000);
  return l;
}

export function toneFrames(l: Listener, from = 0): ToneFrame[] {
  return l.lines.items.slice(from).filter((h): h is ToneFrame => h.rms !== undefined && 'tones' in h);
}

/** Writes sine-tone songs (one frequency each) and their manifest into a fresh directory; returns the manifest. */
export function toneCatalog(name: string, songs: ToneSpec[]): Promise<string> {
  const dir = mkdtempSync(join(stackInfo().workDir, `${name}-`));
  return generateToneCatalog(dir, songs, installer.path);
}

/** Every process now, from /proc: its parent, its name and its state (Z: a zombie). */
export function processTable(): Map<number, { ppid: number; comm: string; state: string }> {
  const procs = new Map<number, { ppid: number; comm: string; state: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(entry), { ppid: Number(ppid), comm, state: state ?? '' });
    } catch {
      /* ended meanwhile */
    }
  }
  return procs;
}

/** The daemon `pid`'s ffmpeg spawner process, if it runs. */
export function spawnerOf(pid: number, procs = processTable()): number | undefined {
  return [...procs].find(([, p]) => p.ppid === pid && p.state !== 'Z' && p.comm.startsWith('music-bridge-sp'))?.[0];
}

/** Live (not zombie) ffmpeg processes started by the daemon `pid`: its children, or its ffmpeg spawner's. */
export function ffmpegChildren(pid: number): number[] {
  const procs = processTable();
  const spawner = spawnerOf(pid, procs);
  const parents = new Set(spawner === undefined ? [pid] : [pid, spawner]);
  const found: number[] = [];
  for (const [child, p] of procs) {
    try {
      if (parents.has(p.ppid) && p.state !== 'Z' && (p.comm === 'ffmpeg' || isFfmpeg(String(child)))) found.push(child);
    } catch {
      /* ended meanwhile */
    }
  }
  return found;
}

/** A process's command line (NUL-separated), or '' once it has ended. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function isFfmpeg(pid: string): boolean {
  const argv0 = cmdlineOf(Number(pid)).split('\0')[0] ?? '';
  return /(^|\/)ffmpeg$/.test(argv0);
}

/** True while process `pid` runs (a zombie has ended). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Samples the process table every `everyMs` until stopped: there is no event for "a process
 * started", so this is observation, not synchronisation.
 */
export function watchProcesses(sample: () => number[], everyMs = 10): { stop(): { peak: number; seen: Set<number> } } {
  let peak = 0;
  const seen = new Set<number>();
  const take = (): void => {
    const pids = sample();
    peak = Math.max(peak, pids.length);
    pids.forEach((p) => seen.add(p));
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peak, seen };
    },
  };
}

/** Waits until `cond` holds, checking every 50 ms (for system state that has no event). */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** One change of song heard by the listener: the frames from the last solo frame of one tone to the first solo frame of the other. */
export interface Transition {
  from: number;
  to: number;
  /** Frames strictly between the two solo runs. */
  between: ToneFrame[];
  /** Frames in which both tones are heard at once, at least `overlapRatio` of their solo level. */
  overlap: ToneFrame[];
}

/**
 * Finds the song changes between the tones `a` and `b` in `frames`. A frame is "solo" for a tone
 * when that tone is at least `soloRatio` of its solo level and the other is below `overlapRatio`
 * of its own; solo levels are the medians of the frames where each tone dominates.
 */
export function transitions(frames: ToneFrame[], a: number, b: number, opts: { overlapRatio?: number; soloRatio?: number } = {}): Transition[] {
  const overlapRatio = opts.overlapRatio ?? 0.1;
  const soloRatio = opts.soloRatio ?? 0.5;
  const level = (f: ToneFrame, hz: number): number => f.tones[String(hz)] ?? 0;
  const full = (hz: number, other: number): number => median(frames.filter((f) => level(f, hz) > 4 * level(f, other)).map((f) => level(f, hz)));
  const fullA = full(a, b);
  const fullB = full(b, a);
  const solo = (f: ToneFrame): number | undefined => {
    if (level(f, a) >= soloRatio * fullA && level(f, b) < overlapRatio * fullB) return a;
    if (level(f, b) >= soloRatio * fullB && level(f, a) < overlapRatio * fullA) return b;
    return undefined;
  };
  const result: Transition[] = [];
  let last: { hz: number; index: number } | undefined;
  frames.forEach((f, i) => {
    const hz = solo(f);
    if (hz === undefined) return;
    if (last && hz !== last.hz) {
      const between = frames.slice(last.index + 1, i);
      const overlap = between.filter((x) => level(x, a) >= overlapRatio * fullA && level(x, b) >= overlapRatio * fullB);
      result.push({ from: last.hz, to: hz, between, overlap });
    }
    last = { hz, index: i };
  });
  return result;
}

/**
 * A daemon playing `catalog` (with `audio` settings), an app client and a listener with `tones` in
 * `room`; each is stopped by `cleanup` (run in reverse).
 */
export async function daemonAndListener(o: { catalog: string; audio?: DaemonConfig[string]; room: string; tones: number[]; cleanup: Array<() => Promise<unknown>> }): Promise<{ daemon: Daemon; app: AppClient; listener: Listener }> {
  const daemon = await Daemon.start({ catalog: { location: o.catalog }, ...(o.audio ? { audio: o.audio } : {}) });
  o.cleanup.push(() => daemon.stop());
  const app = await AppClient.connect(daemon.baseTopic);
  o.cleanup.push(() => app.close());
  const listener = await joinWithTones(o.room, o.tones);
  o.cleanup.push(() => listener.stop());
  return { daemon, app, listener };
}
