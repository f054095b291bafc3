import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFfmpegPath } from '../audio/ffmpeg-path';
import { ensureSampleCatalog } from '../catalog/sample-catalog';
import { portOr, PROJECT_ROOT, SETUP_SCRIPT, startLiveKitOnFreePorts, startMosquittoOnFreePort, type Server } from './local-stack';

const DEMO_DEVICE = 'aa:bb:cc:dd:ee:ff';
const DEMO_ROOM = 'demo-room';

/**
 * Everything on this machine in one command: installs/builds what is missing, starts Mosquitto and
 * the LiveKit server on loopback, generates the sample catalog, runs the daemon in the foreground
 * and prints what to try. Ctrl-C stops all of it.
 */
export async function runDev(): Promise<number> {
  await run('bash', [SETUP_SCRIPT]);
  const catalog = await ensureSampleCatalog(join(PROJECT_ROOT, 'config', 'sample-catalog'), resolveFfmpegPath(process.env.FFMPEG_PATH ?? ''));

  const workDir = mkdtempSync(join(tmpdir(), 'music-bridge-dev-'));
  const servers: Server[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    // The daemon first, so it can say goodbye to the broker and the rooms.
    for (const s of [...servers].reverse()) await s.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    if (stopping) process.exit(130); // a second Ctrl-C: stop waiting
    process.stdout.write('\nstopping music-bridge, LiveKit and Mosquitto...\n');
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const mqtt = await startMosquittoOnFreePort(workDir, 'dev.d', 1883);
    servers.push(mqtt.server);
    const mqttPort = mqtt.port;
    const { server, ports: lk } = await startLiveKitOnFreePorts(7880);
    servers.push(server);
    const httpPort = await portOr(9464);
    const env: Record<string, string> = {
      HTTP_PORT: String(httpPort),
      HTTP_CONSOLE: 'true', // on loopback: open, no token
      MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
      LIVEKIT_URL: `ws://127.0.0.1:${lk.http}`,
      // Everything is on loopback and the demo device never joins its room, so any room may be named;
      // production keeps the default (member): docs/security.md.
      LIVEKIT_ROOM_POLICY: 'any',
      CATALOG_LOCATION: catalog,
    };
    const daemon = startDaemon(env, () => {
      if (!stopping) void stopAll().then(() => process.exit(1));
    });
    servers.push(daemon);
    printNextSteps(mqttPort, lk.http, httpPort);
    await new Promise<never>(() => undefined); // runs until a signal
  } catch (err) {
    await stopAll();
    throw err;
  }
  return 0;
}

/** The daemon with its JSON logs on this terminal. */
function startDaemon(env: Record<string, string>, onExit: () => void): Server {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli.js'), 'start'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', onExit);
  return {
    name: 'music-bridge',
    proc: child,
    tail: () => '',
    kill: () => child.kill('SIGKILL'),
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}

function printNextSteps(mqttPort: number, livekitPort: number, httpPort: number): void {
  const envPrefix = [mqttPort !== 1883 ? `MQTT_URL=mqtt://127.0.0.1:${mqttPort}` : '', livekitPort !== 7880 ? `LIVEKIT_URL=ws://127.0.0.1:${livekitPort}` : '']
    .filter(Boolean)
    .join(' ');
  const cli = `${envPrefix ? `${envPrefix} ` : ''}npx music-bridge`;
  process.stdout.write(`
music-bridge dev: Mosquitto on 127.0.0.1:${mqttPort}, LiveKit on ws://127.0.0.1:${livekitPort}
In another terminal, from this directory:
  ${cli} listen --room ${DEMO_ROOM}
  ${cli} send ${DEMO_DEVICE} start --language English --genre pop --session ${DEMO_ROOM}
  ${cli} send ${DEMO_DEVICE} skip
  ${cli} send ${DEMO_DEVICE} stop
Web console: http://127.0.0.1:${httpPort}/console
Health and metrics: http://127.0.0.1:${httpPort}/readyz and http://127.0.0.1:${httpPort}/metrics
or publish the app's JSON yourself on music-bridge/${DEMO_DEVICE}/command, e.g.
  {"type":"start_continuous_music","language":"English","genre":"pop","session_id":"${DEMO_ROOM}"}
Ctrl-C stops everything.

`);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: PROJECT_ROOT });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code})`))));
  });
}
