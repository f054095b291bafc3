/**
 * The spawner: a small process of the daemon's own that starts its ffmpeg processes. A fork copies
 * the page tables of the process that forks, so spawning from the daemon blocks its event loop for
 * longer the more memory it holds (about 20 ms at 300 MB, up to 70 ms under load); from this
 * process it takes a couple of milliseconds, and not on the daemon's thread.
 *
 * It runs only the binary it was started with (argv[2]); the daemon sends arguments and the path of
 * a Unix socket in its private directory (argv[3]) that it listens on. This process connects to
 * that socket and hands the connection to ffmpeg as its stdout, keeping no copy: the PCM goes from
 * ffmpeg to the daemon without passing through here. It keeps the end of ffmpeg's stderr and
 * reports it with the exit. When the daemon goes (the channel closes), every ffmpeg is killed and
 * this ends. The protocol: src/audio/spawner-protocol.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { stderrTail } from './launcher';
import { type FromSpawner, parseToSpawner, SPAWNER_LIMITS } from './spawner-protocol';

const [, , ffmpegPath, socketDir] = process.argv;
/** Requests being started (connecting) or running, by id; a kill that arrives first is remembered. */
const children = new Map<number, ChildProcess | 'starting' | 'killed'>();

process.title = 'music-bridge-spawner';

function tell(msg: FromSpawner): void {
  if (process.connected) process.send?.(msg, undefined, {}, () => undefined);
}

function start(id: number, args: string[], stdout: string): void {
  if (children.has(id) || children.size >= SPAWNER_LIMITS.processes) return tell({ t: 'failed', id, error: 'too many processes' });
  children.set(id, 'starting');
  const socket = connect(stdout);
  socket.once('error', (err) => {
    children.delete(id);
    tell({ t: 'failed', id, error: `output socket: ${err.message}` });
  });
  socket.once('connect', () => {
    if (children.get(id) === 'killed') {
      children.delete(id);
      socket.destroy();
      return tell({ t: 'failed', id, error: 'killed before it started' });
    }
    const child = spawn(ffmpegPath!, args, { stdio: ['ignore', socket, 'pipe'] });
    // ffmpeg has its own copy of the connection now (or never will): this process keeps none.
    socket.destroy();
    children.set(id, child);
    const tail = child.stderr ? stderrTail(child.stderr) : Promise.resolve('');
    child.once('error', (err) => {
      children.delete(id);
      tell({ t: 'failed', id, error: err.message });
    });
    child.once('spawn', () => tell({ t: 'spawned', id }));
    child.once('exit', (code, signal) => {
      children.delete(id);
      void tail.then((stderr) => tell({ t: 'exit', id, code, signal, stderr }));
    });
  });
}

process.on('message', (raw: unknown) => {
  const msg = parseToSpawner(raw, socketDir!);
  if (!msg) return;
  if (msg.t === 'spawn') return start(msg.id, msg.args, msg.stdout);
  const child = children.get(msg.id);
  if (child === 'starting') children.set(msg.id, 'killed');
  else if (child && child !== 'killed') child.kill('SIGKILL');
});

process.on('disconnect', () => {
  for (const child of children.values()) if (typeof child === 'object') child.kill('SIGKILL');
  process.exit(0);
});

if (!ffmpegPath || !socketDir || !process.send) process.exit(2);
