import { EventEmitter } from 'node:events';
import type { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import { ControlPlane, type ControlPlaneMetrics, type ControlPlaneOptions, MAX_CORRELATION_BYTES } from '../../src/mqtt/control-plane';
import { FleetView } from '../../src/mqtt/fleet-view';
import { Topics } from '../../src/mqtt/topics';
import { controlPlaneOptions } from '../support/control-plane-options';
import type { Logger } from '../../src/ops/logger';
import type { SessionRegistry } from '../../src/session/registry';
import { idleStatus, type DeviceStatus } from '../../src/session/status';

const BASE = 'mb';
const DEV = 'aabbccddeeff';

interface Sent {
  topic: string;
  payload: string;
  retain: boolean;
  correlation?: string;
  userProperties?: unknown;
  json?: Record<string, unknown>;
}

/** What ControlPlane uses of mqtt.js's MqttClient, recorded; the test plays the broker. */
class FakeClient extends EventEmitter {
  connected = false;
  options: IClientOptions = {};
  serverProperties: { maximumPacketSize?: number } | undefined;
  outgoing: Record<number, { cmd: string; cb: (err?: Error) => void }> = {};
  readonly sent: Sent[] = [];
  readonly subscriptions: Array<{ filter: string; opts: unknown }> = [];
  /** When set, publishes stay in flight (no PUBACK) until the test acks or drops them. */
  holdAcks = false;
  private nextId = 1;

  publish(topic: string, payload: string, opts: IClientPublishOptions, cb: (err?: Error) => void): this {
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    this.sent.push({ topic, payload, retain: !!opts.retain, correlation: opts.properties?.correlationData?.toString(), userProperties: opts.properties?.userProperties, json });
    if (this.holdAcks) this.outgoing[this.nextId++] = { cmd: 'publish', cb };
    else queueMicrotask(() => cb());
    return this;
  }
  subscribe(filter: string, opts: unknown, cb: (err: Error | null) => void): this {
    this.subscriptions.push({ filter, opts });
    cb(null);
    return this;
  }
  unsubscribe(): this {
    return this;
  }
  removeOutgoingMessage(id: number): this {
    const p = this.outgoing[id];
    delete this.outgoing[id];
    p?.cb(new Error('Message removed'));
    return this;
  }
  async publishAsync(): Promise<void> {}
  async endAsync(): Promise<void> {
    this.connected = false;
  }
  end(): this {
    return this;
  }
  brokerConnects(): void {
    this.connected = true;
    this.emit('connect', {});
  }
  brokerCloses(): void {
    this.connected = false;
    this.emit('close');
  }
  /** Delivers a command as the broker would. */
  deliver(topic: string, payload: string | Buffer, extra: Partial<IPublishPacket> = {}): void {
    const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false, messageId: 1, ...extra };
    this.emit('message', topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), packet);
  }
}

class FakeRegistry extends EventEmitter {
  readonly executed: Array<{ device: string; type: string }> = [];
  readonly statusesKnown = new Map<string, DeviceStatus>();
  fail: Error | undefined;
  size = 0;
  statuses(): DeviceStatus[] {
    return [...this.statusesKnown.values()];
  }
  status(device: string): DeviceStatus {
    return this.statusesKnown.get(device) ?? idleStatus(device);
  }
  async execute(device: string, envelope: { command: { type: string } }): Promise<{ ok: boolean; message: string; status: DeviceStatus }> {
    this.executed.push({ device, type: envelope.command.type });
    if (this.fail) throw this.fail;
    return { ok: true, message: 'done', status: this.status(device) };
  }
}

function counters(): ControlPlaneMetrics & { refusedBy: Record<string, number>; droppedBy: Record<string, number> } {
  const refusedBy: Record<string, number> = {};
  const droppedBy: Record<string, number> = {};
  return {
    refusedBy,
    droppedBy,
    commands: { observe: () => undefined },
    refused: { inc: ({ error }) => void (refusedBy[error] = (refusedBy[error] ?? 0) + 1) },
    mqttConnected: { set: () => undefined },
    publishesDropped: { inc: ({ reason }) => void (droppedBy[reason] = (droppedBy[reason] ?? 0) + 1) },
  };
}

function recordingLog(): Logger & { lines: Array<{ level: string; msg: string; meta?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; meta?: Record<string, unknown> }> = [];
  const log = {
    lines,
    error: (msg: string, meta?: Record<string, unknown>) => void lines.push({ level: 'error', msg, meta }),
    warn: (msg: string, meta?: Record<string, unknown>) => void lines.push({ level: 'warn', msg, meta }),
    info: (msg: string, meta?: Record<string, unknown>) => void lines.push({ level: 'info', msg, meta }),
    debug: (msg: string, meta?: Record<string, unknown>) => void lines.push({ level: 'debug', msg, meta }),
    child: () => log,
  };
  return log;
}

async function setup(over: Partial<ControlPlaneOptions> = {}) {
  let clock = 1_000_000;
  const client = new FakeClient();
  const registry = new FakeRegistry();
  const log = recordingLog();
  const metrics = counters();
  let connectOptions: IClientOptions | undefined;
  const opts = controlPlaneOptions({
    baseTopic: BASE,
    connect: (_url, o) => {
      connectOptions = o;
      return client as unknown as MqttClient;
    },
    now: () => clock,
    ...over,
  });
  const cp = new ControlPlane(opts, registry as unknown as SessionRegistry, log, metrics);
  const started = cp.start();
  client.brokerConnects();
  await started;
  /** Settles every pending handler (the fake registry and acks resolve in microtasks). */
  const settle = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return {
    cp,
    client,
    registry,
    log,
    metrics,
    settle,
    connectOptions: () => connectOptions!,
    advance: (ms: number) => void (clock += ms),
    replies: () => client.sent.filter((s) => s.topic.endsWith('/reply') || s.topic.includes('/reply/') || s.topic.endsWith('/errors')),
    command: async (payload: string | Buffer, extra: Partial<IPublishPacket> = {}, device = DEV) => {
      const from = client.sent.length;
      client.deliver(`${BASE}/${device}/command`, payload, extra);
      await settle();
      return client.sent.slice(from);
    },
  };
}

const GET = '{"type":"get_status","request_id":"r"}';

describe('ControlPlane (fake MQTT client): connection', () => {
  test('CONNECT asks the broker never to deliver more than the payload limit plus headroom', async () => {
    const t = await setup({ maxPayloadBytes: 4096 });
    const max = t.connectOptions().properties?.maximumPacketSize;
    expect(max).toBeGreaterThan(4096);
    expect(max).toBeLessThanOrEqual(4096 + 2048);
    expect(t.connectOptions().queueQoSZero).toBe(false);
  });

  test('subscribes with Retain As Published, so a retained command is seen as retained', async () => {
    const t = await setup();
    expect(t.client.subscriptions).toEqual([{ filter: `${BASE}/+/command`, opts: { qos: 1, rap: true } }]);
  });

  test('a rejected handler is logged, never an unhandled rejection', async () => {
    const t = await setup();
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      t.registry.status = () => {
        throw new Error('boom');
      };
      t.registry.fail = new Error('session exploded');
      await t.command(GET);
      await new Promise((r) => setImmediate(r));
      expect(unhandled).not.toHaveBeenCalled();
      expect(t.log.lines.some((l) => l.level === 'error' && (l.msg === 'command handling failed' || l.msg === 'command failed'))).toBe(true);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('ControlPlane (fake MQTT client): an attacker\'s response topics', () => {
  test.each([
    ['a wildcard subtree', `${BASE}/#`],
    ['a single-level wildcard', '+/x'],
    ['a wildcard inside the own subtree', `${BASE}/${DEV}/+`],
    ['the empty topic', ''],
    ['another device\'s reply topic', `${BASE}/112233445566/reply`],
    ['another device\'s status topic', `${BASE}/112233445566/status`],
    ['the bridge availability', `${BASE}/bridge/state`],
    ['the bridge info', `${BASE}/bridge/info`],
    ['the own status topic', `${BASE}/${DEV}/status`],
    ['the own command topic', `${BASE}/${DEV}/command`],
    ['the own prefix alone', `${BASE}/${DEV}/`],
    ['a topic outside the base', `elsewhere/${DEV}/reply`],
    ['a prefix look-alike', `${BASE}/${DEV}x/reply`],
    ['NUL', `${BASE}/${DEV}/reply\u0000x`],
    ['a control character', `${BASE}/${DEV}/reply\nx`],
    ['a lone surrogate', `${BASE}/${DEV}/reply\ud800`],
    ['an over-long topic', `${BASE}/${DEV}/reply/${'x'.repeat(300)}`],
  ])('%s: not executed, invalid_field on the device\'s own reply topic, nothing published there', async (_what, responseTopic) => {
    const t = await setup();
    const out = await t.command(GET, { properties: { responseTopic, correlationData: Buffer.from('c1') } });
    expect(t.registry.executed).toHaveLength(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ topic: `${BASE}/${DEV}/reply`, retain: false, correlation: 'c1', json: { ok: false, error: 'invalid_field', request_id: 'r', command: 'get_status' } });
    expect(String(out[0]!.json!.message)).toMatch(/^response topic refused/);
    expect(t.metrics.refusedBy.invalid_field).toBe(1);
  });

  test('a response topic under the device\'s own subtree is used, with the correlation data', async () => {
    const t = await setup();
    const out = await t.command(GET, { properties: { responseTopic: `${BASE}/${DEV}/reply/app-7`, correlationData: Buffer.from('corr') } });
    expect(out).toEqual([expect.objectContaining({ topic: `${BASE}/${DEV}/reply/app-7`, correlation: 'corr', json: expect.objectContaining({ ok: true }) })]);
  });

  test('configured prefixes with {device} extend where replies may go, for that device only', async () => {
    const t = await setup({ responseTopicPrefixes: ['apps/{device}/inbox'] });
    expect(await t.command(GET, { properties: { responseTopic: `apps/${DEV}/inbox/1` } })).toEqual([expect.objectContaining({ topic: `apps/${DEV}/inbox/1`, json: expect.objectContaining({ ok: true }) })]);
    const other = await t.command(GET, { properties: { responseTopic: 'apps/112233445566/inbox/1' } });
    expect(other).toEqual([expect.objectContaining({ topic: `${BASE}/${DEV}/reply`, json: expect.objectContaining({ error: 'invalid_field' }) })]);
  });

  test('MQTT 5 user properties are ignored and never echoed; a topic alias without a topic is dropped', async () => {
    const t = await setup();
    const out = await t.command(GET, { properties: { userProperties: { evil: 'x'.repeat(1000), 'response-topic': `${BASE}/#` } } });
    expect(out).toEqual([expect.objectContaining({ topic: `${BASE}/${DEV}/reply`, userProperties: undefined, json: expect.objectContaining({ ok: true }) })]);
    // mqtt.js resolves aliases; one it could not resolve reaches us with an empty topic: a clean drop.
    const from = t.client.sent.length;
    t.client.deliver('', GET, { properties: { topicAlias: 3 } });
    await t.settle();
    expect(t.client.sent.length).toBe(from);
  });

  test(`correlation data over ${MAX_CORRELATION_BYTES} bytes: refused (invalid_field), not echoed, not executed`, async () => {
    const t = await setup();
    const out = await t.command(GET, { properties: { responseTopic: `${BASE}/${DEV}/reply/x`, correlationData: Buffer.alloc(65_000, 1) } });
    expect(t.registry.executed).toHaveLength(0);
    expect(out).toEqual([expect.objectContaining({ topic: `${BASE}/${DEV}/reply`, correlation: undefined, json: expect.objectContaining({ error: 'invalid_field' }) })]);
    const ok = await t.command(GET, { properties: { correlationData: Buffer.alloc(MAX_CORRELATION_BYTES, 65) } });
    expect(ok[0]!.correlation).toBe('A'.repeat(MAX_CORRELATION_BYTES));
  });
});

describe('ControlPlane (fake MQTT client): hostile payloads and flags', () => {
  test('a retained command is cleared (empty retained payload on that topic), refused and not executed', async () => {
    const t = await setup();
    const out = await t.command('{"type":"start_continuous_music","request_id":"ret"}', { retain: true });
    expect(t.registry.executed).toHaveLength(0);
    expect(out[0]).toEqual(expect.objectContaining({ topic: `${BASE}/${DEV}/command`, payload: '', retain: true }));
    expect(out[1]).toMatchObject({ topic: `${BASE}/${DEV}/reply`, json: { ok: false, error: 'retained_command', request_id: 'ret', command: 'start_continuous_music' } });
    // The clear comes back to us (retain as published): nothing happens.
    expect(await t.command('', { retain: true })).toEqual([]);
  });

  test('a retained command on a refused device id is still cleared', async () => {
    const t = await setup();
    const out = await t.command(GET, { retain: true }, 'a b');
    expect(out[0]).toEqual(expect.objectContaining({ topic: `${BASE}/a b/command`, payload: '', retain: true }));
    expect(out[1]).toMatchObject({ topic: `${BASE}/bridge/errors`, json: { error: 'invalid_device_id' } });
  });

  test('QoS 2 commands are handled like QoS 1 (one reply)', async () => {
    const t = await setup();
    expect(await t.command(GET, { qos: 2 })).toEqual([expect.objectContaining({ json: expect.objectContaining({ ok: true }) })]);
  });

  test.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]), 'invalid_json'],
    ['an overlong UTF-8 encoding of "{"', Buffer.from([0xc1, 0xbb]), 'invalid_json'],
    ['deeply nested arrays', '['.repeat(4000), 'invalid_json'],
    ['deeply nested valid JSON', '['.repeat(2000) + ']'.repeat(2000), 'not_an_object'],
    ['a __proto__ key carrying the type', '{"__proto__":{"type":"skip_music"}}', 'missing_type'],
    ['a constructor key', '{"constructor":{"prototype":{"type":"skip_music"}}}', 'missing_type'],
    ['an empty payload', '', 'invalid_json'],
  ])('%s: a coded reply, nothing executed', async (_what, payload, code) => {
    const t = await setup();
    const out = await t.command(payload);
    expect(t.registry.executed).toHaveLength(0);
    expect(out).toEqual([expect.objectContaining({ topic: `${BASE}/${DEV}/reply`, json: expect.objectContaining({ ok: false, error: code }) })]);
    expect(({} as Record<string, unknown>).type).toBeUndefined(); // no prototype was touched
  });

  test('a UTF-8 BOM before the JSON is tolerated', async () => {
    const t = await setup();
    const out = await t.command(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GET)]));
    expect(out).toEqual([expect.objectContaining({ json: expect.objectContaining({ ok: true }) })]);
  });

  test('deeply nested JSON inside a valid command is ignored', async () => {
    const t = await setup();
    const out = await t.command(`{"type":"get_status","x":${'['.repeat(1500)}${']'.repeat(1500)}}`);
    expect(out).toEqual([expect.objectContaining({ json: expect.objectContaining({ ok: true }) })]);
  });

  test.each(['ａａｂｂｃｃｄｄｅｅｆｆ', 'aabb\u202eccddeeff', 'aabbcc\u200bddeeff', 'caf\u00e9', '\ud83d\ude00', 'a\u0000b', 'bridge', 'BRIDGE'])(
    'device segment %j: invalid_device_id on bridge/errors, nothing executed',
    async (device) => {
      const t = await setup();
      const out = await t.command(GET, { properties: { responseTopic: `${BASE}/${device}/reply` } }, device);
      expect(t.registry.executed).toHaveLength(0);
      expect(out).toEqual([expect.objectContaining({ topic: `${BASE}/bridge/errors`, json: expect.objectContaining({ error: 'invalid_device_id', device: null }) })]);
    },
  );
});

describe('ControlPlane (fake MQTT client): a flood', () => {
  test('per-device token bucket: burst, then rate_limited with throttled replies and one log line; other devices unaffected', async () => {
    const t = await setup({ commandsPerSecond: 5, commandBurst: 10 });
    for (let i = 0; i < 2000; i++) t.client.deliver(`${BASE}/${DEV}/command`, `{"type":"get_status","request_id":"f${i}"}`);
    await t.settle();
    expect(t.registry.executed).toHaveLength(10);
    const replies = t.replies();
    const accepted = replies.filter((r) => r.json?.error !== 'rate_limited');
    expect(accepted).toHaveLength(10);
    expect(new Set(accepted.map((r) => r.json?.request_id)).size).toBe(10);
    // rate_limited replies are themselves limited: at most a couple per second per device.
    const limited = replies.filter((r) => r.json?.error === 'rate_limited');
    expect(limited.length).toBeLessThanOrEqual(2);
    expect(limited[0]?.json).toMatchObject({ ok: false, request_id: 'f10', command: 'get_status' });
    expect(t.metrics.refusedBy.rate_limited).toBe(1990);
    expect(t.log.lines.filter((l) => l.level !== 'debug' && /refused|rate/.test(l.msg))).toHaveLength(1);
    expect(t.log.lines.filter((l) => l.level === 'info' && l.msg === 'command received')).toHaveLength(10);

    // Another device still has its own bucket.
    expect(await t.command(GET, {}, '112233445566')).toEqual([expect.objectContaining({ json: expect.objectContaining({ ok: true }) })]);
    // After a second the device has 5 more tokens.
    t.advance(1000);
    for (let i = 0; i < 8; i++) t.client.deliver(`${BASE}/${DEV}/command`, GET);
    await t.settle();
    expect(t.registry.executed.filter((e) => e.device === DEV)).toHaveLength(15);
  });

  test('invalid device ids share one bucket, so bridge/errors cannot be flooded', async () => {
    const t = await setup({ commandsPerSecond: 1, commandBurst: 3 });
    for (let i = 0; i < 100; i++) t.client.deliver(`${BASE}/bad id ${i}/command`, GET);
    await t.settle();
    expect(t.client.sent.filter((s) => s.topic === `${BASE}/bridge/errors`).length).toBeLessThanOrEqual(5);
  });
});

describe('ControlPlane (fake MQTT client): the one publish function', () => {
  test('a publish the broker refuses (reason code >= 0x80) is dropped, counted and logged once', async () => {
    const t = await setup();
    t.client.publish = function (topic: string, payload: string, opts: IClientPublishOptions, cb: (err?: Error) => void) {
      this.sent.push({ topic, payload, retain: !!opts.retain });
      const err = Object.assign(new Error('Publish error: Not authorized'), { code: 0x87 });
      queueMicrotask(() => cb(err));
      return this;
    };
    for (let i = 0; i < 5; i++) await t.command(GET);
    expect(t.metrics.droppedBy.broker_refused).toBe(5);
    expect(t.log.lines.filter((l) => l.msg === 'publish dropped')).toHaveLength(1);
  });

  test('publishes in flight when the connection closes are forgotten (never replayed); nothing is queued while offline', async () => {
    const t = await setup();
    t.client.holdAcks = true;
    await t.command(GET);
    await t.command(GET);
    expect(Object.keys(t.client.outgoing)).toHaveLength(2);
    t.client.brokerCloses();
    expect(Object.keys(t.client.outgoing)).toHaveLength(0);
    expect(t.metrics.droppedBy.connection_lost).toBe(2);
    // Offline: a reply is dropped (counted) instead of being stored for a replay.
    const before = t.client.sent.length;
    await t.command(GET);
    expect(t.client.sent.length).toBe(before);
    expect(t.metrics.droppedBy.not_connected).toBe(1);
    // Reconnect: subscribes again at once, availability online again.
    t.client.holdAcks = false;
    t.client.brokerConnects();
    expect(t.client.subscriptions).toHaveLength(2);
    expect(t.client.sent.at(-1)?.topic).toBe(`${BASE}/bridge/status`);
  });

  test('a publish bigger than the broker\'s maximum packet size is dropped before it can get us disconnected', async () => {
    const t = await setup();
    t.client.serverProperties = { maximumPacketSize: 300 };
    await t.command(GET); // the reply carries the whole status: over 300 bytes
    expect(t.metrics.droppedBy.too_large).toBe(1);
  });
});

describe('ControlPlane (fake MQTT client): idle statuses expire', () => {
  test('an idle device\'s retained status is cleared after the TTL; an active one is not; a cleared one is not republished on reconnect', async () => {
    const t = await setup({ statusTtlSeconds: 60 });
    const idle = idleStatus('111111111111');
    const playing: DeviceStatus = { ...idleStatus('222222222222'), room: 'r', state: 'playing' };
    t.registry.statusesKnown.set(idle.device, idle);
    t.registry.statusesKnown.set(playing.device, playing);
    t.registry.emit('status', idle);
    t.registry.emit('status', playing);
    t.advance(59_000);
    t.cp.clearExpiredStatuses();
    expect(t.client.sent.filter((s) => s.payload === '')).toHaveLength(0);
    t.advance(2_000);
    t.cp.clearExpiredStatuses();
    expect(t.client.sent.filter((s) => s.payload === '')).toEqual([expect.objectContaining({ topic: `${BASE}/111111111111/status`, retain: true })]);
    const from = t.client.sent.length;
    t.client.brokerCloses();
    t.client.brokerConnects();
    const republished = t.client.sent.slice(from).filter((s) => s.topic.endsWith('/status') && !s.topic.includes('/bridge/'));
    expect(republished.map((s) => s.topic)).toEqual([`${BASE}/222222222222/status`]);
    await t.cp.stop();
  });

  test('retained statuses an earlier run left on the broker are cleared once their updated_at is past the TTL', async () => {
    const t = await setup({ statusTtlSeconds: 60 });
    expect(t.client.subscriptions.map((s) => s.filter)).toEqual([`${BASE}/+/command`, `${BASE}/+/status`]);
    const old = (device: string, at: number) => JSON.stringify({ ...idleStatus(device), updated_at: new Date(at).toISOString() });
    const now = 1_000_000;
    t.client.deliver(`${BASE}/111111111111/status`, old('111111111111', now - 59_000), { retain: true });
    t.client.deliver(`${BASE}/333333333333/status`, 'not json', { retain: true });
    // Not ours: a non-canonical segment, a live (non-retained) message, a device playing here.
    t.client.deliver(`${BASE}/AA-BB-CC-DD-EE-FF/status`, old('aabbccddeeff', 0), { retain: true });
    t.client.deliver(`${BASE}/444444444444/status`, old('444444444444', 0));
    t.registry.statusesKnown.set('555555555555', { ...idleStatus('555555555555'), room: 'r', state: 'playing' });
    t.client.deliver(`${BASE}/555555555555/status`, old('555555555555', 0), { retain: true });
    await t.settle();
    t.advance(2_000);
    t.cp.clearExpiredStatuses();
    expect(t.client.sent.filter((s) => s.payload === '').map((s) => s.topic)).toEqual([`${BASE}/111111111111/status`]);
    t.advance(60_000);
    t.cp.clearExpiredStatuses();
    expect(t.client.sent.filter((s) => s.payload === '').map((s) => s.topic)).toEqual([`${BASE}/111111111111/status`, `${BASE}/333333333333/status`]);
    await t.cp.stop();
  });

  test('statusTtlSeconds 0: never cleared', async () => {
    const t = await setup({ statusTtlSeconds: 0 });
    t.registry.emit('status', idleStatus('111111111111'));
    t.advance(10 * 365 * 86400_000);
    t.cp.clearExpiredStatuses();
    expect(t.client.sent.filter((s) => s.payload === '')).toHaveLength(0);
  });
});

describe('ControlPlane (fake MQTT client): in a fleet', () => {
  test('its info and sessions go to its own bridge/instances/<id>/ topics, the aggregate through the fleet view; a clean stop clears them', async () => {
    const fleet = new FleetView({ me: 'ia', topics: new Topics(BASE), live: () => ['ia'], leaving: () => false, log: recordingLog(), coalesceMs: 60_000 });
    fleet.markReady();
    const t = await setup({ fleet, info: () => ({ version: 'test', instance: 'ia' }) });
    const playing = { ...idleStatus(DEV), room: 'r1', state: 'playing' as const, instance: 'ia' };
    t.registry.statusesKnown.set(DEV, playing);
    t.registry.size = 1;
    t.registry.emit('status', playing);
    const mine = (leaf: string) => t.client.sent.filter((s) => s.topic === `${BASE}/bridge/instances/ia/${leaf}`).at(-1)?.json;
    expect(mine('status')).toMatchObject({ instance: 'ia', sessions: [playing], count: 1 });
    expect(mine('info')).toEqual({ version: 'test', instance: 'ia', sessions: 1 });
    expect(t.client.sent.some((s) => s.topic === `${BASE}/bridge/status`)).toBe(false); // coalesced: not yet
    fleet.flush();
    expect(t.client.sent.at(-1)).toMatchObject({ topic: `${BASE}/bridge/info`, retain: true, json: { version: 'test', sessions: 1, instances: [{ id: 'ia', sessions: 1 }] } });
    expect(t.client.sent.filter((s) => s.topic === `${BASE}/bridge/status`).at(-1)?.json).toMatchObject({ sessions: [playing], count: 1 });
    const from = t.client.sent.length;
    await t.cp.stop();
    expect(t.client.sent.slice(from).map((s) => [s.topic, s.payload === '' ? '' : 'x'])).toEqual([
      [`${BASE}/bridge/status`, 'x'],
      [`${BASE}/bridge/info`, 'x'],
      [`${BASE}/bridge/instances/ia/status`, ''],
      [`${BASE}/bridge/instances/ia/info`, ''],
    ]);
  });
});
