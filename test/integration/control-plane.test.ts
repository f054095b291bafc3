import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { hzOf, stackInfo } from '../support/stack';
import { Observations } from '../support/waiter';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];

interface Received {
  topic: string;
  json: Record<string, unknown>;
  correlation?: string;
  retain: boolean;
}

/** A bare MQTT client of the given protocol version that records JSON messages. */
async function rawClient(version: 4 | 5, ...subscriptions: string[]): Promise<{ client: MqttClient; seen: Observations<Received> }> {
  const client = await mqtt.connectAsync(stackInfo().mqttUrl, { clientId: `raw-${randomBytes(4).toString('hex')}`, protocolVersion: version });
  const seen = new Observations<Received>();
  client.on('message', (topic, payload, packet) => {
    try {
      seen.push({ topic, json: JSON.parse(payload.toString()) as Record<string, unknown>, correlation: packet.properties?.correlationData?.toString(), retain: packet.retain });
    } catch {
      seen.push({ topic, json: { text: payload.toString() }, retain: packet.retain });
    }
  });
  for (const s of subscriptions) await client.subscribeAsync(s, { qos: 1 });
  return { client, seen };
}

describe('MQTT control plane (real broker, LiveKit and listener)', () => {
  let daemon: Daemon;
  let app: AppClient;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    daemon = await Daemon.start();
    app = await AppClient.connect(daemon.baseTopic);
  });

  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await app?.close();
    if (daemon) expect(await daemon.stop()).toBe(0);
  });

  async function listen(room: string, identity?: string): Promise<Listener> {
    const l = await Listener.join(room, { identity });
    cleanup.push(() => l.stop());
    return l;
  }

  test('every command does what it says, heard in the room, and its reply carries the state', async () => {
    const device = 'aa:bb:cc:dd:ee:41';
    const room = 'cp-every-command';
    const l = await listen(room);
    const start = await app.command(device, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    expect(start).toMatchObject({ ok: true, error: null, device: 'aabbccddee41', state: { state: 'playing', room, language: 'English', genre: 'pop' } });
    const first = await l.hearTone(POP, 'first song');

    const again = await app.command(device, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    expect(again).toMatchObject({ ok: true, message: 'Music streaming is already active' });

    let mark = l.mark;
    expect(await app.command(device, { type: 'pause_music' })).toMatchObject({ ok: true, state: { state: 'paused' } });
    expect(await app.command(device, { type: 'pause_music' })).toMatchObject({ ok: true, message: 'Music is already paused' });
    await l.hearSilence('silence while paused', mark, 15000, 30);
    mark = l.mark;
    expect(await app.command(device, { type: 'resume_music' })).toMatchObject({ ok: true, state: { state: 'playing' } });
    await l.hearTone([first], 'the same song after resume', mark);

    mark = l.mark;
    const skipped = await app.command(device, { type: 'skip_music', session_id: room });
    const second = await l.hearTone(POP.filter((hz) => hz !== first), 'next song after skip', mark);
    expect((skipped.state as { song: { title: string } }).song.title).toBeTruthy();

    mark = l.mark;
    expect(await app.command(device, { type: 'previous_music' })).toMatchObject({ ok: true });
    expect(await l.hearTone([first], 'the first song again after previous', mark)).toBe(first);
    void second;

    expect(await app.command(device, { type: 'set_volume', volume: 40 })).toMatchObject({ ok: true, state: { volume: 40 } });

    mark = l.mark;
    const play = await app.command(device, { type: 'play_song', query: 'rock one' });
    expect(play).toMatchObject({ ok: true, state: { song: { title: 'Rock One' } } });
    await l.hearTone([hzOf('Rock One')], 'the requested song', mark);
    expect(await app.command(device, { type: 'play_song', query: 'no such song at all' })).toMatchObject({ ok: false, error: 'no_match' });

    const status = await app.command(device, { type: 'get_status' });
    expect(status).toMatchObject({ ok: true, state: { state: 'playing', volume: 40, room } });
    expect((status.state as { queue_length: number }).queue_length).toBeGreaterThan(0);

    expect(await app.command(device, { type: 'stop_continuous_music', session_id: room })).toMatchObject({ ok: true, state: { state: 'idle' } });
    expect(await app.command(device, { type: 'stop_continuous_music', session_id: room })).toMatchObject({ ok: true, message: 'Music streaming is not active' });
    expect(await app.command(device, { type: 'skip_music' })).toMatchObject({ ok: false, error: 'not_playing' });
    const ended = await app.status(device, (s) => s.state === 'idle' && s.reason === 'stopped by command', 'status says why it ended');
    expect(ended.json).toMatchObject({ room: null, song: null });
  });

  test('replies are correlated for MQTT 3.1.1 (request_id) and MQTT 5 (response topic + correlation data)', async () => {
    const base = daemon.baseTopic;
    const v4 = await rawClient(4, `${base}/aabbccddee42/reply`);
    cleanup.push(() => v4.client.endAsync());
    await v4.client.publishAsync(`${base}/aa_bb_cc_dd_ee_42/command`, JSON.stringify({ type: 'get_status', request_id: 'r-311' }), { qos: 1 });
    const r1 = await v4.seen.next((m) => m.json.request_id === 'r-311', 'MQTT 3.1.1 reply');
    expect(r1.json).toMatchObject({ ok: true, command: 'get_status', device: 'aabbccddee42' });

    const v5 = await rawClient(5, `${base}/aabbccddee42/reply/app-7`);
    cleanup.push(() => v5.client.endAsync());
    await v5.client.publishAsync(`${base}/AABBCCDDEE42/command`, JSON.stringify({ type: 'get_status' }), {
      qos: 1,
      properties: { responseTopic: `${base}/aabbccddee42/reply/app-7`, correlationData: Buffer.from('corr-5') },
    });
    const r2 = await v5.seen.next((m) => m.topic.endsWith('/reply/app-7'), 'MQTT 5 reply on the response topic');
    expect(r2.correlation).toBe('corr-5');
    expect(r2.json).toMatchObject({ ok: true, command: 'get_status' });
  });

  test('a subscriber that connects later gets the retained status, bridge state and info', async () => {
    const device = 'aabbccddee43';
    const l = await listen('cp-retained');
    await app.command(device, { type: 'start_continuous_music', session_id: 'cp-retained' });
    await l.hearTone([440, 660, 880, 1320, 550], 'music');
    const late = await rawClient(5, `${daemon.baseTopic}/${device}/status`, `${daemon.baseTopic}/bridge/#`);
    cleanup.push(() => late.client.endAsync());
    const status = await late.seen.next((m) => m.topic.endsWith('/status') && m.topic.includes(device), 'retained status');
    expect(status.retain).toBe(true);
    expect(status.json).toMatchObject({ device, state: 'playing', room: 'cp-retained' });
    expect((await late.seen.next((m) => m.topic.endsWith('/bridge/state'), 'availability')).json).toEqual({ text: 'online' });
    const info = await late.seen.next((m) => m.topic.endsWith('/bridge/info'), 'bridge info');
    expect(JSON.stringify(info.json)).not.toContain('music-bridge-dev-secret');
    const fleet = await late.seen.next((m) => m.topic.endsWith('/bridge/status') && Array.isArray(m.json.sessions), 'bridge status');
    expect((fleet.json.sessions as Array<{ device: string }>).map((s) => s.device)).toContain(device);
    await app.command(device, { type: 'stop_continuous_music' });
  });

  test('the room strategies: template and discover', async () => {
    const tpl = await Daemon.start({ livekit: { roomStrategy: 'template', roomTemplate: 'music-{device}' } });
    cleanup.push(() => tpl.stop());
    const tplApp = await AppClient.connect(tpl.baseTopic);
    cleanup.push(() => tplApp.close());
    const l1 = await listen('music-aabbccddee44');
    const r1 = await tplApp.command('aa:bb:cc:dd:ee:44', { type: 'start_continuous_music', session_id: 'ignored-here' });
    expect(r1).toMatchObject({ ok: true, state: { room: 'music-aabbccddee44' } });
    await l1.hearTone([440, 660, 880, 1320, 550], 'music in the templated room');
    await tplApp.command('aa:bb:cc:dd:ee:44', { type: 'stop_continuous_music' });

    const disc = await Daemon.start({ livekit: { roomStrategy: 'discover' } });
    cleanup.push(() => disc.stop());
    const discApp = await AppClient.connect(disc.baseTopic);
    cleanup.push(() => discApp.close());
    expect(await discApp.command('aa:bb:cc:dd:ee:45', { type: 'start_continuous_music' })).toMatchObject({ ok: false, error: 'room_not_found' });
    // The device itself is in a room, under its own identity: the bridge finds it there.
    const device = await listen('a-room-only-the-device-knows', 'AA:BB:CC:DD:EE:45');
    const r2 = await discApp.command('aabbccddee45', { type: 'start_continuous_music' });
    expect(r2).toMatchObject({ ok: true, state: { room: 'a-room-only-the-device-knows' } });
    await device.hearTone([440, 660, 880, 1320, 550], 'music where the device is');
    await discApp.command('aabbccddee45', { type: 'stop_continuous_music' });
  });

  test('bad payloads get a coded error reply; another room keeps playing and answering', async () => {
    const good = 'aabbccddee46';
    const l = await listen('cp-bad-input');
    await app.command(good, { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: 'cp-bad-input' });
    await l.hearTone([hzOf('Rock One')], 'rock before the bad input');

    const dev = 'aabbccddee47';
    const bad: Array<[string, string]> = [
      ['', 'invalid_json'],
      ['{', 'invalid_json'],
      ['not json', 'invalid_json'],
      ['{"type":"start_continuous_music"', 'invalid_json'],
      ['\u0000\u0001', 'invalid_json'],
      ['null', 'not_an_object'],
      ['42', 'not_an_object'],
      ['"start_continuous_music"', 'not_an_object'],
      ['[{"type":"skip_music"}]', 'not_an_object'],
      ['true', 'not_an_object'],
      ['{}', 'missing_type'],
      ['{"type":""}', 'missing_type'],
      ['{"type":null}', 'missing_type'],
      ['{"type":42}', 'missing_type'],
      ['{"type":["skip_music"]}', 'missing_type'],
      ['{"session_id":"x"}', 'missing_type'],
      ['{"type":"dance"}', 'unknown_command'],
      ['{"type":"START_CONTINUOUS_MUSIC"}', 'unknown_command'],
      ['{"type":"skip_music "}', 'unknown_command'],
      ['{"type":"__proto__"}', 'unknown_command'],
      ['{"type":"start_continuous_music","language":5}', 'invalid_field'],
      ['{"type":"start_continuous_music","genre":{"a":1}}', 'invalid_field'],
      ['{"type":"start_continuous_music","language":"' + 'x'.repeat(500) + '"}', 'invalid_field'],
      ['{"type":"start_continuous_music","session_id":{"room":"x"}}', 'invalid_field'],
      ['{"type":"start_continuous_music","session_id":"a\\nb"}', 'invalid_field'],
      ['{"type":"set_volume"}', 'invalid_field'],
      ['{"type":"set_volume","volume":"50"}', 'invalid_field'],
      ['{"type":"set_volume","volume":101}', 'invalid_field'],
      ['{"type":"set_volume","volume":-1}', 'invalid_field'],
      ['{"type":"set_volume","volume":null}', 'invalid_field'],
      ['{"type":"play_song"}', 'invalid_field'],
      ['{"type":"play_song","query":""}', 'invalid_field'],
      ['{"type":"play_song","query":["a"]}', 'invalid_field'],
      ['{"type":"skip_music","request_id":[1]}', 'invalid_field'],
      [JSON.stringify({ type: 'get_status', pad: 'x'.repeat(5000) }), 'payload_too_large'],
    ];
    for (const [payload, code] of bad) {
      const from = app.messages.items.length;
      await app.publish(`${daemon.baseTopic}/${dev}/command`, payload);
      const reply = await app.messages.next((m) => m.topic === `${daemon.baseTopic}/${dev}/reply`, `error reply to ${payload.slice(0, 40)}`, 10000, from);
      expect({ payload: payload.slice(0, 60), ok: reply.json?.ok, error: reply.json?.error }).toEqual({ payload: payload.slice(0, 60), ok: false, error: code });
      const mark = l.mark;
      expect(await app.command(good, { type: 'get_status' })).toMatchObject({ ok: true, state: { state: 'playing' } });
      await l.hearTone([hzOf('Rock One')], `rock still heard after ${payload.slice(0, 40)}`, mark, 10000, 5);
    }

    // Device ids that could escape the topic tree or a room name go to the errors topic.
    for (const badId of ['x'.repeat(65), 'bridge', 'a b', 'dev*ce']) {
      const from = app.messages.items.length;
      await app.publish(`${daemon.baseTopic}/${badId}/command`, '{"type":"get_status"}');
      const err = await app.messages.next((m) => m.topic === `${daemon.baseTopic}/bridge/errors`, `error for device id ${badId.slice(0, 20)}`, 10000, from);
      expect(err.json).toMatchObject({ ok: false, error: 'invalid_device_id', device: null });
    }
    // One log line per refusal, and the daemon is still there.
    expect(daemon.lines.items.filter((x) => x.message === 'command refused' && x.device === dev)).toHaveLength(bad.length);
    expect(daemon.proc.exitCode).toBeNull();
    await app.command(good, { type: 'stop_continuous_music' });
  }, 120000);

  test('an allowlist refuses unknown devices with device_not_allowed', async () => {
    const d = await Daemon.start({ mqtt: { allowedDevices: ['AA:BB:CC:DD:EE:48'] } });
    cleanup.push(() => d.stop());
    const c = await AppClient.connect(d.baseTopic);
    cleanup.push(() => c.close());
    expect(await c.command('aabbccddee48', { type: 'get_status' })).toMatchObject({ ok: true });
    expect(await c.command('aabbccddee49', { type: 'get_status' })).toMatchObject({ ok: false, error: 'device_not_allowed', state: null });
  });

  test('availability goes offline (the last will) when the daemon is killed', async () => {
    const d = await Daemon.start();
    const watcher = await rawClient(5, `${d.baseTopic}/bridge/state`);
    cleanup.push(() => watcher.client.endAsync());
    const online = await watcher.seen.next(() => true, 'availability');
    expect(online.json).toMatchObject({ text: 'online' });
    const from = watcher.seen.items.length;
    await d.stop('SIGKILL');
    const offline = await watcher.seen.next((m) => m.json.text === 'offline', 'offline after kill', 15000, from);
    expect(offline).toBeTruthy();
  });
});
