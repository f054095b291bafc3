import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ROOT } from './stack';
import { Observations } from './waiter';

export const CLI = join(ROOT, 'dist', 'cli.js');

/** A child process whose stdout is JSON lines, collected for tests to wait on. */
export class JsonProcess<T extends object> {
  readonly lines = new Observations<T>();
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  private stderr = '';

  /** Runs `dist/cli.js args` (or another `script`); `stdin` 'pipe' lets a test drive it. */
  constructor(args: string[], env: NodeJS.ProcessEnv, opts: { script?: string; stdin?: 'ignore' | 'pipe' } = {}) {
    this.proc = spawn(process.execPath, [opts.script ?? CLI, ...args], { env: { ...process.env, ...env }, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as T);
      } catch {
        /* not JSON: ignore */
      }
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-8000)));
    this.exited = new Promise((res) => this.proc.once('exit', (code) => res(code)));
  }

  get stderrTail(): string {
    return this.stderr;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Sends `signal` and resolves with the exit code (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 8000): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill(signal);
      const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      const code = await this.exited;
      clearTimeout(t);
      return code;
    }
    return this.exited;
  }
}
