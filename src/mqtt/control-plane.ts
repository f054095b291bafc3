import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { errorFields, type Logger } from '../ops/logger';
import { redactUrl } from '../ops/redact';
import type { SessionRegistry } from '../session/registry';
import type { DeviceStatus } from '../session/status';
import { allowedDeviceSet, runCommand, type ReplyBody } from './command-runner';
import { parseCommand, type ParseErrorCode } from './commands';
import { normaliseDeviceId } from './device-id';
import type { FleetView } from './fleet-view';
import { OutgoingTopics } from './outgoing-topics';
import { StatusExpiry } from './status-expiry';
import { ThrottledLog } from './throttled-log';
import { TokenBuckets } from './token-buckets';
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
  /** Extra subtrees a command's response topic may be under ({device} = the canonical id). */
  responseTopicPrefixes: string[];
  /** Per-device token bucket: sustained commands per second, and the burst allowed. */
  commandsPerSecond: number;
  commandBurst: number;
  /** Clear a device's retained status after it has been idle this long; 0 = never. */
  statusTtlSeconds: number;
  /** Retained bridge info: version and config summary (no secrets). */
  info: () => Record<string, unknown>;
  /** How to reach the broker; tests inject a fake client here. */
  connect?: (url: string, options: IClientOptions) => MqttClient;
  /** Clock for rate limits and status TTLs (tests). */
  now?: () => number;
  /** Continuity (many instances): whether this instance acts on commands for the device; default all. */
  owns?: (device: string) => boolean;
  /**
   * Many instances: this instance's info and sessions go to its own `bridge/instances/<id>/…`
   * topics and the fleet view writes the aggregate `bridge/info` and `bridge/status`. Without it
   * this process writes those two from its own sessions alone.
   */
  fleet?: FleetView;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/** Correlation data longer than this is not echoed: the command is refused (invalid_field). */
export const MAX_CORRELATION_BYTES = 64;
/** Room in the largest packet we accept beyond the payload: fixed header, command topic, properties. */
const PACKET_HEADROOM_BYTES = 1024;
/** Publishes handed to the client and not yet acknowledged; past this, new ones are dropped. */
const MAX_IN_FLIGHT = 1000;
/** rate_limited replies per device: a flood of commands must not become a flood of replies. */
const REFUSAL_REPLIES_PER_SECOND = 1;
const REFUSAL_REPLY_BURST = 2;

/** What the control plane reports to the metrics endpoint. */
export interface ControlPlaneMetrics {
  commands: { observe(labels: { command: string; ok: string }, seconds: number): void };
  refused: { inc(labels: { error: string }): void };
  mqttConnected: { set(value: number): void };
  publishesDropped: { inc(labels: { reason: DropReason }): void };
}

/** Codes for commands refused before they reach a session. */
export type RefusalCode = 'payload_too_large' | 'invalid_device_id' | 'device_not_allowed' | 'rate_limited' | 'retained_command' | 'invalid_field';

/** Why a publish of the bridge was dropped (metric label). */
export type DropReason = 'topic_refused' | 'too_large' | 'not_connected' | 'backlog' | 'broker_refused' | 'connection_lost' | 'send_failed';

/** Reply payload: one per command, on the reply topic or the MQTT 5 response topic. */
export interface Reply extends ReplyBody {
  device: string | null;
}

/**
 * The daemon's MQTT face: subscribes to every device's command topic, hands commands to the
 * session registry, replies, and keeps the retained availability, info and status topics true.
 * Every input is hostile: topic, payload, retain flag and MQTT 5 properties are checked before a
 * command reaches a session, and every publish goes through `publish`, which checks its topic.
 */
export class ControlPlane {
  readonly topics: Topics;
  private client: MqttClient | undefined;
  private readonly allowed: Set<string> | undefined;
  private readonly outgoing: OutgoingTopics;
  private readonly commandTokens: TokenBuckets;
  private readonly refusalReplyTokens: TokenBuckets;
  private readonly statusExpiry: StatusExpiry;
  private readonly throttled: ThrottledLog;
  private inFlight = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** The info report last published: an unchanged one is not sent again on every status change. */
  private lastInfoPayload: string | undefined;

  constructor(
    private readonly opts: ControlPlaneOptions,
    private readonly registry: SessionRegistry,
    private readonly log: Logger,
    private readonly metrics?: ControlPlaneMetrics,
  ) {
    const now = opts.now ?? Date.now;
    this.topics = new Topics(opts.baseTopic);
    this.outgoing = new OutgoingTopics(opts.baseTopic, opts.responseTopicPrefixes);
    this.allowed = allowedDeviceSet(opts.allowedDevices);
    this.commandTokens = new TokenBuckets(opts.commandsPerSecond, opts.commandBurst, 10_000, now);
    this.refusalReplyTokens = new TokenBuckets(REFUSAL_REPLIES_PER_SECOND, REFUSAL_REPLY_BURST, 10_000, now);
    this.statusExpiry = new StatusExpiry(opts.statusTtlSeconds * 1000, 100_000, now);
    this.throttled = new ThrottledLog(log, 10_000, now);
    registry.on('status', (s) => {
      this.publishStatus(s);
      this.publishReports(false);
    });
  }

  /** Connects and resolves on the first connection; later drops reconnect on their own. */
  start(): Promise<void> {
    const { topics, opts } = this;
    const connect = opts.connect ?? mqtt.connect;
    const client = connect(opts.url, {
      ...tlsOptions(opts),
      clientId: opts.clientId,
      username: opts.username || undefined,
      password: opts.password || undefined,
      protocolVersion: 5,
      // A persistent session: QoS 1 commands sent while the daemon is away are delivered when it returns.
      clean: false,
      properties: {
        sessionExpiryInterval: 24 * 3600,
        // The broker drops anything larger instead of delivering it: a device cannot make the
        // bridge receive (and buffer) megabytes to refuse them afterwards.
        maximumPacketSize: opts.maxPayloadBytes + PACKET_HEADROOM_BYTES + Buffer.byteLength(opts.baseTopic),
      },
      reconnectPeriod: RECONNECT_MIN_MS,
      connectTimeout: 10000,
      // Publishes made while offline would be stored and replayed before 'connect'; we drop them
      // instead (see publish), and QoS 0 is never queued either.
      queueQoSZero: false,
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
      this.dropInFlight(client);
    });
    client.on('disconnect', (packet) => this.log.warn('mqtt disconnected by the broker', { reason_code: packet.reasonCode ?? 0, reason: packet.properties?.reasonString }));
    client.on('reconnect', () => this.log.info('mqtt reconnecting'));
    client.on('offline', () => this.log.warn('mqtt offline'));
    client.on('error', (err) => this.log.error('mqtt error', errorFields(err)));
    client.on('message', (topic, payload, packet) => {
      // Fire and forget, but never an unhandled rejection.
      this.onMessage(topic, payload, packet).catch((err: unknown) => this.log.error('command handling failed', { topic: topic.slice(0, 200), ...errorFields(err) }));
    });
    if (this.statusExpiry.enabled) {
      // Often enough that a status outlives its TTL by at most a tenth of it (and a minute).
      const every = Math.max(1000, Math.min(60_000, (opts.statusTtlSeconds * 1000) / 10));
      this.sweepTimer = setInterval(() => this.clearExpiredStatuses(), every);
      this.sweepTimer.unref();
    }
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
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const client = this.client;
    if (!client) return;
    this.opts.fleet?.stop(); // before the client goes: it publishes
    this.client = undefined;
    if (client.connected) {
      await client.publishAsync(this.topics.availability, 'offline', { qos: 1, retain: true }).catch(() => undefined);
    }
    await client.endAsync();
  }

  /** Clears the retained statuses of devices idle longer than the TTL (empty retained payload). */
  clearExpiredStatuses(): void {
    if (!this.client?.connected) return;
    for (const device of this.statusExpiry.takeExpired()) {
      if (this.registry.status(device).room !== null) continue; // playing again: its status stays
      this.log.debug('idle status expired; cleared', { device });
      this.publish(this.topics.status(device), '', true);
    }
  }

  private onConnect(): void {
    const client = this.client!;
    this.log.info('mqtt connected', { url: redactUrl(this.opts.url), base: this.opts.baseTopic });
    // Retain As Published: a retained command arrives with retain=1 also while we are subscribed,
    // so it can be refused and cleared instead of executed (and replayed at every restart).
    client.subscribe(this.topics.commandFilter, { qos: 1, rap: true }, (err) => {
      if (err) this.log.error('subscribe failed', { topic: this.topics.commandFilter, ...errorFields(err) });
    });
    if (this.statusExpiry.enabled) {
      // The retained statuses an earlier run left behind, so their TTL runs too. No Local: our own
      // status publishes do not come back to us.
      client.subscribe(this.topics.statusFilter, { qos: 0, nl: true, rap: true }, (err) => {
        if (err) this.log.error('subscribe failed', { topic: this.topics.statusFilter, ...errorFields(err) });
      });
    } else {
      // The persistent session may keep that subscription from a run that had a TTL.
      client.unsubscribe(this.topics.statusFilter);
    }
    this.publish(this.topics.availability, 'online', true);
    this.opts.fleet?.connect({ publish: (topic, payload) => this.publish(topic, payload, true), republishOwn: () => this.publishReports(true) });
    this.publishReports(true);
    // After a broker restart without persistence the retained statuses are gone; put them back
    // (not those of devices idle past the TTL: they were cleared on purpose).
    for (const s of this.registry.statuses()) if (s.room !== null || this.statusExpiry.current(s.device)) this.publishStatus(s);
  }

  private async onMessage(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    const raw = this.topics.deviceOfCommand(topic);
    if (raw === undefined) return this.onRetainedStatus(topic, payload, packet);
    // An empty retained payload is how a retained command is cleared (ours, echoed back): nothing to do.
    if (packet.retain && payload.length === 0) return;
    if (packet.retain) this.publish(topic, '', true); // clear it first, whatever else happens

    const props = packet.properties;
    let correlationData = props?.correlationData;
    const refuse = (device: string | undefined, error: RefusalCode | ParseErrorCode, message: string, ids: Ids | (() => Ids) = {}, target?: string): void => {
      this.metrics?.refused.inc({ error });
      if (error === 'rate_limited') {
        // Cheap on purpose: one throttled log line for the whole flood, and a bounded number of replies.
        this.throttled.warn('rate_limited', 'commands refused: rate limited', { device });
        if (!this.refusalReplyTokens.take(device ?? '')) return;
      } else {
        this.log.warn('command refused', { device: device ?? raw.slice(0, 80), error, reason: message });
      }
      const state = device && error !== 'device_not_allowed' ? this.registry.status(device) : null;
      const echo = typeof ids === 'function' ? ids() : ids;
      this.reply(target ?? this.defaultReplyTopic(device), device, { ok: false, error, command: echo.command ?? null, message, session_id: echo.session_id ?? null, request_id: echo.request_id ?? null, state }, correlationData);
    };

    // What a refusal echoes (request_id, ...): parsed only if a refusal reply is actually sent.
    const ids = (): Ids => (payload.length <= this.opts.maxPayloadBytes ? echoIds(parseCommand(payload)) : {});
    const id = normaliseDeviceId(raw);
    // Continuity: every instance sees every command; only the device's owner answers it.
    if (this.opts.owns && !this.opts.owns(id.ok ? id.id : raw)) return;
    if (!id.ok) {
      // No device to limit by: all of these share one bucket, so they cannot flood bridge/errors.
      if (!this.commandTokens.take('')) return refuse(undefined, 'rate_limited', 'too many commands', ids);
      return refuse(undefined, 'invalid_device_id', id.reason, ids);
    }
    const device = id.id;
    if (!this.commandTokens.take(device)) {
      return refuse(device, 'rate_limited', `more than ${this.opts.commandBurst} commands in a burst or ${this.opts.commandsPerSecond} per second`, ids);
    }
    if (this.allowed && !this.allowed.has(device)) {
      // Answered on the device's own reply topic, without any state: it has none here.
      return refuse(device, 'device_not_allowed', `device ${device} is not allowed`, ids, this.topics.reply(device));
    }
    if (correlationData && correlationData.length > MAX_CORRELATION_BYTES) {
      correlationData = undefined;
      return refuse(device, 'invalid_field', `correlation data is longer than ${MAX_CORRELATION_BYTES} bytes`, ids, this.topics.reply(device));
    }
    const responseTopic = props?.responseTopic;
    if (responseTopic !== undefined) {
      const problem = this.outgoing.responseTopicProblem(responseTopic, device);
      if (problem) return refuse(device, 'invalid_field', `response topic refused: ${problem}`, ids, this.topics.reply(device));
    }
    const replyTo = responseTopic ?? this.topics.reply(device);
    if (packet.retain) {
      return refuse(device, 'retained_command', 'retained commands are not executed (the retained message was cleared)', ids, replyTo);
    }
    if (payload.length > this.opts.maxPayloadBytes) {
      return refuse(device, 'payload_too_large', `payload is ${payload.length} bytes; the limit is ${this.opts.maxPayloadBytes}`, {}, replyTo);
    }
    const parsed = parseCommand(payload);
    if (!parsed.ok) {
      return refuse(device, parsed.code, parsed.error, { command: parsed.type?.slice(0, 64), session_id: parsed.sessionId, request_id: parsed.requestId }, replyTo);
    }
    const body = await runCommand(this.registry, device, parsed.envelope, { log: this.log, metrics: this.metrics });
    this.reply(replyTo, device, body, correlationData);
  }

  /** A retained status on the broker: starts its TTL clock when its device has no session here. */
  private onRetainedStatus(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const raw = this.topics.deviceOfStatus(topic);
    if (raw === undefined || !packet.retain || payload.length === 0 || payload.length > 64 * 1024) return;
    const id = normaliseDeviceId(raw);
    if (!id.ok || id.id !== raw) return; // not a topic the bridge writes: not ours to clear
    if (this.registry.status(raw).room !== null) return;
    let updated = NaN;
    try {
      const at = (JSON.parse(payload.toString()) as { updated_at?: unknown }).updated_at;
      if (typeof at === 'string') updated = Date.parse(at);
    } catch {
      /* not a status: its clock starts now */
    }
    this.statusExpiry.foundRetained(raw, Number.isFinite(updated) ? updated : (this.opts.now ?? Date.now)());
  }

  /** Where a refusal goes when the command named no usable response topic. */
  private defaultReplyTopic(device: string | undefined): string {
    return device ? this.topics.reply(device) : this.topics.errors;
  }

  private reply(topic: string, device: string | undefined, r: Omit<Reply, 'device'>, correlationData: Buffer | undefined): void {
    this.publish(topic, JSON.stringify({ ...r, device: device ?? null }), false, correlationData);
  }

  private publishStatus(s: DeviceStatus): void {
    this.statusExpiry.published(s.device, s.room === null);
    this.publish(this.topics.status(s.device), JSON.stringify(s), true);
  }

  /**
   * This process's info and its active sessions, retained, so a dashboard sees the fleet at once:
   * on its own `bridge/instances/<id>/info|status` when in a fleet (the fleet view aggregates them
   * into `bridge/info|status`), else on those two directly. Every status change republishes the
   * sessions; the info (config and all) only when it changed, unless `always` (a connect, a report
   * cleared by a writer).
   */
  private publishReports(always: boolean): void {
    const sessions = this.registry.statuses().filter((s) => s.room !== null && s.state !== 'idle');
    const info = this.opts.info();
    const fleet = this.opts.fleet;
    const instance = fleet ? { instance: fleet.me } : {};
    const infoTopic = fleet ? this.topics.instanceReport(fleet.me, 'info') : this.topics.info;
    const statusTopic = fleet ? this.topics.instanceReport(fleet.me, 'status') : this.topics.bridgeStatus;
    const infoPayload = JSON.stringify({ ...info, ...instance, sessions: this.registry.size });
    if (always || infoPayload !== this.lastInfoPayload) this.publish(infoTopic, infoPayload, true);
    this.lastInfoPayload = infoPayload;
    this.publish(statusTopic, JSON.stringify({ ...instance, sessions, count: sessions.length, updated_at: new Date().toISOString() }), true);
    fleet?.own(sessions, this.registry.size, info);
  }

  /**
   * The only way anything is published. A publish that may not or cannot go out is dropped,
   * counted and logged (throttled), never retried: a reply is only worth its moment, and the
   * retained topics are all republished on every connect.
   */
  private publish(topic: string, payload: string, retain: boolean, correlationData?: Buffer): void {
    const client = this.client;
    const refusal = this.outgoing.refusal(topic);
    if (refusal) return this.dropped('topic_refused', topic, refusal);
    if (!client?.connected) return this.dropped('not_connected', topic);
    const max = client.serverProperties?.maximumPacketSize;
    const size = Buffer.byteLength(payload) + Buffer.byteLength(topic) + (correlationData?.length ?? 0) + 16;
    if (max !== undefined && size > max) return this.dropped('too_large', topic, `about ${size} bytes; the broker takes at most ${max}`);
    if (this.inFlight >= MAX_IN_FLIGHT) return this.dropped('backlog', topic, `${MAX_IN_FLIGHT} publishes await the broker`);
    const properties = correlationData ? { correlationData } : undefined;
    this.inFlight++;
    client.publish(topic, payload, { qos: 1, retain, properties }, (err) => {
      this.inFlight--;
      if (!err) return;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number' && code >= 0x80) this.dropped('broker_refused', topic, `${err.message} (reason code ${code})`);
      else if (err.message === IN_FLIGHT_DROPPED) this.dropped('connection_lost', topic);
      else this.dropped('send_failed', topic, err.message);
    });
  }

  /**
   * Forgets every publish still awaiting its PUBACK when the connection closes. mqtt.js keeps
   * unacknowledged QoS 1 publishes in its outgoing store and, on reconnect, re-sends them one by
   * one BEFORE it emits 'connect' (MqttClient._onConnect: startStreamProcess/storeDeliver). A
   * publish that makes the broker drop the connection would be re-sent on every reconnect, so the
   * bridge would never resubscribe. Since publish() never hands a packet to a disconnected client,
   * the store only ever holds publishes sent on the connection that just closed; dropping them
   * all here means the store is empty at every reconnect: each publish is sent at most once.
   */
  private dropInFlight(client: MqttClient): void {
    for (const [id, pending] of Object.entries(client.outgoing)) {
      if (pending?.cmd !== 'publish') continue;
      // removeOutgoingMessage calls the publish callback with "Message removed".
      client.removeOutgoingMessage(Number(id));
    }
  }

  private dropped(reason: DropReason, topic: string, why?: string): void {
    this.metrics?.publishesDropped.inc({ reason });
    this.throttled.warn(`publish:${reason}`, 'publish dropped', { reason, topic: topic.slice(0, 200), why });
  }
}

/** The message mqtt.js gives a publish removed with removeOutgoingMessage. */
const IN_FLIGHT_DROPPED = 'Message removed';

/** What a refusal echoes of the command. */
interface Ids {
  session_id?: string | null;
  request_id?: string | null;
  command?: string | null;
}

/** The caller's correlation fields, from a command that parsed or one that was refused. */
function echoIds(p: ReturnType<typeof parseCommand>): Ids {
  return p.ok
    ? { session_id: p.envelope.sessionId, request_id: p.envelope.requestId, command: p.envelope.command.type }
    : { session_id: p.sessionId, request_id: p.requestId, command: p.type?.slice(0, 64) };
}


/** TLS material for mqtts:// / wss:// brokers, read once at start-up (exported for the resume reader). */
export function tlsOptions(o: Pick<ControlPlaneOptions, 'caFile' | 'certFile' | 'keyFile' | 'rejectUnauthorized'>): Partial<IClientOptions> {
  const read = (file: string) => (file ? readFileSync(file) : undefined);
  return { ca: read(o.caFile), cert: read(o.certFile), key: read(o.keyFile), rejectUnauthorized: o.rejectUnauthorized };
}
