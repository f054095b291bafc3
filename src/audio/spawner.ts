import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../ops/logger';
import { DirectLauncher, type LaunchedProcess, type Launcher, type ProcessExit } from './launcher';
import { type FromSpawner, parseFromSpawner, SPAWNER_LIMITS, socketPath } from './spawner-protocol';

/** A launch the spawner has not answered within this long fails (and its process, if any, is killed). */
const LAUNCH_TIMEOUT_MS = 10_000;
/** This many spawner exits within CRASH_WINDOW_MS: launch from the daemon itself until the window passes. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;
/** The spawner's V8 heap: it holds a map of processes, nothing else. */
const SPAWNER_HEAP_MB = 32;
/** Longest Unix socket path (sun_path is 108 bytes on Linux, with room for the id). */
const MAX_SOCKET_DIR_CHARS = 80;
/** The sockets' directory: `<tmp>/music-bridge-spawner-<daemon pid>-<random>`. */
const DIR_PREFIX = 'music-bridge-spawner-';

/**
 * Removes the socket directories of daemons that are gone (killed before they could remove theirs),
 * so crashes do not pile them up in a container's /tmp. Only directories of this user are touched.
 */
export function removeStaleDirs(dir = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const path = join(dir, name);
    try {
      if (statSync(path).uid === process.getuid?.()) rmSync(path, { recursive: true, force: true });
    } catch {
      /* gone meanwhile, or not ours */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Entry {
  server: Server;
  stdout?: Socket;
  spawned: boolean;
  resolve: (p: LaunchedProcess) => void;
  reject: (err: Error) => void;
  exited: (e: ProcessExit) => void;
  exit: Promise<ProcessExit>;
  timer: NodeJS.Timeout;
}

/** Handed to its decoder: spawned, and its output connected. An entry lives in the map until it ends. */
function launched(entry: Entry): entry is Entry & { stdout: Socket } {
  return entry.spawned && entry.stdout !== undefined;
}

export interface SpawnerOptions {
  ffmpegPath: string;
  log: Logger;
  /** Called when the spawner ended without being stopped. */
  onEnded?: () => void;
  /** The compiled spawner script; default: next to this module (absent when run from the TypeScript sources). */
  script?: string;
}

/**
 * Launches ffmpeg through the spawner process (src/audio/spawner-process.ts), so the fork's cost
 * is not the daemon's event loop's. For each process the daemon listens on a Unix socket in a
 * private directory (0700); the spawner connects and gives the connection to ffmpeg as its stdout.
 *
 * `start()` starts the spawner and `stop()` ends it. If it dies, the processes it started lose their
 * output (ffmpeg exits on its next write), their exits are reported as killed, and the next launch
 * starts a new spawner. Whenever there is no spawner (its script is missing, it keeps dying, or
 * `stop()` ran), launches go through the daemon itself.
 */
export class Spawner implements Launcher {
  private child: ChildProcess | undefined;
  private readonly entries = new Map<number, Entry>();
  private readonly direct: DirectLauncher;
  private readonly script: string;
  private dir: string | undefined;
  private nextId = 1;
  private crashes: number[] = [];
  private stopped = true;

  constructor(private readonly opts: SpawnerOptions) {
    this.direct = new DirectLauncher(opts.ffmpegPath);
    this.script = opts.script ?? join(__dirname, 'spawner-process.js');
  }

  /** Starts the spawner process (launches before this go through the daemon itself). */
  start(): void {
    this.stopped = false;
    this.ensure();
  }

  /** The spawner's pid, while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  launch(args: readonly string[]): Promise<LaunchedProcess> {
    const child = this.stopped ? undefined : this.ensure();
    if (!child || !this.dir || this.entries.size >= SPAWNER_LIMITS.processes) return this.direct.launch(args);
    const id = this.nextId++;
    const path = socketPath(this.dir, id);
    return new Promise<LaunchedProcess>((resolve, reject) => {
      let exited: (e: ProcessExit) => void = () => undefined;
      const exit = new Promise<ProcessExit>((done) => (exited = done));
      const server = createServer((socket) => this.connected(id, socket));
      const timer = setTimeout(() => this.fail(id, new Error('ffmpeg could not start: the spawner did not answer')), LAUNCH_TIMEOUT_MS);
      timer.unref();
      this.entries.set(id, { server, spawned: false, resolve, reject, exited, exit, timer });
      server.once('error', (err) => this.fail(id, new Error(`ffmpeg could not start: ${err.message}`)));
      server.listen(path, () => {
        if (!this.entries.has(id)) return;
        child.send({ t: 'spawn', id, args: [...args], stdout: path }, (err) => {
          if (err) this.fail(id, new Error(`ffmpeg could not start: ${err.message}`));
        });
      });
    });
  }

  /** Ends the spawner (it kills any ffmpeg still running) and waits for it, at most `timeoutMs`. */
  async stop(timeoutMs = 1000): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await gone;
      clearTimeout(timer);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private ensure(): ChildProcess | undefined {
    if (this.child) return this.child;
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    if (this.crashes.length >= MAX_CRASHES || !existsSync(this.script)) return undefined;
    // Only this user may connect to the sockets: the directory is created 0700.
    if (!this.dir) {
      removeStaleDirs();
      this.dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
    }
    if (this.dir.length > MAX_SOCKET_DIR_CHARS) return undefined;
    // No inherited flags: a daemon under --cpu-prof or --inspect must not pass them on.
    const child = fork(this.script, [this.opts.ffmpegPath, this.dir], { execArgv: [`--max-old-space-size=${SPAWNER_HEAP_MB}`], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child = child;
    child.on('message', (raw: unknown) => this.onMessage(parseFromSpawner(raw)));
    child.on('error', (err) => this.opts.log.warn('ffmpeg spawner error', { error: err.message }));
    child.once('exit', (code, signal) => {
      this.child = undefined;
      this.orphan();
      if (this.stopped) return;
      this.crashes.push(Date.now());
      this.opts.onEnded?.();
      this.opts.log.warn('ffmpeg spawner ended; the next song starts a new one', { code, signal, crashes: this.crashes.length });
    });
    this.opts.log.debug('ffmpeg spawner started', { pid: child.pid });
    return child;
  }

  private connected(id: number, socket: Socket): void {
    const entry = this.entries.get(id);
    entry?.server.close();
    if (!entry || entry.stdout) return void socket.destroy();
    entry.stdout = socket;
    socket.on('error', () => undefined);
    this.maybeLaunched(id, entry);
  }

  private onMessage(msg: FromSpawner | undefined): void {
    const entry = msg && this.entries.get(msg.id);
    if (!msg || !entry) return;
    switch (msg.t) {
      case 'spawned':
        entry.spawned = true;
        return this.maybeLaunched(msg.id, entry);
      case 'failed':
        return this.fail(msg.id, new Error(`ffmpeg could not start: ${msg.error}`));
      case 'exit':
        return this.ended(msg.id, { code: msg.code, signal: msg.signal, stderr: msg.stderr });
    }
  }

  /** Running once it has been spawned and its output is connected (in either order); each happens once. */
  private maybeLaunched(id: number, entry: Entry): void {
    if (!launched(entry)) return;
    clearTimeout(entry.timer);
    entry.resolve({
      stdout: entry.stdout,
      exit: entry.exit,
      kill: () => {
        if (this.entries.get(id) === entry) this.child?.send({ t: 'kill', id }, () => undefined);
      },
    });
  }

  private ended(id: number, how: ProcessExit): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    clearTimeout(entry.timer);
    entry.server.close();
    if (!launched(entry)) {
      // Ended before its output was connected: nothing was decoded, and the launch fails.
      entry.stdout?.destroy();
      entry.reject(new Error(`ffmpeg could not start: it ended at once (${how.signal ?? `code ${how.code}`})`));
    }
    entry.exited(how);
  }

  private fail(id: number, err: Error): void {
    const entry = this.entries.get(id);
    if (!entry || launched(entry)) return;
    this.child?.send({ t: 'kill', id }, () => undefined);
    this.entries.delete(id);
    clearTimeout(entry.timer);
    entry.server.close();
    entry.stdout?.destroy();
    entry.exited({ code: null, signal: null, stderr: '' });
    entry.reject(err);
  }

  /** The spawner is gone: its processes lose their output (ffmpeg exits on its next write) and count as killed. */
  private orphan(): void {
    for (const [id, entry] of [...this.entries]) {
      if (!launched(entry)) {
        this.fail(id, new Error('ffmpeg could not start: the spawner ended'));
        continue;
      }
      entry.stdout?.destroy();
      this.ended(id, { code: null, signal: 'SIGKILL', stderr: '' });
    }
  }
}
