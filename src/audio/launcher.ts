import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** ffmpeg's stderr kept per process: the end of it (what it prints is neither trusted nor bounded). */
export const STDERR_TAIL_CHARS = 8000;

/** How a process ended: its exit code or the signal that ended it, and the end of its stderr. */
export interface ProcessExit {
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** One running ffmpeg, as the audio layer sees it: its output, its end, and a kill. */
export interface LaunchedProcess {
  readonly stdout: Readable;
  /** Resolves once the process has ended and its stderr has been read (never rejects). */
  readonly exit: Promise<ProcessExit>;
  /** SIGKILL; a no-op once it has ended. */
  kill(): void;
}

/**
 * The port through which the audio layer runs ffmpeg (always the one configured binary, given only
 * its arguments). Rejects when the process could not be started; the message is the cause.
 */
export interface Launcher {
  launch(args: readonly string[]): Promise<LaunchedProcess>;
}

/** Keeps the last STDERR_TAIL_CHARS of a stream; resolves with them once it has ended. */
export function stderrTail(stream: Readable): Promise<string> {
  let tail = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => (tail = (tail + d).slice(-STDERR_TAIL_CHARS)));
  return finished(stream).then(
    () => tail,
    () => tail,
  );
}

/** Spawns ffmpeg from this process (the fork costs the event loop more the more memory the process holds). */
export class DirectLauncher implements Launcher {
  constructor(private readonly ffmpegPath: string) {}

  launch(args: readonly string[]): Promise<LaunchedProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.once('error', (err) => reject(new Error(`ffmpeg could not start: ${err.message}`)));
      child.once('spawn', () => {
        const ended = new Promise<[number | null, string | null]>((done) => child.once('exit', (code, signal) => done([code, signal])));
        const exit = Promise.all([ended, stderrTail(child.stderr)]).then(([[code, signal], stderr]) => ({ code, signal, stderr }));
        resolve({
          stdout: child.stdout,
          exit,
          kill: () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          },
        });
      });
    });
  }
}
