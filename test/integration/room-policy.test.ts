import { randomBytes, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { startAclBroker } from '../support/acl-broker';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { testScope } from '../support/scope';
import { hzOf } from '../support/stack';
import { Observations } from '../support/waiter';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];
const ROCK = hzOf('Rock One');
const A = 'aabbccddee61';
const B = 'aabbccddee62';
const BOT = 'music-bridge';

interface Device {
  client: MqttClient;
  seen: Observations<{ topic: string; text: string }>;
  command(body: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * B's room keeps playing B's pop after A's attempt: from `mark`, 3 s of frames (counted, not
 * timed) without a silent stretch, without A's rock, and the bot never leaves or rejoins.
 */
async function bKeepsPlaying(listener: Listener, mark: number): Promise<void> {
  let frames = 0;
  await listener.lines.until((items) => (frames = items.slice(mark).filter((h) => h.rms !== undefined).length) >= 300, '3 s more of B\'s room', 20000);
  const heard = listener.lines.items.slice(mark);
  const audio = heard.filter((h) => h.rms !== undefined);
  expect(audio.filter((h) => Math.abs((h.hz ?? 0) - ROCK) <= 12 && h.rms! > 0.02)).toEqual([]);
  let silent = 0;
  let longest = 0;
  for (const h of audio) longest = Math.max(longest, (silent = h.rms! < 0.005 ? silent + 1 : 0));
  expect(longest).toBeLessThan(10); // no gap of 100 ms or more
  expect(heard.filter((h) => (h.event === 'participant_left' || h.event === 'participant_joined') && h.identity === BOT)).toEqual([]);
  expect(heard.filter((h) => h.event === 'data' && JSON.stringify(h.message).includes('rock'))).toEqual([]);
  await listener.hearTone(POP, 'B\'s pop still playing', mark);
  expect(frames).toBeGreaterThanOrEqual(300);
}

/**
 * A device may play only into its own rooms (livekit.roomPolicy), on the real stack with the shipped
 * per-device ACL and logins: device A naming B's room is refused, and B's room hears nothing of it.
 */
describe('room policy, with the shipped ACL in force', () => {
  let broker: Awaited<ReturnType<typeof startAclBroker>> | undefined;
  let port = 0;
  const passwords: Record<string, string> = { 'music-bridge': `bridge-${randomBytes(8).toString('hex')}`, [A]: 'pw-61', [B]: 'pw-62' };
  const stops: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    broker = await startAclBroker(passwords);
    port = broker.port;
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  /** The daemon logs in with its password inside the URL (mqtt.url), as MQTT_URL often carries it. */
  async function daemon(livekit: Record<string, unknown>): Promise<Daemon> {
    const d = await Daemon.start({ mqtt: { url: `mqtt://music-bridge:${passwords['music-bridge']}@127.0.0.1:${port}`, baseTopic: 'music-bridge' }, livekit });
    stops.push(() => d.stop());
    return d;
  }

  async function login(user: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: user, password: passwords[user], protocolVersion: 5, reconnectPeriod: 0 });
    stops.push(() => client.endAsync());
    return client;
  }

  async function device(id: string): Promise<Device> {
    const client = await login(id);
    const seen = new Observations<{ topic: string; text: string }>();
    client.on('message', (topic, payload) => seen.push({ topic, text: payload.toString() }));
    await client.subscribeAsync(`music-bridge/${id}/reply`, { qos: 1 });
    return {
      client,
      seen,
      async command(body) {
        const requestId = randomBytes(6).toString('hex');
        await client.publishAsync(`music-bridge/${id}/command`, JSON.stringify({ ...body, request_id: requestId }), { qos: 1 });
        const reply = await seen.next((m) => m.text.includes(`"${requestId}"`), `reply to ${String(body.type)} of ${id}`, 20000);
        return JSON.parse(reply.text) as Record<string, unknown>;
      },
    };
  }

  async function listen(room: string, identity?: string): Promise<Listener> {
    const l = await Listener.join(room, { identity });
    stops.push(() => l.stop());
    return l;
  }


  test('member: A naming the room B is in gets room_not_allowed; B\'s music plays on; A plays in its own room (any MAC spelling)', async () => {
    const bridge = await daemon({ roomPolicy: 'member' });
    const [a, b] = await Promise.all([device(A), device(B)]);
    const roomB = `${randomUUID()}_${B}_voice`;

    // Not a participant of a room that does not exist, nor of B's room before B is in it.
    expect(await b.command({ type: 'start_continuous_music', session_id: roomB })).toMatchObject({ ok: false, error: 'room_not_allowed' });

    const bInRoom = await listen(roomB, B); // the device B joins its room; this listener is B
    const started = await b.command({ type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: roomB });
    expect(started).toMatchObject({ ok: true, device: B, session_id: roomB });
    await bInRoom.hearTone(POP, 'B\'s pop in B\'s room');

    const mark = bInRoom.mark;
    const refused = await a.command({ type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: roomB });
    expect(refused).toMatchObject({ ok: false, error: 'room_not_allowed', device: A });
    expect(refused.message).toBe(`device ${A} is not a participant of room "${roomB}" (livekit.roomPolicy member)`);
    expect(JSON.stringify(refused)).not.toContain(passwords['music-bridge']);
    // Nor can A end or skip B's music by naming B's room: A has no session, so nothing happens.
    expect(await a.command({ type: 'stop_continuous_music', session_id: roomB })).toMatchObject({ ok: true, message: 'Music streaming is not active' });
    expect(await a.command({ type: 'skip_music', session_id: roomB })).toMatchObject({ ok: false, error: 'not_playing' });
    await bKeepsPlaying(bInRoom, mark);
    expect(bridge.lines.items.filter((l) => l.device === A && l.room === roomB)).toEqual([]);

    // A in its own room, joined under another spelling of its MAC, is a member.
    const roomA = `${randomUUID()}_${A}_voice`;
    const aInRoom = await listen(roomA, 'AA:BB:CC:DD:EE:61');
    expect(await a.command({ type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: roomA })).toMatchObject({ ok: true });
    await aInRoom.hearTone([ROCK], 'A\'s rock in A\'s room');
    const bMark = bInRoom.mark;
    await bInRoom.hearTone(POP, 'B still hears pop', bMark);
    expect(bInRoom.lines.items.slice(bMark).filter((h) => Math.abs((h.hz ?? 0) - ROCK) <= 12 && (h.rms ?? 0) > 0.02)).toEqual([]);
  }, 120000);

  test('pattern: A naming B\'s room gets room_not_allowed, lookalikes too; B\'s music plays on', async () => {
    await daemon({ roomPolicy: 'pattern', roomPattern: '*_{device}_*' });
    const [a, b] = await Promise.all([device(A), device(B)]);
    const roomB = `${randomUUID()}_${B}_voice`;
    const listener = await listen(roomB); // anyone: the pattern needs no participant
    expect(await b.command({ type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: roomB })).toMatchObject({ ok: true });
    await listener.hearTone(POP, 'B\'s pop in B\'s room');

    const mark = listener.mark;
    for (const room of [roomB, roomB.replace(B, B.toUpperCase()), `x_${A}0_y`, `x_0${A}_y`, `.*_${B}_.*`, `${roomB}\n`]) {
      const reply = await a.command({ type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: room });
      expect(reply).toMatchObject({ ok: false, device: A });
      expect(['room_not_allowed', 'invalid_field']).toContain(reply.error);
    }
    expect(await a.command({ type: 'start_continuous_music', session_id: `r_${A}_${'x'.repeat(200)}` })).toMatchObject({ ok: false, error: 'invalid_field' });
    await bKeepsPlaying(listener, mark);
  }, 120000);

  test('a password inside mqtt.url appears neither in the daemon\'s log nor in bridge/info', async () => {
    const bridge = await daemon({ roomPolicy: 'member' });
    const password = passwords['music-bridge']!;
    // Read bridge/info as the bridge's own user may (devices may not, by the ACL).
    const admin = await login('music-bridge');
    const info = new Observations<string>();
    admin.on('message', (_t, payload) => info.push(payload.toString()));
    await admin.subscribeAsync('music-bridge/bridge/info', { qos: 1 });
    const published = await info.next((t) => t.includes('"config"'), 'retained bridge/info');
    expect(published).not.toContain(password);
    expect(JSON.parse(published)).toMatchObject({ config: { mqtt: { url: `mqtt://127.0.0.1:${port}` } } });
    await bridge.lines.next((l) => l.message === 'mqtt connected', 'mqtt connected log');
    expect(await bridge.stop()).toBe(0);
    const everything = JSON.stringify(bridge.lines.items) + bridge.stderrTail;
    expect(everything).toContain(`mqtt://127.0.0.1:${port}`);
    expect(everything).not.toContain(password);
  }, 60000);
});

/**
 * The same attempts with no broker ACL (the test broker is anonymous): the bridge's own checks hold.
 * A cannot play into B's room (member), and where every room is open (any), A naming the room in
 * which B's music plays gets room_busy and B's session is untouched (one bot identity per room: a
 * second session there would have kicked B's).
 */
describe('room policy and room_busy, without a broker ACL', () => {
  const scope = testScope();

  test('member: A naming the room B is in gets room_not_allowed; B\'s music plays on', async () => {
    const { app } = await scope.daemon({ livekit: { roomPolicy: 'member' } });
    const roomB = `${randomUUID()}_${B}_voice`;
    const bInRoom = await scope.listen(roomB, B);
    expect(await app.command(B, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: roomB })).toMatchObject({ ok: true });
    await bInRoom.hearTone(POP, 'B\'s pop in B\'s room');
    const mark = bInRoom.mark;
    expect(await app.command(A, { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: roomB })).toMatchObject({ ok: false, error: 'room_not_allowed' });
    await bKeepsPlaying(bInRoom, mark);
  }, 90000);

  test('any: A naming the room where B\'s music plays gets room_busy; B\'s music plays on, A\'s stop does not end it', async () => {
    const { app } = await scope.daemon({ livekit: { roomPolicy: 'any' } });
    const room = `shared-${randomBytes(4).toString('hex')}`;
    const l = await scope.listen(room);
    expect(await app.command(B, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room })).toMatchObject({ ok: true });
    await l.hearTone(POP, 'B\'s pop');
    const mark = l.mark;
    const busy = await app.command(A, { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: room });
    expect(busy).toMatchObject({ ok: false, error: 'room_busy' });
    expect(await app.command(A, { type: 'stop_continuous_music', session_id: room })).toMatchObject({ ok: true, message: 'Music streaming is not active' });
    await bKeepsPlaying(l, mark);
    expect(await app.command(B, { type: 'get_status' })).toMatchObject({ ok: true, state: { state: 'playing', room } });
  }, 90000);
});
