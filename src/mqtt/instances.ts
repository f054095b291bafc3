import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { errorFields, type Logger } from '../ops/logger';
import { normaliseDeviceId } from './device-id';
import { Topics, type ReportKind } from './topics';

/**
 * This bridge instance's id (bridge.instanceId): the owner named in every device status. When not
 * configured it is derived from the host name and the MQTT client id, so the same unit restarted
 * on the same host keeps it (and so resumes its own sessions).
 */
export function instanceIdOf(configured: string, clientId: string, host = hostname()): string {
  if (configured) return configured;
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${clean(host) || 'host'}-${clean(clientId) || 'bridge'}`.slice(0, 64);
}

/** The control plane's MQTT client id: derived from an explicit instance id, else mqtt.clientId as it was. */
export function clientIdOf(clientId: string, configuredInstance: string): string {
  return configuredInstance ? `${clientId}-${configuredInstance}`.slice(0, 128) : clientId;
}

/** A second process started with the id of an instance that is running. */
export class DuplicateInstanceError extends Error {}

export interface PresenceOptions {
  url: string;
  username: string;
  password: string;
  tls: Partial<IClientOptions>;
  clientId: string;
  baseTopic: string;
  instance: string;
  maxPayloadBytes: number;
  /** How long a process that finds its id "online" waits for the holder to answer a probe, ms. */
  probeTimeoutMs?: number;
  log: Logger;
}

export interface PresenceEvents {
  /** An instance went offline (its last will, a clean stop) or started draining. */
  gone: (instance: string) => void;
  joined: (instance: string) => void;
  /** A device's retained status (unchecked JSON), for the ownership map. */
  status: (device: string, raw: unknown) => void;
  /** An instance's retained report, `<base>/bridge/instances/<id>/status|info` (unchecked, any size). */
  report: (instance: string, kind: ReportKind, payload: Buffer) => void;
}

/** Most instances tracked; a flood of made-up ones is ignored beyond it. */
const MAX_INSTANCES = 1000;
/**
 * Keepalive of the presence connection, s: a host that dies without closing its socket is
 * declared gone by the broker (its will) after 1.5 × this. kill -9 closes the socket at once.
 */
export const PRESENCE_KEEPALIVE_S = 4;
const PROBE_TIMEOUT_MS = 1500;
const REPORT_KINDS: readonly ReportKind[] = ['status', 'info'];

type InstanceState = 'online' | 'draining' | 'offline';

/**
 * Instance presence over the broker only: each instance keeps a retained
 * `<base>/bridge/instances/<id>` saying {"state":"online","token":...}, with a last will saying
 * offline, on a connection of its own (so the will is about this instance alone). A process whose
 * id is already online probes the holder on `<id>/probe` and refuses to start when it answers; a
 * stale "online" (a host that died unnoticed) gets no answer and is taken over. The same
 * connection reads every device status, for ownership.
 */
export class InstancePresence extends EventEmitter<PresenceEvents> {
  readonly token = randomBytes(8).toString('hex');
  private readonly topics: Topics;
  private readonly prefix: string;
  private readonly live = new Map<string, string>();
  private client: MqttClient | undefined;
  /** Draining or stopping: this instance no longer speaks for the bridge. */
  private leaving = false;

  constructor(private readonly o: PresenceOptions) {
    super();
    this.topics = new Topics(o.baseTopic);
    this.prefix = `${o.baseTopic}/bridge/instances/`;
    this.live.set(o.instance, this.token);
  }

  private topicOf(instance: string): string {
    return `${this.prefix}${instance}`;
  }

  private get probeTopic(): string {
    return `${this.topicOf(this.o.instance)}/probe`;
  }

  /** Live instances (this one included), sorted. */
  instances(): string[] {
    return [...this.live.keys()].sort();
  }

  isLive(instance: string): boolean {
    return this.live.has(instance);
  }

  /** Draining or stopping. */
  get isLeaving(): boolean {
    return this.leaving;
  }

  /** Connects, refuses a duplicate, says online. Rejects with DuplicateInstanceError when another process holds the id. */
  async start(): Promise<void> {
    const o = this.o;
    const state = (s: InstanceState) => JSON.stringify({ state: s, token: this.token, at: new Date().toISOString() });
    const client = await mqtt.connectAsync(o.url, {
      ...o.tls,
      clientId: `${o.clientId}-presence-${this.token}`.slice(0, 128),
      username: o.username || undefined,
      password: o.password || undefined,
      clean: true,
      keepalive: PRESENCE_KEEPALIVE_S,
      reconnectPeriod: 1000,
      connectTimeout: 10000,
      will: { topic: this.topicOf(o.instance), payload: Buffer.from(state('offline')), qos: 1, retain: true },
    });
    this.client = client;
    let holder: string | undefined;
    let answered = false;
    const marker = `${this.prefix}${o.instance}/marker/${this.token}`;
    let markerSeen: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (markerSeen = resolve));
    let probeAnswered: () => void = () => undefined;
    const answer = new Promise<void>((resolve) => (probeAnswered = resolve));
    let started = false;
    client.on('message', (topic, payload) => {
      // Reports are bounded by their reader (fleet-status.ts), not by the command size limit.
      for (const kind of REPORT_KINDS) {
        const id = this.topics.instanceOfReport(topic, kind);
        if (id !== undefined) return void this.emit('report', id, kind, payload);
      }
      if (payload.length > o.maxPayloadBytes) return;
      if (topic === marker) return markerSeen();
      if (topic === this.probeTopic) {
        const m = parse(payload) as { type?: unknown; token?: unknown } | undefined;
        if (!m || typeof m.token !== 'string' || m.token === this.token) return;
        if (m.type === 'probe' && started) void client.publishAsync(this.probeTopic, JSON.stringify({ type: 'alive', token: this.token }), { qos: 1 }).catch(() => undefined);
        if (m.type === 'alive' && !started) {
          answered = true;
          probeAnswered();
        }
        return;
      }
      if (topic.startsWith(this.prefix)) {
        const id = topic.slice(this.prefix.length);
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) return;
        const m = parse(payload) as { state?: unknown; token?: unknown } | undefined;
        const online = m?.state === 'online' && typeof m.token === 'string';
        if (id === o.instance) {
          if (!started) holder = online ? (m!.token as string) : undefined;
          // Someone else's will or a stale state over ours: say again that this process holds the id.
          else if (!this.leaving && (!online || m!.token !== this.token)) void this.announce('online');
          return;
        }
        if (online && !this.live.has(id) && this.live.size < MAX_INSTANCES) {
          this.live.set(id, m!.token as string);
          this.emit('joined', id);
        } else if (!online) {
          if (this.live.delete(id)) this.emit('gone', id);
          if (started) this.reassertBridgeOnline();
        }
        return;
      }
      const device = deviceOfStatus(this.topics, topic);
      if (device !== undefined) this.emit('status', device, parse(payload));
    });
    client.on('error', (err) => o.log.warn('presence connection error', errorFields(err)));
    // After a reconnect (a broker restarted without persistence forgets retained messages): say it again.
    client.on('connect', () => {
      if (started && !this.leaving) void this.announce('online').catch(() => undefined);
    });
    // Presence before reports: an instance's "online" is read before its reports (fleet-view.ts).
    const reports = REPORT_KINDS.map((k) => this.topics.instanceReportFilter(k));
    await client.subscribeAsync([`${this.prefix}+`, ...reports, this.probeTopic, marker, this.topics.status('+')], { qos: 1 });
    await client.publishAsync(marker, '', { qos: 1 });
    await bounded(seen, 5000);
    if (holder !== undefined && holder !== this.token) {
      await client.publishAsync(this.probeTopic, JSON.stringify({ type: 'probe', token: this.token }), { qos: 1 });
      await bounded(answer, o.probeTimeoutMs ?? PROBE_TIMEOUT_MS);
      if (answered) {
        await client.endAsync().catch(() => undefined);
        this.client = undefined;
        throw new DuplicateInstanceError(
          `another music-bridge process is running as instance "${o.instance}" (bridge.instanceId / MUSIC_BRIDGE_INSTANCE_ID); give each process its own id`,
        );
      }
      o.log.warn('instance id was marked online by a process that does not answer; taking it over', { instance: o.instance });
    }
    started = true;
    await this.announce('online');
    o.log.info('instance online', { instance: o.instance, peers: this.instances().filter((i) => i !== o.instance) });
  }

  /** Tells the peers this instance hands its sessions over (they take them as from a gone instance). */
  drain(): Promise<void> {
    this.leaving = true;
    return this.announce('draining');
  }

  /** Publishes `statuses` on this connection, so peers see them before a following drain. */
  async publishStatuses(statuses: Array<{ device: string }>): Promise<void> {
    const client = this.client;
    if (!client) return;
    await Promise.all(statuses.map((s) => client.publishAsync(this.topics.status(s.device), JSON.stringify(s), { qos: 1, retain: true }).catch(() => undefined)));
  }

  async stop(): Promise<void> {
    this.leaving = true;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) await this.announceOn(client, 'offline').catch(() => undefined);
    await client.endAsync().catch(() => undefined);
  }

  /**
   * `<base>/bridge/state` is shared by every instance (each control plane's will says offline
   * there): when a peer goes, a live instance says online again, now and once more a second later
   * (the peer's two connections may deliver their wills in either order).
   */
  private reassertBridgeOnline(): void {
    const say = () => {
      if (this.client?.connected && !this.leaving) void this.client.publishAsync(this.topics.availability, 'online', { qos: 1, retain: true }).catch(() => undefined);
    };
    say();
    setTimeout(say, 1000).unref();
  }

  private announce(state: InstanceState): Promise<void> {
    return this.client ? this.announceOn(this.client, state) : Promise.resolve();
  }

  private async announceOn(client: MqttClient, state: InstanceState): Promise<void> {
    await client.publishAsync(this.topicOf(this.o.instance), JSON.stringify({ state, token: this.token, at: new Date().toISOString() }), { qos: 1, retain: true });
  }
}

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString()) as unknown;
  } catch {
    return undefined;
  }
}

/** The canonical device of `<base>/<device>/status`, when the segment is one exactly. */
export function deviceOfStatus(topics: Topics, topic: string): string | undefined {
  const segment = topics.deviceOfStatus(topic);
  if (segment === undefined) return undefined;
  const id = normaliseDeviceId(segment);
  return id.ok && id.id === segment ? id.id : undefined;
}

async function bounded(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
