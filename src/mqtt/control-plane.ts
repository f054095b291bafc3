import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { errorFields, type Logger } from '../ops/logger';
import type { CommandResult, SessionRegistry } from '../session/registry';
import type { DeviceStatus } from '../session/status';
import { parseCommand } from './commands';
import { normaliseDeviceId } from './device-id';
import { Topics } from './topics';

export interface ControlPlaneOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  baseTopic: string;
  /** Retained bridge info: version and config summary (no secrets). */
  info: () => Record<string, unknown>;
}

/** Reply payload: one per command, on the reply topic or the MQTT 5 response topic. */
export interface Reply {
  ok: boolean;
  command: string | null;
  message: string;
  device: string | null;
  session_id: string | null;
  request_id: string | null;
  state: DeviceStatus | null;
}

/**
 * The daemon's MQTT face: subscribes to every device's command topic, hands commands to the
 * session registry, replies, and keeps the retained availability, info and status topics true.
 */
export class ControlPlane {
  readonly topics: Topics;
  private client: MqttClient | undefined;

  constructor(private readonly opts: ControlPlaneOptions, private readonly registry: SessionRegistry, private readonly log: Logger) {
    this.topics = new Topics(opts.baseTopic);
    registry.on('status', (s) => {
      this.publishStatus(s);
      this.publishInfo();
    });
  }

  /** Connects and resolves on the first connection; later drops reconnect on their own. */
  start(): Promise<void> {
    const { topics, opts } = this;
    const client = mqtt.connect(opts.url, {
      clientId: opts.clientId,
      username: opts.username || undefined,
      password: opts.password || undefined,
      protocolVersion: 5,
      // A persistent session: QoS 1 commands sent while the daemon is away are delivered when it returns.
      clean: false,
      properties: { sessionExpiryInterval: 24 * 3600 },
      reconnectPeriod: 2000,
      connectTimeout: 10000,
      will: { topic: topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('reconnect', () => this.log.info('mqtt reconnecting'));
    client.on('offline', () => this.log.warn('mqtt offline'));
    client.on('error', (err) => this.log.error('mqtt error', errorFields(err)));
    client.on('message', (topic, payload, packet) => void this.onMessage(topic, payload, packet));
    // Waits for the broker however long it takes to come up; only a refused login is final.
    return new Promise((resolve, reject) => {
      client.once('connect', () => resolve());
      client.on('error', (err) => {
        const code = (err as { code?: unknown }).code;
        if (!client.connected && (code === 4 || code === 5 || code === 134 || code === 135)) {
          client.end(true);
          reject(new Error(`mqtt: broker refused the connection: ${err.message}`));
        }
      });
    });
  }

  /** Publishes availability "offline" and disconnects cleanly. */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    if (client.connected) {
      await client.publishAsync(this.topics.availability, 'offline', { qos: 1, retain: true }).catch(() => undefined);
    }
    await client.endAsync();
  }

  private onConnect(): void {
    const client = this.client!;
    this.log.info('mqtt connected', { url: this.opts.url, base: this.opts.baseTopic });
    client.subscribe(this.topics.commandFilter, { qos: 1 }, (err) => {
      if (err) this.log.error('subscribe failed', { topic: this.topics.commandFilter, ...errorFields(err) });
    });
    this.publish(this.topics.availability, 'online', true);
    this.publishInfo();
    // After a broker restart without persistence the retained statuses are gone; put them back.
    for (const s of this.registry.statuses()) this.publishStatus(s);
  }

  private async onMessage(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const raw = this.topics.deviceOfCommand(topic);
    if (raw === undefined) return;
    const responseTopic = packet.properties?.responseTopic;
    const correlationData = packet.properties?.correlationData;
    const replyTo = (device: string | undefined, reply: Reply) => {
      const target = responseTopic ?? (device ? this.topics.reply(device) : this.topics.errors);
      this.publish(target, JSON.stringify(reply), false, correlationData);
    };

    const id = normaliseDeviceId(raw);
    if (!id.ok) {
      this.log.warn('command refused: bad device id', { topic, reason: id.reason });
      replyTo(undefined, { ok: false, command: null, message: id.reason, device: null, session_id: null, request_id: null, state: null });
      return;
    }
    const device = id.id;
    const parsed = parseCommand(payload);
    if (!parsed.ok) {
      this.log.warn('command refused', { device, error: parsed.error });
      replyTo(device, {
        ok: false,
        command: parsed.type ?? null,
        message: parsed.error,
        device,
        session_id: parsed.sessionId ?? null,
        request_id: parsed.requestId ?? null,
        state: this.registry.status(device),
      });
      return;
    }
    const { envelope } = parsed;
    this.log.info('command received', { device, command: envelope.command.type, session_id: envelope.sessionId });
    let result: CommandResult;
    try {
      result = await this.registry.execute(device, envelope);
    } catch (err) {
      this.log.error('command failed', { device, command: envelope.command.type, ...errorFields(err) });
      result = { ok: false, message: `internal error: ${errorFields(err).error}`, status: this.registry.status(device) };
    }
    replyTo(device, {
      ok: result.ok,
      command: envelope.command.type,
      message: result.message,
      device,
      session_id: envelope.sessionId ?? null,
      request_id: envelope.requestId ?? null,
      state: result.status,
    });
  }

  private publishStatus(s: DeviceStatus): void {
    this.publish(this.topics.status(s.device), JSON.stringify(s), true);
  }

  private publishInfo(): void {
    this.publish(this.topics.info, JSON.stringify({ ...this.opts.info(), sessions: this.registry.size }), true);
  }

  private publish(topic: string, payload: string, retain: boolean, correlationData?: Buffer): void {
    const client = this.client;
    if (!client) return;
    const properties = correlationData ? { correlationData } : undefined;
    client.publish(topic, payload, { qos: 1, retain, properties }, (err) => {
      if (err) this.log.warn('publish failed', { topic, ...errorFields(err) });
    });
  }
}
