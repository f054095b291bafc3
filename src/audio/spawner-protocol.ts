/** The messages between the daemon and its spawner process (src/audio/spawner-process.ts). */
import { STDERR_TAIL_CHARS } from './launcher';

/**
 * Daemon → spawner. `stdout` is the Unix socket the daemon listens on for this process's output:
 * the spawner connects to it and hands the connection to ffmpeg as its stdout.
 */
export type ToSpawner = { t: 'spawn'; id: number; args: string[]; stdout: string } | { t: 'kill'; id: number };

/** Spawner → daemon: the process runs, it could not start, or it ended (with the end of its stderr). */
export type FromSpawner =
  | { t: 'spawned'; id: number }
  | { t: 'failed'; id: number; error: string }
  | { t: 'exit'; id: number; code: number | null; signal: string | null; stderr: string };

/** What one spawner takes at most: processes at once, and the size of one request's arguments. */
export const SPAWNER_LIMITS = { processes: 4096, args: 200, argChars: 16384 } as const;

/** The socket for process `id` in the daemon's private directory `dir` (the only paths the spawner connects to). */
export function socketPath(dir: string, id: number): string {
  return `${dir}/${id}.sock`;
}

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isArg = (a: unknown): a is string => typeof a === 'string' && a.length <= SPAWNER_LIMITS.argChars && !a.includes('\0');

/** A request to the spawner whose socket is in `dir`, or undefined for anything else (dropped). */
export function parseToSpawner(raw: unknown, dir: string): ToSpawner | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (!isId(m.id)) return undefined;
  if (m.t === 'kill') return { t: 'kill', id: m.id };
  if (m.t !== 'spawn' || !Array.isArray(m.args) || m.args.length > SPAWNER_LIMITS.args || m.stdout !== socketPath(dir, m.id)) return undefined;
  const args = m.args as unknown[];
  if (!args.every(isArg)) return undefined;
  return { t: 'spawn', id: m.id, args, stdout: m.stdout };
}

/** A report from the spawner, or undefined for anything else (dropped). */
export function parseFromSpawner(raw: unknown): FromSpawner | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (!isId(m.id)) return undefined;
  switch (m.t) {
    case 'spawned':
      return { t: 'spawned', id: m.id };
    case 'exit':
      return {
        t: 'exit',
        id: m.id,
        code: typeof m.code === 'number' ? m.code : null,
        signal: typeof m.signal === 'string' ? m.signal.slice(0, 20) : null,
        stderr: typeof m.stderr === 'string' ? m.stderr.slice(-STDERR_TAIL_CHARS) : '',
      };
    case 'failed':
      return { t: 'failed', id: m.id, error: typeof m.error === 'string' ? m.error.slice(0, 200) : 'failed' };
    default:
      return undefined;
  }
}
