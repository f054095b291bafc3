import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { freeTcpPorts, mosquittoBinary, PROJECT_ROOT, startProcess, tcpOpen, waitReady, type Server } from '../../src/ops/local-stack';
import { makeCertificates } from '../support/certificates';
import { Observations } from '../support/waiter';

/** Whether a TCP connection to host:port is accepted (bounded by a timeout). */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port, timeout: 3000 });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('timeout', () => (s.destroy(), res(false)));
    s.once('error', () => res(false));
  });
}

/** The shipped production broker config (mosquitto/mosquitto-secure.conf) run by a real Mosquitto. */
describe('mosquitto/mosquitto-secure.conf', () => {
  let dir = '';
  let broker: Server | undefined;
  let plainPort = 0;
  let tlsPort = 0;
  let certs: ReturnType<typeof makeCertificates>;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'music-bridge-secure-'));
    chmodSync(dir, 0o755);
    certs = makeCertificates(dir);
    const passwd = join(dir, 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'music-bridge', 'bridge-pw']);
    execFileSync('mosquitto_passwd', ['-b', passwd, 'aabbccddee81', 'pw-81']);
    chmodSync(passwd, 0o644);
    const data = join(dir, 'data');
    mkdirSync(data);
    chmodSync(data, 0o777); // Mosquitto started as root runs as its own user
    [plainPort, tlsPort] = await freeTcpPorts(2);
    // The shipped file with only its paths and ports replaced: every other line is what production runs.
    const shipped = readFileSync(join(PROJECT_ROOT, 'mosquitto', 'mosquitto-secure.conf'), 'utf8');
    const conf = shipped
      .replace(/^#.*\n/gm, '')
      .replace(/^listener 1883 /m, `listener ${plainPort} `)
      .replace(/^listener 8883$/m, `listener ${tlsPort}`)
      .replace('/mosquitto/config/passwd', passwd)
      .replace('/mosquitto/config/acl', join(PROJECT_ROOT, 'mosquitto', 'acl'))
      .replace('/mosquitto/config/certs/server.pem', certs.serverCert)
      .replace('/mosquitto/config/certs/server.key', certs.serverKey)
      .replace('/mosquitto/data/', `${data}/`);
    expect(conf).not.toMatch(/\/mosquitto\/(config|data)|\b1883\b|\b8883\b/);
    const file = join(dir, 'mosquitto.conf');
    writeFileSync(file, conf);
    broker = startProcess('mosquitto', mosquittoBinary(), ['-c', file]);
    await waitReady(broker, async () => (await tcpOpen(plainPort)) && (await tcpOpen(tlsPort)));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync()));
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tls = (user: string, password: string) => ({ ca: readFileSync(certs.ca), username: user, password, protocolVersion: 5 as const, reconnectPeriod: 0, connectTimeout: 5000 });

  test('TLS with a login: the bridge and a device talk through the ACL', async () => {
    const bridge = await mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, tls('music-bridge', 'bridge-pw'));
    const device = await mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, tls('aabbccddee81', 'pw-81'));
    clients.push(bridge, device);
    const seen = new Observations<string>();
    bridge.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await bridge.subscribeAsync('music-bridge/+/command', { qos: 1 });
    await device.publishAsync('music-bridge/aabbccddee81/command', '{"type":"get_status"}', { qos: 1 });
    await seen.next((m) => m === 'music-bridge/aabbccddee81/command {"type":"get_status"}', 'the device\'s command over TLS');
  });

  test('the TLS listener refuses plaintext, a wrong password and anonymous clients', async () => {
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${tlsPort}`, { username: 'music-bridge', password: 'bridge-pw', reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
    await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, tls('music-bridge', 'wrong'))).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, { ca: readFileSync(certs.ca), reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
  });

  test('plaintext only on loopback, and with a login', async () => {
    const local = await mqtt.connectAsync(`mqtt://127.0.0.1:${plainPort}`, { username: 'music-bridge', password: 'bridge-pw', reconnectPeriod: 0, connectTimeout: 3000 });
    clients.push(local);
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${plainPort}`, { reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    // From this machine's other addresses the plaintext port is closed and the TLS one open.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of others) {
      expect([address, await reachable(address, plainPort)]).toEqual([address, false]);
      expect([address, await reachable(address, tlsPort)]).toEqual([address, true]);
    }
  });
});
