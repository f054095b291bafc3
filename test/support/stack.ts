import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import installer from '@ffmpeg-installer/ffmpeg';
import { generateToneCatalog, type ToneSpec } from '../../src/catalog/tone-catalog';
import { freeTcpPort, freeUdpPort } from './ports';

export const ROOT = resolve(__dirname, '..', '..');
export const LIVEKIT_BIN = join(ROOT, '.tools', 'bin', 'livekit-server');
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

export interface Server {
  proc: ChildProcess;
  stop(): Promise<void>;
}

function startProcess(name: string, cmd: string, args: string[]): Server {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL') process.stderr.write(`${name} exited (${code ?? signal}):\n${tail}\n`);
  });
  return {
    proc,
    stop: () =>
      new Promise<void>((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return res();
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** Resolves once `probe` succeeds; rejects after `timeoutMs` or when the process dies first. */
async function waitReady(server: Server, what: string, probe: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null) throw new Error(`${what} exited before it was ready`);
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

export function mosquittoBinary(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) if (existsSync(p)) return p;
  throw new Error('mosquitto is not installed: run scripts/setup-stack.sh');
}

/** Mosquitto on loopback with the project's test config and the given port. */
export async function startMosquitto(port: number, workDir: string): Promise<Server> {
  const conf = join(workDir, `mosquitto-${port}.conf`);
  writeFileSync(conf, `include_dir ${join(ROOT, 'mosquitto', 'test.d')}\nlistener ${port} 127.0.0.1\n`);
  const server = startProcess('mosquitto', mosquittoBinary(), ['-c', conf]);
  await waitReady(server, 'mosquitto', () => tcpOpen(port));
  return server;
}

export interface LiveKitPorts {
  http: number;
  tcp: number;
  udp: number;
}

export async function startLiveKit(ports: LiveKitPorts): Promise<Server> {
  if (!existsSync(LIVEKIT_BIN)) throw new Error(`${LIVEKIT_BIN} is missing: run scripts/setup-stack.sh`);
  const server = startProcess('livekit-server', LIVEKIT_BIN, [
    '--config', join(ROOT, 'config', 'livekit.yaml'),
    '--port', String(ports.http),
    '--rtc.tcp_port', String(ports.tcp),
    '--rtc.udp_port.start', String(ports.udp),
    '--rtc.udp_port.end', String(ports.udp),
  ]);
  await waitReady(server, 'livekit-server', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${ports.http}/`)).ok;
    } catch {
      return false;
    }
  });
  return server;
}

export async function allocateLiveKitPorts(): Promise<LiveKitPorts> {
  return { http: await freeTcpPort(), tcp: await freeTcpPort(), udp: await freeUdpPort() };
}

/** Starts the whole stack on free ports; returns its description and a stop function. */
export async function startStack(): Promise<{ info: StackInfo; servers: Server[] }> {
  const workDir = mkdtempSync(join(tmpdir(), 'music-bridge-test-'));
  const catalog = await generateToneCatalog(join(workDir, 'tracks'), TEST_SONGS, installer.path);
  const mqttPort = await freeTcpPort();
  const lk = await allocateLiveKitPorts();
  const servers = await Promise.all([startMosquitto(mqttPort, workDir), startLiveKit(lk)]);
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
