import installer from '@ffmpeg-installer/ffmpeg';
import { execFile } from 'node:child_process';

/** The configured ffmpeg, else the static build shipped with the package (no system ffmpeg needed). */
export function resolveFfmpegPath(configured: string): string {
  return configured || installer.path;
}

/** What the daemon knows about its ffmpeg, probed once at start-up. */
export interface FfmpegInfo {
  path: string;
  /** From `ffmpeg -version` ("N-47683-g0e8eb07980-static", "5.1.6-0+deb12u1"), or `unknown` when it did not answer. */
  version: string;
  /** The http protocol has `-max_redirects` (not in the 2018 bundled build, which stops after a built-in 8). */
  maxRedirects: boolean;
}

/** Runs `ffmpeg -version` and `-h protocol=http`, each bounded by `timeoutMs`; never throws. */
export async function probeFfmpeg(path: string, timeoutMs = 5000): Promise<FfmpegInfo> {
  const [version, http] = await Promise.all([run(path, ['-version'], timeoutMs), run(path, ['-hide_banner', '-h', 'protocol=http'], timeoutMs)]);
  const match = /^ffmpeg version (\S+)/m.exec(version);
  return { path, version: match?.[1] ?? 'unknown', maxRedirects: /-max_redirects\b/.test(http) };
}

function run(path: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    // execFile kills the child at the timeout but reports only when its pipes close, which a
    // grandchild (a wrapper script's) can hold open: the own timer bounds the answer either way.
    const timer = setTimeout(() => resolve(''), timeoutMs + 500);
    execFile(path, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (_err, stdout, stderr) => {
      clearTimeout(timer);
      resolve(`${stdout}\n${stderr}`);
    });
  });
}
