import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
// mqtt.js's own packet codec (a dependency of mqtt): the fake broker below speaks real MQTT 5.
import { generate, parser, type Packet } from 'mqtt-packet';
import { ControlPlane } from '../../src/mqtt/control-plane';
import { controlPlaneOptions } from '../support/control-plane-options';
import type { Logger } from '../../src/ops/logger';
import type { SessionRegistry } from '../../src/session/registry';
import { idleStatus } from '../../src/session/status';

/**
 * A broker that hangs up on any client publishing to `poison` (as Mosquitto does on a protocol
 * error). With mqtt.js's default behaviour the unacknowledged publish is re-sent on every
 * reconnect before 'connect' is emitted, so the client never resubscribes: this test drives the
 * real mqtt.js client to prove ControlPlane keeps that from happening.
 */
class HangUpBroker extends EventEmitter {
  readonly server: Server;
  /** Per connection, in order: what the client sent. */
  readonly connections: Array<Array<{ cmd: string; topic?: string; dup?: boolean }>> = [];
  private readonly sockets: Socket[] = [];

  constructor(private readonly poison: string) {
    super();
    this.server = createServer((socket) => this.serve(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  private serve(socket: Socket): void {
    const seen: Array<{ cmd: string; topic?: string; dup?: boolean }> = [];
    this.connections.push(seen);
    this.sockets.push(socket);
    const p = parser({ protocolVersion: 5 });
    const send = (packet: Packet) => socket.write(generate(packet, { protocolVersion: 5 }));
    p.on('packet', (packet: Packet) => {
      const topic = 'topic' in packet ? String(packet.topic) : undefined;
      seen.push({ cmd: packet.cmd, topic, dup: 'dup' in packet ? packet.dup : undefined });
      this.emit('packet');
      if (packet.cmd === 'connect') send({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false, properties: {} } as Packet);
      if (packet.cmd === 'subscribe') send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => 1) } as Packet);
      if (packet.cmd === 'publish') {
        if (packet.topic === this.poison) return void socket.destroy();
        if (packet.qos > 0) send({ cmd: 'puback', messageId: packet.messageId, reasonCode: 0 } as Packet);
      }
    });
    socket.on('data', (d) => p.parse(d));
    socket.on('error', () => undefined);
  }

  /** Publishes to the client on the newest connection, as the broker delivering a command. */
  deliver(topic: string, payload: string): void {
    this.sockets.at(-1)!.write(generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false } as Packet, { protocolVersion: 5 }));
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  /** Resolves when `cond` holds; bounded. */
  until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.off('packet', check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('packet', check);
        reject(new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.connections)}`));
      }, timeoutMs);
      this.on('packet', check);
      check();
    });
  }
}

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => quiet };

test('a publish that makes the broker hang up is sent once, never replayed: the next connection subscribes at once', async () => {
  const DEV = 'aabbccddeeff';
  const broker = new HangUpBroker(`mb/${DEV}/reply`);
  const port = await broker.listen();
  const registry = Object.assign(new EventEmitter(), {
    size: 0,
    statuses: () => [],
    status: (d: string) => idleStatus(d),
  });
  const opts = controlPlaneOptions({ url: `mqtt://127.0.0.1:${port}`, clientId: 'mb-reconnect-test', baseTopic: 'mb' });
  const cp = new ControlPlane(opts, registry as unknown as SessionRegistry, quiet);
  try {
    await cp.start();
    await broker.until(() => broker.connections[0]!.some((p) => p.cmd === 'subscribe'), 'first subscribe');
    // The broker delivers a command whose reply (on the device's own reply topic) makes it hang up.
    const first = broker.connections[0]!;
    broker.deliver(`mb/${DEV}/command`, '{"type":"get_status"}');
    await broker.until(() => first.some((p) => p.cmd === 'publish' && p.topic === `mb/${DEV}/reply`), 'the reply that gets the bridge cut off');
    await broker.until(() => (broker.connections[1] ?? []).some((p) => p.cmd === 'subscribe'), 'the second connection subscribes');
    // ...and it did not re-send the poison first (mqtt.js would, with dup=1, and be cut off again).
    expect(broker.connections[1]!.filter((p) => p.cmd === 'publish' && p.topic === `mb/${DEV}/reply`)).toEqual([]);
    expect(broker.connections).toHaveLength(2);
  } finally {
    broker.close();
    // Bounded: with the bug, mqtt.js is stuck replaying and stop() would wait for ever.
    await Promise.race([cp.stop(), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}, 20_000);

