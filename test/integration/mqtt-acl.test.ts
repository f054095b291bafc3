import mqtt, { type MqttClient } from 'mqtt';
import { startAclBroker } from '../support/acl-broker';
import { Daemon } from '../support/daemon';
import { Observations } from '../support/waiter';

/** The shipped ACL (mosquitto/acl) on a real Mosquitto with logins: each device sees only itself. */
describe('broker access control', () => {
  let broker: Awaited<ReturnType<typeof startAclBroker>> | undefined;
  let url: string;
  let daemon: Daemon;
  const clients: MqttClient[] = [];
  const users: Record<string, string> = { 'music-bridge': 'bridge-pw', aabbccddee51: 'pw-51', aabbccddee52: 'pw-52' };

  beforeAll(async () => {
    broker = await startAclBroker(users);
    url = broker.url;
    daemon = await Daemon.start({ mqtt: { url, username: 'music-bridge', password: users['music-bridge'], baseTopic: 'music-bridge' } });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
    await daemon?.stop();
    await broker?.stop();
  });

  async function login(user: string, password = users[user]): Promise<{ client: MqttClient; seen: Observations<{ topic: string; text: string }> }> {
    const client = await mqtt.connectAsync(url, { username: user, password, protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(client);
    const seen = new Observations<{ topic: string; text: string }>();
    client.on('message', (topic, payload) => seen.push({ topic, text: payload.toString() }));
    return { client, seen };
  }

  test('a device commands itself and reads its own reply and status', async () => {
    const { client, seen } = await login('aabbccddee51');
    const granted = await client.subscribeAsync(['music-bridge/aabbccddee51/reply', 'music-bridge/aabbccddee51/status', 'music-bridge/bridge/state'], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1]);
    await client.publishAsync('music-bridge/aabbccddee51/command', '{"type":"get_status","request_id":"own"}', { qos: 1 });
    const reply = await seen.next((m) => m.topic.endsWith('/reply') && m.text.includes('"own"'), 'own reply');
    expect(JSON.parse(reply.text)).toMatchObject({ ok: true, device: 'aabbccddee51' });
    await seen.next((m) => m.topic === 'music-bridge/bridge/state' && m.text === 'online', 'bridge online');
  });

  test('a device can neither read nor command another device', async () => {
    // Device 52 leaves a retained status behind.
    const other = await login('aabbccddee52');
    await other.client.subscribeAsync('music-bridge/aabbccddee52/#', { qos: 1 });
    await other.client.publishAsync('music-bridge/aabbccddee52/command', '{"type":"start_continuous_music","request_id":"s52"}', { qos: 1 });
    await other.seen.next((m) => m.text.includes('"s52"'), 'reply to device 52');
    await other.client.publishAsync('music-bridge/aabbccddee52/command', '{"type":"stop_continuous_music","request_id":"t52"}', { qos: 1 });
    await other.seen.next((m) => m.topic.endsWith('/status') && m.text.includes('"idle"'), 'retained idle status of device 52');

    // Mosquitto grants the subscriptions but delivers nothing it may not. Retained messages come in
    // subscription order, so once the later retained "online" arrives, 52's status would have too.
    const { client, seen } = await login('aabbccddee51');
    await client.subscribeAsync(['music-bridge/aabbccddee52/status', 'music-bridge/aabbccddee52/reply', 'music-bridge/#'], { qos: 1 });
    await client.subscribeAsync('music-bridge/bridge/state', { qos: 1 });
    await seen.next((m) => m.topic === 'music-bridge/bridge/state', 'retained bridge state');
    expect(seen.items.filter((m) => m.topic.includes('aabbccddee52'))).toEqual([]);

    const before = daemon.lines.items.length;
    await client.publishAsync('music-bridge/aabbccddee52/command', '{"type":"start_continuous_music","request_id":"foreign"}', { qos: 1 }).catch(() => undefined);
    // Commands from one client arrive in order: had the foreign one reached the bridge, it would be
    // logged before the reply to this one.
    await client.publishAsync('music-bridge/aabbccddee51/command', '{"type":"get_status","request_id":"after"}', { qos: 1 });
    await seen.next((m) => m.text.includes('"after"'), 'own reply after the foreign attempt');
    const handled = daemon.lines.items.slice(before).filter((l) => l.message === 'command received');
    expect(handled.map((l) => l.device)).toEqual(['aabbccddee51']);
    expect(seen.items.filter((m) => m.topic.includes('aabbccddee52'))).toEqual([]);
  });

  test('a wrong password is refused', async () => {
    await expect(login('aabbccddee52', 'wrong')).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
  });
});
