import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import { freeTcpPort } from '../../src/ops/local-stack';
import { Daemon } from '../support/daemon';
import { AUDIBLE_RMS, HZ_TOLERANCE, type Heard } from '../support/listener';
import { type AppClient, jsonOrUndefined } from '../support/mqtt-client';
import { testScope } from '../support/scope';
import { hzOf, stackInfo } from '../support/stack';
import { Observations } from '../support/waiter';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];

interface Seen {
  topic: string;
  text: string;
  json: Record<string, unknown> | undefined;
  retain: boolean;
  correlation?: string;
}

/** A hostile device (or an observer): a bare MQTT 5 client recording what it receives. */
async function client(...subscriptions: string[]): Promise<{ c: MqttClient; seen: Observations<Seen>; send: (topic: string, body: Record<string, unknown> | string, opts?: IClientPublishOptions) => Promise<void> }> {
  const c = await mqtt.connectAsync(stackInfo().mqttUrl, { clientId: `hostile-${randomBytes(4).toString('hex')}`, protocolVersion: 5, reconnectPeriod: 0 });
  const seen = new Observations<Seen>();
  c.on('message', (topic, payload, packet) => {
    const text = payload.toString();
    seen.push({ topic, text, json: jsonOrUndefined(text), retain: packet.retain, correlation: packet.properties?.correlationData?.toString() });
  });
  for (const s of subscriptions) await c.subscribeAsync(s, { qos: 1, rap: true });
  const send = async (topic: string, body: Record<string, unknown> | string, opts: IClientPublishOptions = { qos: 1 }) => {
    await c.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), opts);
  };
  return { c, seen, send };
}

/** One sample of a Prometheus text exposition; 0 when the series has no sample yet. */
function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Starts and stops music for `device`, so its retained status is idle; returns the message index before the stop. */
async function playThenStop(app: AppClient, device: string, room: string): Promise<number> {
  expect(await app.command(device, { type: 'start_continuous_music', session_id: room })).toMatchObject({ ok: true });
  const stopped = app.messages.items.length;
  expect(await app.command(device, { type: 'stop_continuous_music' })).toMatchObject({ ok: true, state: { state: 'idle' } });
  await app.status(device, (s) => s.state === 'idle', 'idle status', stopped);
  return stopped;
}

/** The gap a song change may have (mp3 padding; the audio tests hold gapless changes to this). */
const SONG_CHANGE_BUDGET_FRAMES = 2;

/**
 * Silent frames in [from, to) that the daemon added: every silent frame inside a song (the same
 * tone before and after the gap), and at a song change whatever exceeds the gapless budget.
 */
function addedSilence(frames: Heard[], from: number, to: number): number {
  const silent = (f: Heard) => (f.rms ?? 0) < AUDIBLE_RMS / 4;
  let added = 0;
  for (let i = from; i < Math.min(to, frames.length); ) {
    if (!silent(frames[i]!)) {
      i++;
      continue;
    }
    let end = i;
    while (end < frames.length && silent(frames[end]!)) end++;
    const run = Math.min(end, to) - i;
    const before = frames[i - 1]?.hz;
    const after = frames[end]?.hz;
    const songChange = before !== undefined && after !== undefined && Math.abs(before - after) > HZ_TOLERANCE;
    added += songChange ? Math.max(0, run - SONG_CHANGE_BUDGET_FRAMES) : run;
    i = end;
  }
  return added;
}

const connects = (d: Daemon) => d.lines.items.filter((l) => l.message === 'mqtt connected').length;

describe('hostile MQTT input (real broker, LiveKit and listener)', () => {
  const scope = testScope();

  test('hostile response topics: the bridge stays online, each gets invalid_field on the sender\'s own reply topic, nothing lands elsewhere; other rooms stay controllable', async () => {
    const { daemon, app } = await scope.daemon();
    const base = daemon.baseTopic;
    const A = 'aabbccddee71';
    const B = 'aabbccddee72';
    const watch = await client(`${base}/#`);
    scope.defer(() => watch.c.endAsync());
    await watch.seen.next((m) => m.topic === `${base}/bridge/state` && m.text === 'online', 'bridge online');
    const attacker = await client(`${base}/${A}/reply`);
    scope.defer(() => attacker.c.endAsync());

    const hostile = [`${base}/#`, '+/x', `${base}/+/reply`, `${base}/${B}/reply`, `${base}/${B}/status`, `${base}/bridge/state`, `${base}/bridge/info`, `elsewhere/${A}`, `${base}/${A}/status`];
    const from = watch.seen.items.length;
    for (const [i, responseTopic] of hostile.entries()) {
      const request_id = `rt-${i}`;
      await attacker.send(`${base}/${A}/command`, { type: 'start_continuous_music', session_id: 'hostile-room', request_id }, { qos: 1, properties: { responseTopic, correlationData: Buffer.from(request_id) } });
      const reply = await attacker.seen.next((m) => m.json?.request_id === request_id, `reply for response topic ${responseTopic}`, 10000);
      expect({ responseTopic, topic: reply.topic, ok: reply.json?.ok, error: reply.json?.error, correlation: reply.correlation }).toEqual({ responseTopic, topic: `${base}/${A}/reply`, ok: false, error: 'invalid_field', correlation: request_id });
      expect(String(reply.json?.message)).toMatch(/response topic refused/);
    }
    // The empty response topic: mqtt.js sends it as an empty string property.
    await attacker.send(`${base}/${A}/command`, { type: 'get_status', request_id: 'rt-empty' }, { qos: 1, properties: { responseTopic: '' } });
    const empty = await attacker.seen.next((m) => m.json?.request_id === 'rt-empty', 'reply for the empty response topic', 10000);
    expect(empty.json).toMatchObject({ ok: false, error: 'invalid_field' });

    // Nothing was published on B's topics, on bridge/state, or outside A's reply topic by any of these.
    const during = watch.seen.items.slice(from);
    expect(during.filter((m) => m.topic.startsWith(`${base}/${B}/`) || m.topic === `${base}/bridge/state`)).toEqual([]);
    expect(during.filter((m) => m.json?.request_id !== undefined && !m.topic.endsWith('/command') && m.topic !== `${base}/${A}/reply`)).toEqual([]);
    expect(daemon.lines.items.filter((l) => l.message === 'command received' && l.device === A)).toEqual([]);

    // Still online: connected once, and B is served and heard.
    const room = 'hostile-rt-b';
    const l = await scope.listen(room);
    expect(await app.command(B, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room })).toMatchObject({ ok: true });
    const first = await l.hearTone(POP, 'B\'s music');
    let mark = l.mark;
    expect(await app.command(B, { type: 'skip_music' })).toMatchObject({ ok: true });
    await l.hearTone(POP.filter((hz) => hz !== first), 'B\'s skip is heard', mark);
    mark = l.mark;
    expect(await app.command(B, { type: 'stop_continuous_music' })).toMatchObject({ ok: true });
    await l.lines.next((h) => h.event === 'participant_left' && h.identity === 'music-bridge', 'B\'s stop: the bot leaves', 10000, mark);
    expect(connects(daemon)).toBe(1);
    expect(daemon.lines.items.filter((l2) => l2.message === 'mqtt disconnected by the broker' || l2.message === 'mqtt offline')).toEqual([]);
  }, 120000);

  test('a retained start is refused (retained_command), not executed, cleared, and not executed after a restart', async () => {
    const { daemon, app } = await scope.daemon();
    const base = daemon.baseTopic;
    const A = 'aabbccddee73';
    const attacker = await client(`${base}/${A}/reply`);
    scope.defer(() => attacker.c.endAsync());
    const start = { type: 'start_continuous_music', session_id: 'hostile-retained', request_id: 'ret-1' };
    await attacker.send(`${base}/${A}/command`, start, { qos: 1, retain: true });
    const reply = await attacker.seen.next((m) => m.json?.request_id === 'ret-1', 'reply to the retained start', 10000);
    expect(reply.json).toMatchObject({ ok: false, error: 'retained_command', command: 'start_continuous_music' });
    expect(await app.command(A, { type: 'get_status' })).toMatchObject({ ok: true, state: { state: 'idle', room: null } });

    /** True when a fresh subscriber gets a retained command for A (retained messages arrive in subscription order). */
    const retainedCommand = async (): Promise<boolean> => {
      const fresh = await client(`${base}/${A}/command`, `${base}/bridge/state`);
      try {
        await fresh.seen.next((m) => m.topic === `${base}/bridge/state`, 'retained bridge state');
        return fresh.seen.items.some((m) => m.topic === `${base}/${A}/command` && m.text.length > 0);
      } finally {
        await fresh.c.endAsync();
      }
    };
    expect(await retainedCommand()).toBe(false);

    // A retained start published while the bridge is away reaches it on return: refused again, cleared.
    expect(await daemon.stop()).toBe(0);
    await attacker.send(`${base}/${A}/command`, { ...start, request_id: 'ret-2' }, { qos: 1, retain: true });
    const again = new Daemon(base, join(stackInfo().workDir, `${base}.json`));
    scope.defer(() => again.stop());
    await again.lines.next((l) => l.message === 'music-bridge started', 'restart', 20000);
    const reply2 = await attacker.seen.next((m) => m.json?.request_id === 'ret-2', 'reply to the retained start after the restart', 10000);
    expect(reply2.json).toMatchObject({ ok: false, error: 'retained_command' });
    expect(await app.command(A, { type: 'get_status' })).toMatchObject({ ok: true, state: { state: 'idle', room: null } });
    expect(await retainedCommand()).toBe(false);

    // And a third run sees nothing at all.
    expect(await again.stop()).toBe(0);
    const third = new Daemon(base, join(stackInfo().workDir, `${base}.json`));
    scope.defer(() => third.stop());
    await third.lines.next((l) => l.message === 'music-bridge started', 'second restart', 20000);
    expect(await app.command(A, { type: 'get_status' })).toMatchObject({ ok: true, state: { state: 'idle' } });
    expect([...daemon.lines.items, ...again.lines.items, ...third.lines.items].filter((l) => l.message === 'command received' && l.command === 'start_continuous_music')).toEqual([]);
  }, 120000);

  test('a flood of 2,000 commands from one device: another room hears no added silence, every accepted command gets exactly one reply', async () => {
    const port = await freeTcpPort();
    const { daemon, app } = await scope.daemon({ http: { port } });
    const base = daemon.baseTopic;
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const A = 'aabbccddee74';
    const B = 'aabbccddee75';
    const C = 'aabbccddee76';
    const room = 'hostile-flood-b';
    const l = await scope.listen(room);
    expect(await app.command(B, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room })).toMatchObject({ ok: true });
    await l.hearTone(POP, 'B\'s music before the flood');

    const WINDOW = 300; // frames of 10 ms
    const silentIn = (from: number) => addedSilence(l.frames, from, from + WINDOW);
    const framesAt = () => l.frames.length;
    const waitFrames = (n: number, what: string) => l.lines.until(() => framesAt() >= n, what, 30000);
    const before = framesAt();
    await waitFrames(before + WINDOW, 'a window of music before the flood');

    const attacker = await client(`${base}/${A}/reply`);
    scope.defer(() => attacker.c.endAsync());
    const N = 2000;
    const lateBefore = metric(await scrape(), 'music_bridge_underrun_seconds_total');
    const during = framesAt();
    await Promise.all(Array.from({ length: N }, (_, i) => attacker.send(`${base}/${A}/command`, { type: 'get_status', request_id: `f${i}` })));
    // A marker sent after the flood by the same client reaches the bridge after all of it (the broker
    // keeps one client's order), so by its "command received" line every flooded command the bridge
    // got was let in (one "command received" line each) or refused. The broker itself may drop some
    // of the 2,000 (max_queued_messages): those the bridge never saw.
    await attacker.c.subscribeAsync(`${base}/${C}/reply`, { qos: 1 });
    await attacker.send(`${base}/${C}/command`, { type: 'get_status', request_id: 'marker' });
    await daemon.lines.next((x) => x.message === 'command received' && x.device === C, 'the marker after the flood', 30000);
    const limited = metric(await scrape(), 'music_bridge_commands_refused_total', 'error="rate_limited"');
    const accepted = daemon.lines.items.filter((x) => x.message === 'command received' && x.device === A).length;
    expect(accepted).toBeGreaterThan(0);
    expect(limited).toBeGreaterThan(accepted); // the limit did bite
    const fromA = (items: Seen[]) => items.filter((m) => m.topic === `${base}/${A}/reply`);
    await attacker.seen.until((items) => fromA(items).filter((m) => m.json?.error !== 'rate_limited').length >= accepted, `${accepted} replies to accepted commands`, 30000);
    await waitFrames(during + WINDOW, 'a window of music during the flood');

    const replies = fromA(attacker.seen.items).filter((m) => m.json?.error !== 'rate_limited');
    expect(replies.every((m) => m.json?.ok === true)).toBe(true);
    expect(metric(await scrape(), 'music_bridge_command_seconds_count', 'command="get_status",ok="true"')).toBe(accepted + 1);
    expect(replies).toHaveLength(accepted);
    expect(new Set(replies.map((m) => m.json?.request_id)).size).toBe(accepted);
    // rate_limited replies are themselves rate-limited, and no request got two replies.
    const refusals = attacker.seen.items.filter((m) => m.json?.error === 'rate_limited');
    expect(refusals.length).toBeLessThan(50);
    expect(new Set(attacker.seen.items.map((m) => m.json?.request_id)).size).toBe(attacker.seen.items.length);

    // B's room heard no more added silence during the flood than in as long a window before it.
    const silentBefore = silentIn(before);
    const silentDuring = silentIn(during);
    // The daemon's own lateness over the flood rides along (on both sides, so it never decides by
    // itself): a failure then says whether the daemon fell behind or the listener was starved.
    const daemonLateMs = Math.round((metric(await scrape(), 'music_bridge_underrun_seconds_total') - lateBefore) * 1000);
    expect({ silentBefore, silentDuring: Math.max(silentDuring, silentBefore), daemonLateMs }).toEqual({ silentBefore, silentDuring: silentBefore, daemonLateMs });
    // B is still answered at once, the bridge never lost the broker, and the flood cost one log line.
    expect(await app.command(B, { type: 'skip_music' })).toMatchObject({ ok: true });
    expect(connects(daemon)).toBe(1);
    expect(daemon.lines.items.filter((x) => x.message === 'commands refused: rate limited').length).toBeLessThanOrEqual(2);
  }, 180000);

  test('more hostile inputs on the real broker: each gets a coded reply or a clean drop, and the bridge stays online', async () => {
    const { daemon } = await scope.daemon();
    const base = daemon.baseTopic;
    const A = 'aabbccddee77';
    const cmd = `${base}/${A}/command`;
    const attacker = await client(`${base}/${A}/reply`, `${base}/${A}/reply/+`, `${base}/bridge/errors`);
    scope.defer(() => attacker.c.endAsync());
    const replyTo = (request_id: string) => attacker.seen.next((m) => m.json?.request_id === request_id, `reply ${request_id}`, 10000);

    // QoS 2: answered exactly once.
    await attacker.send(cmd, { type: 'get_status', request_id: 'q2' }, { qos: 2 });
    expect((await replyTo('q2')).json).toMatchObject({ ok: true });
    // User properties: ignored, never echoed.
    await attacker.send(cmd, { type: 'get_status', request_id: 'up' }, { qos: 1, properties: { userProperties: { 'x-evil': 'y'.repeat(2000) }, responseTopic: `${base}/${A}/reply/app` } });
    const up = await replyTo('up');
    expect(up).toMatchObject({ topic: `${base}/${A}/reply/app`, json: { ok: true } });
    // Huge correlation data: refused, not echoed.
    await attacker.send(cmd, { type: 'get_status', request_id: 'cd' }, { qos: 1, properties: { correlationData: Buffer.alloc(2000, 7) } });
    expect(await replyTo('cd')).toMatchObject({ topic: `${base}/${A}/reply`, correlation: undefined, json: { ok: false, error: 'invalid_field' } });
    // Topic alias set up by the device: the broker resolves it, the bridge sees the full topic.
    await attacker.send(cmd, { type: 'get_status', request_id: 'ta1' }, { qos: 1, properties: { topicAlias: 1 } });
    expect((await replyTo('ta1')).json).toMatchObject({ ok: true });
    await attacker.c.publishAsync('', JSON.stringify({ type: 'get_status', request_id: 'ta2' }), { qos: 1, properties: { topicAlias: 1 } });
    expect((await replyTo('ta2')).json).toMatchObject({ ok: true });
    // Invalid UTF-8 with a request id the bridge cannot read: invalid_json on the device's reply topic.
    const from = attacker.seen.items.length;
    await attacker.c.publishAsync(cmd, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), { qos: 1 });
    const bad = await attacker.seen.next((m) => m.topic === `${base}/${A}/reply` && m.json?.error === 'invalid_json', 'invalid UTF-8 refused', 10000, from);
    expect(String(bad.json?.message)).toMatch(/UTF-8/);
    // Odd Unicode in the device segment: invalid_device_id on bridge/errors.
    for (const odd of ['ａａｂｂｃｃｄｄｅｅ７７', 'aabbcc\u202eddee77', 'caf\u00e9']) {
      await attacker.send(`${base}/${odd}/command`, { type: 'get_status', request_id: `odd-${odd}` });
      expect(await replyTo(`odd-${odd}`)).toMatchObject({ topic: `${base}/bridge/errors`, json: { error: 'invalid_device_id', device: null } });
    }
    // 64 KiB: over the packet size the bridge asked for, so the broker never delivers it (a clean drop).
    const big = attacker.seen.items.length;
    await attacker.send(cmd, { type: 'get_status', request_id: 'big', pad: 'x'.repeat(65536) });
    await attacker.send(cmd, { type: 'get_status', request_id: 'after-big' });
    await replyTo('after-big');
    expect(attacker.seen.items.slice(big).filter((m) => m.json?.request_id === 'big')).toEqual([]);
    expect(connects(daemon)).toBe(1);
  }, 60000);

  test('the retained status of a device idle past mqtt.statusTtlSeconds is cleared', async () => {
    const { daemon, app } = await scope.daemon({ mqtt: { statusTtlSeconds: 2 } });
    const base = daemon.baseTopic;
    const A = 'aabbccddee78';
    const stopped = await playThenStop(app, A, 'hostile-ttl');
    // Cleared: an empty retained payload on the status topic, within the TTL plus one sweep.
    const cleared = await app.messages.next((m) => m.topic === `${base}/${A}/status` && m.text === '', 'the status cleared', 10000, stopped);
    expect(cleared).toBeTruthy();
    const fresh = await client(`${base}/${A}/status`, `${base}/bridge/state`);
    scope.defer(() => fresh.c.endAsync());
    await fresh.seen.next((m) => m.topic === `${base}/bridge/state`, 'retained bridge state');
    expect(fresh.seen.items.filter((m) => m.topic === `${base}/${A}/status`)).toEqual([]);
  }, 60000);

  test('an idle status left by an earlier run (same client id) is cleared by the next run after the TTL', async () => {
    const { daemon, app } = await scope.daemon({ mqtt: { statusTtlSeconds: 0 } });
    const base = daemon.baseTopic;
    const A = 'aabbccddee79';
    await playThenStop(app, A, 'hostile-ttl-2');
    expect(await daemon.stop()).toBe(0);
    // The next run, same base topic and client id, with a TTL.
    const file = join(stackInfo().workDir, `${base}.json`);
    const config = JSON.parse(readFileSync(file, 'utf8')) as { mqtt: Record<string, unknown> };
    const next = join(stackInfo().workDir, `${base}-ttl.json`);
    writeFileSync(next, JSON.stringify({ ...config, mqtt: { ...config.mqtt, statusTtlSeconds: 1 } }));
    const from = app.messages.items.length;
    const again = new Daemon(base, next);
    scope.defer(() => again.stop());
    await again.lines.next((l) => l.message === 'music-bridge started', 'restart', 20000);
    await app.messages.next((m) => m.topic === `${base}/${A}/status` && m.text === '', 'the old status cleared', 10000, from);
  }, 60000);
});
