import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { SAMPLE_SONGS } from '../../src/catalog/sample-catalog';
import { Listener } from '../support/listener';
import { CLI } from '../support/processes';
import { ROOT } from '../support/stack';
import { Observations } from '../support/waiter';

const exec = promisify(execFile);
const ENGLISH_POP = SAMPLE_SONGS.filter((s) => s.language === 'English' && s.genres.includes('pop')).map((s) => s.hz);

/** Every live process below `pid` (children, grandchildren, ...). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z') parentOf.set(Number(entry), Number(ppid));
    } catch {
      /* ended meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, parent] of parentOf) if (parent === p) out.push(child), walk(child);
  };
  walk(pid);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** `music-bridge dev` as a new user runs it: the whole stack in one command, Ctrl-C ends it all. */
describe('music-bridge dev', () => {
  let dev: ChildProcess | undefined;
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
    if (dev && dev.exitCode === null) dev.kill('SIGKILL');
  });

  test('brings up Mosquitto, LiveKit and the daemon; a start from the CLI is heard; Ctrl-C leaves nothing running', async () => {
    dev = spawn(process.execPath, [CLI, 'dev'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new Observations<string>();
    createInterface({ input: dev.stdout! }).on('line', (l) => out.push(l));
    createInterface({ input: dev.stderr! }).on('line', (l) => out.push(l));
    const exited = new Promise<number | null>((resolve) => dev!.once('exit', (code) => resolve(code)));

    const banner = await out.next((l) => /^music-bridge dev: Mosquitto on/.test(l), 'the dev banner', 240000);
    const [, mqttPort, livekitUrl] = /Mosquitto on 127\.0\.0\.1:(\d+), LiveKit on (ws:\S+)/.exec(banner)!;
    await out.next((l) => l.includes('Ctrl-C stops everything'), 'the next steps');
    const env = { ...process.env, MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`, LIVEKIT_URL: livekitUrl };
    const running = descendants(dev.pid!);
    expect(running.length).toBeGreaterThanOrEqual(3); // Mosquitto, LiveKit, the daemon

    const listener = await Listener.join('demo-room', { url: livekitUrl });
    cleanup.push(() => listener.stop());
    // The daemon may still be connecting to the broker: `send` waits for its availability.
    const sent = await exec(process.execPath, [CLI, 'send', 'aa:bb:cc:dd:ee:ff', 'start', '--language', 'English', '--genre', 'pop', '--session', 'demo-room'], { env, cwd: ROOT });
    expect(sent.stdout).toMatch(/Started continuous music/);
    await listener.hearTone(ENGLISH_POP, 'sample English pop in demo-room', 0, 30000);

    const everything = descendants(dev.pid!); // now with the daemon's ffmpeg too
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
    expect([...new Set([...running, ...everything])].filter(alive)).toEqual([]);
  }, 300000);
});
