import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import installer from '@ffmpeg-installer/ffmpeg';
import { generateToneCatalog, type ToneSpec } from '../../src/catalog/tone-catalog';
import { PROJECT_ROOT, startLiveKitOnFreePorts, startMosquittoOnFreePort, type Server } from '../../src/ops/local-stack';

export { type Server } from '../../src/ops/local-stack';
export const ROOT = PROJECT_ROOT;
export const LIVEKIT_KEY = 'devkey';
export const LIVEKIT_SECRET = 'music-bridge-dev-secret-0123456789abcdef';

/** Test tracks: a distinct frequency per song so the listener can tell which one plays. */
export const TEST_SONGS: ToneSpec[] = [
  { title: 'Pop One', language: 'English', genres: ['pop'], hz: 440, seconds: 4, format: 'mp3', aliases: ['first pop'] },
  { title: 'Pop Two', language: 'English', genres: ['pop'], hz: 660, seconds: 4, format: 'mp3' },
  { title: 'Pop Three', language: 'English', genres: ['pop'], hz: 880, seconds: 4, format: 'mp3' },
  { title: 'Rock One', language: 'English', genres: ['rock'], hz: 1320, seconds: 4, format: 'mp3' },
  { title: 'Hindi Pop', language: 'Hindi', genres: ['pop'], hz: 550, seconds: 4, format: 'ogg' },
];

export function hzOf(title: string): number {
  const s = TEST_SONGS.find((t) => t.title === title);
  if (!s) throw new Error(`no test song ${title}`);
  return s.hz;
}

/** What integration tests need to reach the stack; passed from global setup through the environment. */
export interface StackInfo {
  mqttUrl: string;
  mqttPort: number;
  livekitUrl: string;
  livekitHttp: string;
  catalog: string;
  workDir: string;
}

export function stackInfo(): StackInfo {
  const raw = process.env.MB_TEST_STACK;
  if (!raw) throw new Error('the test stack is not running (global setup did not start it)');
  return JSON.parse(raw) as StackInfo;
}

/** Starts the whole stack on free ports; returns its description and a stop function. */
export async function startStack(): Promise<{ info: StackInfo; servers: Server[] }> {
  const workDir = mkdtempSync(join(tmpdir(), 'music-bridge-test-'));
  const catalog = await generateToneCatalog(join(workDir, 'tracks'), TEST_SONGS, installer.path);
  const [mosquitto, livekit] = await Promise.all([startMosquittoOnFreePort(workDir), startLiveKitOnFreePorts()]);
  const mqttPort = mosquitto.port;
  const lk = livekit.ports;
  const servers = [mosquitto.server, livekit.server];
  return {
    servers,
    info: {
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      mqttPort,
      livekitUrl: `ws://127.0.0.1:${lk.http}`,
      livekitHttp: `http://127.0.0.1:${lk.http}`,
      catalog,
      workDir,
    },
  };
}
