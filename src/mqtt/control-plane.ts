import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { errorFields, type Logger } from '../ops/logger';
import { redactUrl } from '../ops/redact';
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
  caFile: string;
  certFile: string;
  keyFile: string;
  rejectUnauthorized: boolean;
  maxPayloadBytes: number;
  /** Canonical ids allowed to send commands; empty = any device. */
  allowedDevices: string[];
  /** Retained bridge info: version and config summary (no secrets). */
  info: () => Record<string, unknown>;
  /** Continuity (many instances): whether this instance acts on commands for the device; default all. */
  owns?: (device: string) => boolean;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/** What the control plane reports to the metrics endpoint. */
export interface ControlPlaneMetrics {
  commands: { observe(labels: { command: string; ok: string }, seconds: number): void };
  refused: { inc(labels: { error: string }): void };
  mqttConnected: { set(value: number): void };
}

/** Codes for commands refused before they reach a session. */
export type RefusalCode = 'payload_too_large' | 'invalid_device_id' | 'device_not_allowed';

/** Reply payload: one per command, on the reply topic or the MQTT 5 response topic. */
export interface Reply {
  ok: boolean;
  /** Stable error code when `ok` is false (see docs/mqtt-api.md), else null. */
  error: string | null;
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
  private readonly allowed: Set<string> | undefined;

  constructor(
    private readonly opts: ControlPlaneOptions,
    private readonly registry: SessionRegistry,
    private readonly log: Logger,
    private readonly metrics?: ControlPlaneMetrics,
  ) {
    this.topics = new Topics(opts.baseTopic);
    this.allowed = opts.allowedDevices.length ? new Set(opts.allowedDevices.map(canonicalOrThrow)) : undefined;
    registry.on('status', (s) => {
      this.publishStatus(s);
      this.publishInfo();
      this.publishBridgeStatus();
    });
  }

  /** Connects and resolves on the first connection; later drops reconnect on their own. */
  start(): Promise<void> {
    const { topics, opts } = this;
    const client = mqtt.connect(opts.url, {
      ...tlsOptions(opts),
      clientId: opts.clientId,
      username: opts.username || undefined,
      password: opts.password || undefined,
      protocolVersion: 5,
      // A persistent session: QoS 1 commands sent while the daemon is away are delivered when it returns.
      clean: false,
      properties: { sessionExpiryInterval: 24 * 3600 },
      reconnectPeriod: RECONNECT_MIN_MS,
      connectTimeout: 10000,
      will: { topic: topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => {
      client.options.reconnectPeriod = RECONNECT_MIN_MS;
      this.metrics?.mqttConnected.set(1);
      this.onConnect();
    });
    // Exponential back-off: a broker that is down for long is not hammered every second.
    client.on('close', () => {
      this.metrics?.mqttConnected.set(0);
      client.options.reconnectPeriod = Math.min((client.options.reconnectPeriod ?? RECONNECT_MIN_MS) * 2, RECONNECT_MAX_MS);
    });
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

  get connected(): boolean {
    return this.client?.connected ?? false;
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
    this.log.info('mqtt connected', { url: redactUrl(this.opts.url), base: this.opts.baseTopic });
    client.subscribe(this.topics.commandFilter, { qos: 1 }, (err) => {
      if (err) this.log.error('subscribe failed', { topic: this.topics.commandFilter, ...errorFields(err) });
    });
    this.publish(this.topics.availability, 'online', true);
    this.publishInfo();
    this.publishBridgeStatus();
    // After a broker restart without persistence the retained statuses are gone; put them back.
    for (const s of this.registry.statuses()) this.publishStatus(s);
  }

  private async onMessage(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const raw = this.topics.deviceOfCommand(topic);
    if (raw === undefined) return;
    const responseTopic = packet.properties?.responseTopic;
    const correlationData = packet.properties?.correlationData;
    const reply = (device: string | undefined, r: Omit<Reply, 'device'>) => {
      const target = responseTopic ?? (device ? this.topics.reply(device) : this.topics.errors);
      this.publish(target, JSON.stringify({ ...r, device: device ?? null }), false, correlationData);
    };
    const refuse = (device: string | undefined, error: string, message: string, ids: { session_id?: string | null; request_id?: string | null; command?: string | null } = {}) => {
      this.log.warn('command refused', { device: device ?? raw.slice(0, 80), error, reason: message });
      this.metrics?.refused.inc({ error });
      reply(device, {
        ok: false,
        error,
        command: ids.command ?? null,
        message,
        session_id: ids.session_id ?? null,
        request_id: ids.request_id ?? null,
        state: device ? this.registry.status(device) : null,
      });
    };

    const id = normaliseDeviceId(raw);
    // Continuity: every instance sees every command; only the device's owner answers it.
    if (this.opts.owns && !this.opts.owns(id.ok ? id.id : raw)) return;
    if (!id.ok) return refuse(undefined, 'invalid_device_id', id.reason);
    const device = id.id;
    if (this.allowed && !this.allowed.has(device)) {
      this.log.warn('command refused', { device, error: 'device_not_allowed' });
      this.metrics?.refused.inc({ error: 'device_not_allowed' });
      // Answered on the device's own reply topic, without any state: it has none here.
      const ids = payload.length <= this.opts.maxPayloadBytes ? echoIds(parseCommand(payload)) : {};
      return reply(device, { ok: false, error: 'device_not_allowed', command: null, message: `device ${device} is not allowed`, session_id: ids.session_id ?? null, request_id: ids.request_id ?? null, state: null });
    }
    if (payload.length > this.opts.maxPayloadBytes) {
      return refuse(device, 'payload_too_large', `payload is ${payload.length} bytes; the limit is ${this.opts.maxPayloadBytes}`);
    }
    const parsed = parseCommand(payload);
    if (!parsed.ok) {
      return refuse(device, parsed.code, parsed.error, { command: parsed.type?.slice(0, 64), session_id: parsed.sessionId, request_id: parsed.requestId });
    }
    const { envelope } = parsed;
    const started = process.hrtime.bigint();
    this.log.info('command received', { device, command: envelope.command.type, session_id: envelope.sessionId });
    let result: CommandResult;
    try {
      result = await this.registry.execute(device, envelope);
    } catch (err) {
      this.log.error('command failed', { device, command: envelope.command.type, ...errorFields(err) });
      result = { ok: false, code: 'internal_error', message: `internal error: ${errorFields(err).error}`, status: this.registry.status(device) };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics?.commands.observe({ command: envelope.command.type, ok: String(result.ok) }, seconds);
    this.log.debug('command handled', { device, command: envelope.command.type, ok: result.ok, ms: seconds * 1000 });
    reply(device, {
      ok: result.ok,
      error: result.ok ? null : (result.code ?? 'internal_error'),
      command: envelope.command.type,
      message: result.message,
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

  /** The bridge-wide view: every active session, retained, so a dashboard sees the fleet at once. */
  private publishBridgeStatus(): void {
    const sessions = this.registry.statuses().filter((s) => s.room !== null && s.state !== 'idle');
    this.publish(this.topics.bridgeStatus, JSON.stringify({ sessions, count: sessions.length, updated_at: new Date().toISOString() }), true);
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

/** The caller's correlation fields, from a command that parsed or one that was refused. */
function echoIds(p: ReturnType<typeof parseCommand>): { session_id?: string; request_id?: string } {
  return p.ok ? { session_id: p.envelope.sessionId, request_id: p.envelope.requestId } : { session_id: p.sessionId, request_id: p.requestId };
}

function canonicalOrThrow(device: string): string {
  const id = normaliseDeviceId(device);
  if (!id.ok) throw new Error(`mqtt.allowedDevices: ${device}: ${id.reason}`);
  return id.id;
}

/** TLS material for mqtts:// / wss:// brokers, read once at start-up (exported for the resume reader). */
export function tlsOptions(o: Pick<ControlPlaneOptions, 'caFile' | 'certFile' | 'keyFile' | 'rejectUnauthorized'>): Partial<IClientOptions> {
  const read = (file: string) => (file ? readFileSync(file) : undefined);
  return { ca: read(o.caFile), cert: read(o.certFile), key: read(o.keyFile), rejectUnauthorized: o.rejectUnauthorized };
}
