import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startLiveKit, startLiveKitOnFreePorts, startMosquitto, startMosquittoOnFreePort, type Server } from '../../src/ops/local-stack';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { hzOf, stackInfo } from '../support/stack';
import { Observations } from '../support/waiter';

const ANY = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three'), hzOf('Rock One'), hzOf('Hindi Pop')];

/** Pids of ffmpeg processes reading files under `dir` (the test tracks), whoever their parent is now. */
function ffmpegReading(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('ffmpeg') && cmd.some((arg) => arg.startsWith(dir))) out.push(Number(entry));
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

describe('resilience (real servers restarted under the daemon)', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  test('Mosquitto restarts mid-song: music goes on, a command sent meanwhile is answered, statuses are back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'music-bridge-broker-'));
    chmodSync(dir, 0o777); // Mosquitto started as root drops to its own user, which writes here
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const extra = `persistence_location ${dir}/\n`;
    const started = await startMosquittoOnFreePort(dir, 'persist.d', undefined, 3, extra);
    let broker: Server = started.server;
    const port = started.port;
    cleanup.push(() => broker.stop());
    const url = `mqtt://127.0.0.1:${port}`;

    const daemon = await Daemon.start({ mqtt: { url } });
    cleanup.push(() => daemon.stop());
    const listener = await Listener.join('res-broker');
    cleanup.push(() => listener.stop());
    const app = await mqtt.connectAsync(url, { clientId: 'res-app', clean: false, reconnectPeriod: 200, protocolVersion: 5 });
    cleanup.push(() => app.endAsync(true));
    const seen = new Observations<{ topic: string; body: Record<string, unknown> }>();
    app.on('message', (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }));
    const base = daemon.baseTopic;
    await app.subscribeAsync(`${base}/aabbccddee61/reply`, { qos: 1 });
    await app.publishAsync(`${base}/aabbccddee61/command`, JSON.stringify({ type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: 'res-broker', request_id: 'start' }), { qos: 1 });
    await seen.next((m) => m.body.request_id === 'start', 'start reply');
    const first = await listener.hearTone(ANY, 'music before the outage');

    await broker.stop();
    const during = listener.mark;
    // The app keeps a QoS 1 command while the broker is away and sends it on reconnect.
    const queued = app.publishAsync(`${base}/aabbccddee61/command`, JSON.stringify({ type: 'skip_music', request_id: 'during' }), { qos: 1 });
    await listener.hearTone(ANY, 'music while the broker is down', during);
    await daemon.lines.next((l) => l.message === 'mqtt offline', 'the daemon notices the outage');

    broker = await startMosquitto(port, dir, 'persist.d', extra);
    await queued;
    const reply = await seen.next((m) => m.body.request_id === 'during', 'reply to the command sent during the outage', 30000);
    expect(reply.body).toMatchObject({ ok: true, command: 'skip_music' });
    await listener.hearTone(ANY.filter((hz) => hz !== first), 'the skip is heard', during);

    const late = await AppClient.connectTo(url, base);
    cleanup.push(() => late.close());
    await late.status('aabbccddee61', (s) => s.state === 'playing', 'retained status after the restart');
    await late.messages.next((m) => m.topic === `${base}/bridge/state` && m.text === 'online', 'availability online again');
  }, 90000);

  test('the LiveKit server restarts: the bot rejoins and the listener hears music again without a new start', async () => {
    const lk = await startLiveKitOnFreePorts();
    let server = lk.server;
    cleanup.push(() => server.stop());
    const url = `ws://127.0.0.1:${lk.ports.http}`;
    const daemon = await Daemon.start({ livekit: { url } });
    cleanup.push(() => daemon.stop());
    const app = await AppClient.connect(daemon.baseTopic);
    cleanup.push(() => app.close());

    const before = await Listener.join('res-livekit', { url });
    cleanup.push(() => before.stop());
    await app.command('aabbccddee62', { type: 'start_continuous_music', session_id: 'res-livekit' });
    await before.hearTone(ANY, 'music before the restart');

    const from = app.messages.items.length;
    server.kill();
    await app.status('aabbccddee62', (s) => s.state === 'reconnecting', 'status says reconnecting', from, 30000);
    server = await startLiveKit(lk.ports);

    const after = await Listener.join('res-livekit', { url });
    cleanup.push(() => after.stop());
    await after.hearTone(ANY, 'music after the restart', 0, 45000);
    await app.status('aabbccddee62', (s) => s.state === 'playing', 'status back to playing', from, 30000);
    // The SDK's own log lines stay out of the daemon's JSON stream, even while it reconnects.
    expect(daemon.lines.items.filter((l) => typeof l.message !== 'string')).toEqual([]);
  }, 120000);

  test('the listener leaves: the bot leaves after the empty-room timeout and the status says why', async () => {
    const daemon = await Daemon.start({ sessions: { emptyRoomTimeoutMs: 1500 } });
    cleanup.push(() => daemon.stop());
    const app = await AppClient.connect(daemon.baseTopic);
    cleanup.push(() => app.close());
    const listener = await Listener.join('res-empty');
    await app.command('aabbccddee63', { type: 'start_continuous_music', session_id: 'res-empty' });
    await listener.hearTone(ANY, 'music');
    const from = app.messages.items.length;
    await listener.stop();
    const ended = await app.status('aabbccddee63', (s) => s.state === 'idle', 'idle after the room emptied', from, 20000);
    expect(ended.json?.reason).toMatch(/no other participant/);
  });

  test('a second bridge with the same identity takes the room; the first ends with an error and does not fight', async () => {
    const [one, two] = await Promise.all([Daemon.start(), Daemon.start()]);
    cleanup.push(() => one.stop(), () => two.stop());
    const [app1, app2] = await Promise.all([AppClient.connect(one.baseTopic), AppClient.connect(two.baseTopic)]);
    cleanup.push(() => app1.close(), () => app2.close());
    const listener = await Listener.join('res-dup');
    cleanup.push(() => listener.stop());

    await app1.command('aabbccddee64', { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: 'res-dup' });
    await listener.hearTone([hzOf('Rock One')], 'the first bridge plays');
    await app2.command('aabbccddee64', { type: 'start_continuous_music', language: 'Hindi', session_id: 'res-dup' });
    const kicked = await app1.status('aabbccddee64', (s) => s.state === 'error', 'the first bridge ends');
    expect(kicked.json?.error).toMatch(/same identity|bot identity/);
    const mark = listener.mark;
    await listener.hearTone([hzOf('Hindi Pop')], 'the second bridge plays on', mark);
    expect(one.lines.items.filter((l) => l.message === 'room rejoined')).toEqual([]);
  });

  test('20 devices with different commands at once: each ends in the state its own commands imply', async () => {
    const daemon = await Daemon.start();
    cleanup.push(() => daemon.stop());
    const app = await AppClient.connect(daemon.baseTopic);
    cleanup.push(() => app.close());
    const start = (room: string) => ({ type: 'start_continuous_music', session_id: room });
    const scripts: Array<{ commands: Array<Record<string, unknown>>; state: string; volume?: number }> = [];
    for (let i = 0; i < 20; i++) {
      const room = `res-many-${i}`;
      const variants = [
        { commands: [start(room)], state: 'playing' },
        { commands: [start(room), { type: 'stop_continuous_music' }], state: 'idle' },
        { commands: [start(room), { type: 'pause_music' }], state: 'paused' },
        { commands: [start(room), { type: 'pause_music' }, { type: 'resume_music' }, { type: 'skip_music' }], state: 'playing' },
        { commands: [start(room), { type: 'set_volume', volume: 10 + i }], state: 'playing', volume: 10 + i },
        { commands: [start(room), { type: 'stop_continuous_music' }, start(room)], state: 'playing' },
        { commands: [{ type: 'skip_music' }, { type: 'pause_music' }], state: 'idle' },
      ];
      scripts.push(variants[i % variants.length]);
    }
    const device = (i: number) => `aabbccdd${(0x70 + i).toString(16).padStart(4, '0')}`;
    // All devices at once; each device's commands in order.
    await Promise.all(scripts.map(async (s, i) => {
      for (const c of s.commands) await app.command(device(i), c, 40000);
    }));
    for (const [i, s] of scripts.entries()) {
      const status = await app.command(device(i), { type: 'get_status' });
      expect({ device: i, state: (status.state as { state: string }).state }).toEqual({ device: i, state: s.state });
      if (s.volume !== undefined) expect((status.state as { volume: number }).volume).toBe(s.volume);
    }
    await Promise.all(scripts.map((_, i) => app.command(device(i), { type: 'stop_continuous_music' })));
  }, 120000);

  test('SIGTERM with 5 rooms playing: exit 0, offline, final statuses say what played (for the resume), no ffmpeg left', async () => {
    const daemon = await Daemon.start();
    cleanup.push(() => daemon.stop());
    const app = await AppClient.connect(daemon.baseTopic);
    cleanup.push(() => app.close());
    const listeners = await Promise.all([0, 1, 2, 3, 4].map((i) => Listener.join(`res-term-${i}`)));
    cleanup.push(() => Promise.all(listeners.map((l) => l.stop())));
    await Promise.all([0, 1, 2, 3, 4].map((i) => app.command(`aabbccddee8${i}`, { type: 'start_continuous_music', session_id: `res-term-${i}` })));
    await Promise.all(listeners.map((l) => l.hearTone(ANY, 'music in every room')));

    const from = app.messages.items.length;
    expect(await daemon.stop('SIGTERM')).toBe(0);
    await app.messages.next((m) => m.topic === `${daemon.baseTopic}/bridge/state` && m.text === 'offline', 'offline', 5000, from);
    // sessions.resume (default): the last status keeps saying playing, so the next start resumes it.
    for (const i of [0, 1, 2, 3, 4]) await app.status(`aabbccddee8${i}`, (s) => s.state === 'playing' && s.reason === 'bridge shutting down', `final status of room ${i}`, from, 5000);
    // Orphans would be re-parented, so look for any ffmpeg still reading this run's test tracks.
    expect(ffmpegReading(stackInfo().workDir)).toEqual([]);
    expect(daemon.lines.items.map((l) => l.message)).toContain('stopped');
  });

  test('LiveKit unreachable at start: a clear error reply, and the daemon keeps serving', async () => {
    const daemon = await Daemon.start({ livekit: { url: 'ws://127.0.0.1:9', connectTimeoutMs: 2000 } });
    cleanup.push(() => daemon.stop());
    const app = await AppClient.connect(daemon.baseTopic);
    cleanup.push(() => app.close());
    const r = await app.command('aabbccddee65', { type: 'start_continuous_music', session_id: 'nowhere' });
    expect(r).toMatchObject({ ok: false, error: 'join_failed' });
    expect(await app.command('aabbccddee65', { type: 'get_status' })).toMatchObject({ ok: true });
  });

  test('sessions.max: a start beyond the limit is refused with session_limit; the playing room is untouched; a freed slot can be used', async () => {
    const daemon = await Daemon.start({ sessions: { max: 1 } });
    cleanup.push(() => daemon.stop());
    const app = await AppClient.connect(daemon.baseTopic);
    cleanup.push(() => app.close());
    const [first, second] = await Promise.all([Listener.join('res-limit-1'), Listener.join('res-limit-2')]);
    cleanup.push(() => first.stop(), () => second.stop());

    await app.command('aabbccddee66', { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: 'res-limit-1' });
    await first.hearTone([hzOf('Rock One')], 'the first room plays');
    const refused = await app.command('aabbccddee67', { type: 'start_continuous_music', session_id: 'res-limit-2' });
    expect(refused).toMatchObject({ ok: false, error: 'session_limit' });
    expect(String(refused.message)).toMatch(/limit is 1/);
    await first.hearTone([hzOf('Rock One')], 'the first room plays on', first.mark);

    expect(await app.command('aabbccddee66', { type: 'stop_continuous_music' })).toMatchObject({ ok: true });
    expect(await app.command('aabbccddee67', { type: 'start_continuous_music', session_id: 'res-limit-2' })).toMatchObject({ ok: true });
    await second.hearTone(ANY, 'the second room plays once a slot is free');
  });
});
