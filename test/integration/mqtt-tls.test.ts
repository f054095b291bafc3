import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquittoOnFreePort, type Server } from '../../src/ops/local-stack';
import { makeCertificates } from '../support/certificates';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { hzOf } from '../support/stack';
import { Observations } from '../support/waiter';

/** MQTT over TLS with client certificates (mqtt.caFile/certFile/keyFile) against a real Mosquitto. */
describe('MQTT over TLS', () => {
  let dir = '';
  let broker: Server | undefined;
  let daemon: Daemon | undefined;
  let listener: Listener | undefined;
  const clients: MqttClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
    await listener?.stop();
    await daemon?.stop();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the daemon connects with the CA and a client certificate; a command over TLS is answered and heard', async () => {
    dir = mkdtempSync(join(tmpdir(), 'music-bridge-tls-'));
    chmodSync(dir, 0o755);
    const certs = makeCertificates(dir);
    const started = await startMosquittoOnFreePort(dir, 'test.d', undefined, 3, `cafile ${certs.ca}\ncertfile ${certs.serverCert}\nkeyfile ${certs.serverKey}\nrequire_certificate true\n`);
    broker = started.server;
    const url = `mqtts://127.0.0.1:${started.port}`;

    // Without a client certificate the broker refuses the connection.
    await expect(mqtt.connectAsync(url, { ca: readFileSync(certs.ca), reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow();

    daemon = await Daemon.start({ mqtt: { url, caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } });
    const app = await mqtt.connectAsync(url, { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), reconnectPeriod: 0 });
    clients.push(app);
    const replies = new Observations<Record<string, unknown>>();
    app.on('message', (_t, payload) => replies.push(JSON.parse(payload.toString()) as Record<string, unknown>));
    await app.subscribeAsync(`${daemon.baseTopic}/aabbccddee71/reply`, { qos: 1 });

    listener = await Listener.join('tls-room');
    const command = { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: 'tls-room', request_id: 'tls-1' };
    await app.publishAsync(`${daemon.baseTopic}/aabbccddee71/command`, JSON.stringify(command), { qos: 1 });
    const reply = await replies.next((r) => r.request_id === 'tls-1', 'the reply over TLS');
    expect(reply).toMatchObject({ ok: true, command: 'start_continuous_music' });
    await listener.hearTone([hzOf('Rock One')], 'rock started over TLS');
    // The key file's path may be logged; its content never is.
    const key = readFileSync(certs.clientKey, 'utf8').split('\n')[1]!;
    expect(daemon.lines.items.some((l) => JSON.stringify(l).includes(key))).toBe(false);
  });
});
