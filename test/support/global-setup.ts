import { startStack, type Server } from './stack';

declare global {
  // eslint-disable-next-line no-var
  var __MB_STACK__: Server[] | undefined;
}

/**
 * Starts the real Mosquitto and LiveKit server once for the whole run. MB_SKIP_STACK=1 (npm run
 * test:unit) skips it; the full suite never does, so integration tests cannot be skipped silently.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.MB_SKIP_STACK === '1') return;
  const { info, servers } = await startStack();
  globalThis.__MB_STACK__ = servers;
  process.env.MB_TEST_STACK = JSON.stringify(info);
  process.once('exit', () => servers.forEach((s) => s.proc.kill('SIGKILL')));
}
