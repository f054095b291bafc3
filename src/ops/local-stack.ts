import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server as NetServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * Starts the servers music-bridge runs beside (Mosquitto, LiveKit) on this machine, on loopback.
 * Used by the dev command and the test suite; production runs them as their own services.
 */

/** The project checkout (dist/ops or src/ops → two levels up). */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const LIVEKIT_BIN = join(PROJECT_ROOT, '.tools', 'bin', 'livekit-server');
export const LIVEKIT_CONFIG = join(PROJECT_ROOT, 'config', 'livekit.yaml');
export const SETUP_SCRIPT = join(PROJECT_ROOT, 'scripts', 'setup-stack.sh');

export interface Server {
  readonly name: string;
  readonly proc: ChildProcess;
  /** The last few KB of its output, for error messages. */
  readonly tail: () => string;
  stop(): Promise<void>;
  /** Kills it at once (a crash, for tests); not reported as unexpected. */
  kill(): void;
}

export function startProcess(name: string, cmd: string, args: string[], onUnexpectedExit?: (text: string) => void): Server {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  let stopping = false;
  proc.on('exit', (code, signal) => {
    if (!stopping) (onUnexpectedExit ?? ((t) => process.stderr.write(t)))(`${name} exited (${code ?? signal}):\n${tail}\n`);
  });
  return {
    name,
    proc,
    tail: () => tail,
    kill: () => {
      stopping = true;
      proc.kill('SIGKILL');
    },
    stop: () =>
      new Promise<void>((res) => {
        stopping = true;
        if (proc.exitCode !== null || proc.signalCode !== null) return res();
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** Resolves once `probe` succeeds; rejects after `timeoutMs` or when the process dies first. */
export async function waitReady(server: Server, probe: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) throw new Error(`${server.name} exited before it was ready:\n${server.tail()}`);
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${server.name} not ready after ${timeoutMs} ms:\n${server.tail()}`);
}

export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** A TCP port free on loopback right now (the OS picks it). */
export async function freeTcpPort(): Promise<number> {
  return (await freeTcpPorts(1))[0];
}

/** `n` distinct free TCP ports: all held open together, so the OS cannot hand out one twice. */
export async function freeTcpPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<NetServer>((res, rej) => {
      const srv = createServer();
      srv.once('error', rej);
      srv.listen(0, '127.0.0.1', () => res(srv));
    })),
  );
  const ports = servers.map((srv) => (srv.address() as { port: number }).port);
  await Promise.all(servers.map((srv) => new Promise((res) => srv.close(res))));
  return ports;
}

export function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const sock = createSocket('udp4');
    sock.once('error', rej);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => res(port));
    });
  });
}

/** `preferred` when nothing listens there, else a free port. */
export async function portOr(preferred: number): Promise<number> {
  return (await tcpOpen(preferred)) ? freeTcpPort() : preferred;
}

export function mosquittoBinary(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto']) if (existsSync(p)) return p;
  throw new Error('mosquitto is not installed: run scripts/setup-stack.sh');
}

/** Mosquitto on a free port (or `preferred` when free), retrying when the port is taken meanwhile. */
export async function startMosquittoOnFreePort(workDir: string, confDir = 'test.d', preferred?: number, attempts = 3, extraConf = ''): Promise<{ server: Server; port: number }> {
  for (let i = 1; ; i++) {
    const port = i === 1 && preferred ? await portOr(preferred) : await freeTcpPort();
    try {
      return { server: await startMosquitto(port, workDir, confDir, extraConf), port };
    } catch (err) {
      if (i >= attempts) throw err;
    }
  }
}

/** Mosquitto on loopback with the settings in `mosquitto/<confDir>` and the given port. */
export async function startMosquitto(port: number, workDir: string, confDir = 'test.d', extraConf = ''): Promise<Server> {
  const conf = join(workDir, `mosquitto-${port}.conf`);
  writeFileSync(conf, `include_dir ${join(PROJECT_ROOT, 'mosquitto', confDir)}\nlistener ${port} 127.0.0.1\n${extraConf}`);
  const server = startProcess('mosquitto', mosquittoBinary(), ['-c', conf]);
  await waitReady(server, () => tcpOpen(port));
  return server;
}

export interface LiveKitPorts {
  http: number;
  tcp: number;
  udp: number;
}

export async function allocateLiveKitPorts(preferredHttp?: number): Promise<LiveKitPorts> {
  const [http, tcp] = await freeTcpPorts(2);
  return { http: preferredHttp ? await portOr(preferredHttp) : http, tcp, udp: await freeUdpPort() };
}

/**
 * The LiveKit server built by scripts/setup-stack.sh, on loopback, from config/livekit.yaml. When a
 * port was taken between choosing and binding it, tries again on fresh ports (not the preferred ones).
 */
export async function startLiveKitOnFreePorts(preferredHttp?: number, attempts = 3): Promise<{ server: Server; ports: LiveKitPorts }> {
  for (let i = 1; ; i++) {
    const ports = await allocateLiveKitPorts(i === 1 ? preferredHttp : undefined);
    try {
      return { server: await startLiveKit(ports), ports };
    } catch (err) {
      if (i >= attempts || !/address already in use/.test(String(err))) throw err;
    }
  }
}

export async function startLiveKit(ports: LiveKitPorts): Promise<Server> {
  if (!existsSync(LIVEKIT_BIN)) throw new Error(`${LIVEKIT_BIN} is missing: run scripts/setup-stack.sh`);
  const server = startProcess('livekit-server', LIVEKIT_BIN, [
    '--config', LIVEKIT_CONFIG,
    '--port', String(ports.http),
    '--rtc.tcp_port', String(ports.tcp),
    '--rtc.udp_port.start', String(ports.udp),
    '--rtc.udp_port.end', String(ports.udp),
  ]);
  await waitReady(server, async () => {
    try {
      return (await fetch(`http://127.0.0.1:${ports.http}/`)).ok;
    } catch {
      return false;
    }
  });
  return server;
}
