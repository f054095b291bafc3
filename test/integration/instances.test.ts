import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { startAclBroker } from '../support/acl-broker';
import { rendezvous } from '../../src/mqtt/ownership';
import { Daemon } from '../support/daemon';
import { AUDIBLE_RMS, type Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { testScope } from '../support/scope';
import { stackInfo, TEST_SONGS } from '../support/stack';

jest.setTimeout(150_000);

const ANY = TEST_SONGS.map((s) => s.hz);

/** Two (or more) instances of the bridge on one base topic, each with its own id. */
function fleet(scope: ReturnType<typeof testScope>) {
  const base = `mbfleet-${randomBytes(4).toString('hex')}`;
  const start = async (instanceId: string): Promise<Daemon> => {
    const d = await Daemon.start({ mqtt: { baseTopic: base, clientId: base }, bridge: { instanceId }, sessions: { positionIntervalMs: 1000 } });
    scope.defer(() => d.stop());
    return d;
  };
  return { base, start };
}

/** Devices such that rendezvous gives each instance `per` of them. */
function devicesFor(instances: string[], per: number): Record<string, string[]> {
  const out: Record<string, string[]> = Object.fromEntries(instances.map((i) => [i, []]));
  for (let n = 0; Object.values(out).some((l) => l.length < per) && n < 1000; n++) {
    const device = `aabbccdd${n.toString(16).padStart(4, '0')}`;
    const owner = rendezvous(device, instances)!;
    if (out[owner]!.length < per) out[owner]!.push(device);
  }
  return out;
}

/** Longest stretch without audible audio between `from` and `to` (listener indexes), ms. */
function longestGap(l: Listener, from: number, to: number): number {
  const audible = l.lines.items.slice(from, to).filter((h) => h.rms !== undefined && h.rms >= AUDIBLE_RMS);
  let gap = 0;
  for (let i = 1; i < audible.length; i++) gap = Math.max(gap, audible[i]!.t - audible[i - 1]!.t - 10);
  return gap;
}

/** The devices a bridge/status or bridge/instances/<id>/status payload lists, in order. */
function devicesIn(json: Record<string, unknown> | undefined): string[] {
  const sessions = json?.sessions;
  return Array.isArray(sessions) ? sessions.map((s) => String((s as { device?: unknown }).device)) : [];
}

/** Same members, each once. */
function sameOnce(listed: string[], expected: string[]): boolean {
  return listed.length === expected.length && new Set(listed).size === listed.length && expected.every((d) => listed.includes(d));
}

/** The instance ids bridge/info lists. */
function instancesIn(json: Record<string, unknown> | undefined): string[] {
  const list = json?.instances;
  return Array.isArray(list) ? list.map((i) => String((i as { id?: unknown }).id)) : [];
}

function repliesPer(app: AppClient): Map<string, number> {
  const count = new Map<string, number>();
  for (const m of app.messages.items) {
    const id = m.topic.endsWith('/reply') ? m.json?.request_id : undefined;
    if (typeof id === 'string') count.set(id, (count.get(id) ?? 0) + 1);
  }
  return count;
}

describe('many instances', () => {
  const scope = testScope();

  /** One instance ('solo') with `device` playing into `room`, heard by a listener. */
  async function soloPlaying(device: string, room: string): Promise<{ base: string; solo: Daemon; app: AppClient; listener: Listener }> {
    const { base, start } = fleet(scope);
    const solo = await start('solo');
    const app = await AppClient.connect(base);
    scope.defer(() => app.close());
    const listener = await scope.listen(room);
    expect((await app.command(device, { type: 'start_continuous_music', session_id: room })).ok).toBe(true);
    await listener.hearTone(ANY, `${room} playing`);
    return { base, solo, app, listener };
  }

  test('a second process with the same instance id refuses to start, and the first keeps serving', async () => {
    const { base, start } = fleet(scope);
    const first = await start('twin');
    const app = await AppClient.connect(base);
    scope.defer(() => app.close());
    // The same configuration again: same base topic, same instance id.
    const second = new Daemon(base, first.configFile);
    scope.defer(() => second.stop());
    expect(await second.exited).not.toBe(0);
    const failed = second.lines.items.find((l) => l.message === 'start-up failed');
    expect(String(failed?.error)).toMatch(/another music-bridge process is running as instance "twin"/);
    expect(second.lines.items.some((l) => l.message === 'music-bridge started')).toBe(false);
    const reply = await app.command('aabbccddee01', { type: 'get_status' });
    expect(reply.ok).toBe(true);
  });

  test('kill -9 of one of three instances with nine rooms: its rooms are heard again within 5 s of its last will, the others play on, every command is answered once; bridge/status lists every room once before and after, the dead instance gone', async () => {
    const { base, start } = fleet(scope);
    const ids = ['ia', 'ib', 'ic'];
    const daemons = [];
    for (const id of ids) daemons.push(await start(id));
    const app = await AppClient.connect(base);
    scope.defer(() => app.close());
    const owned = devicesFor(ids, 3);
    const rooms = Object.entries(owned).flatMap(([instance, devices]) => devices.map((device, i) => ({ instance, device, room: `fleet-${device}-${i}` })));
    const listeners = await Promise.all(rooms.map((r) => scope.listen(r.room)));
    for (const r of rooms) expect((await app.command(r.device, { type: 'start_continuous_music', session_id: r.room })).ok).toBe(true);
    await Promise.all(listeners.map((l, i) => l.hearTone(ANY, `${rooms[i]!.room} playing`)));
    for (const r of rooms) expect((await app.command(r.device, { type: 'get_status' })).state).toMatchObject({ instance: r.instance, state: 'playing' });
    // Each instance's own report holds its own sessions; the aggregate lists all of them once.
    const all = rooms.map((r) => r.device);
    for (const id of ids) {
      await app.messages.next((m) => m.topic === `${base}/bridge/instances/${id}/status` && m.json?.instance === id && sameOnce(devicesIn(m.json), owned[id]!), `${id}'s own status report`, 10000);
    }
    await app.messages.next((m) => m.topic === `${base}/bridge/status` && sameOnce(devicesIn(m.json), all), 'bridge/status with the nine rooms once', 10000);
    await app.messages.next((m) => m.topic === `${base}/bridge/info` && m.json?.sessions === 9 && instancesIn(m.json).join() === 'ia,ib,ic', 'bridge/info with the three instances', 10000);

    const marks = listeners.map((l) => l.mark);
    const from = app.messages.items.length;
    daemons[0]!.proc.kill('SIGKILL');
    const will = await app.messages.next((m) => m.topic === `${base}/bridge/instances/ia` && m.json?.state === 'offline', 'the last will of ia', 10000, from);
    const willAt = Date.now();
    // Commands during the failover: each answered once.
    const during = rooms.map((r) => app.command(r.device, { type: 'get_status' }));
    await Promise.all(
      rooms.map(async (r, i) => {
        if (r.instance !== 'ia') return;
        const told = await listeners[i]!.lines.next((h) => h.event === 'data' && h.message?.type === 'music_resumed', `${r.room} resumed`, 10000, marks[i]);
        await listeners[i]!.hearTone(ANY, `${r.room} heard again`, listeners[i]!.lines.items.indexOf(told), 10000);
        const after = Date.now() - willAt;
        console.log(`${r.room}: heard again ${after} ms after the will`);
        expect(after).toBeLessThanOrEqual(5000);
        await app.status(r.device, (s) => s.state === 'playing' && (s.instance === 'ib' || s.instance === 'ic'), `${r.device} owned by a survivor`, from, 5000);
      }),
    );
    for (const r of await Promise.all(during)) expect(r.ok).toBe(true);
    // The dead instance (the aggregate's writer until then) is gone from the aggregate the next writer
    // publishes, its reports cleared, and every room is listed once, owned by a survivor.
    await app.messages.next(
      (m) => m.topic === `${base}/bridge/status` && sameOnce(devicesIn(m.json), all) && (m.json!.sessions as Array<{ instance?: unknown }>).every((s) => s.instance === 'ib' || s.instance === 'ic'),
      'bridge/status with the nine rooms once, on the survivors',
      10000,
      from,
    );
    await app.messages.next((m) => m.topic === `${base}/bridge/info` && m.json?.sessions === 9 && instancesIn(m.json).join() === 'ib,ic', 'bridge/info without ia', 10000, from);
    for (const leaf of ['status', 'info']) await app.messages.next((m) => m.topic === `${base}/bridge/instances/ia/${leaf}` && m.text === '', `ia's ${leaf} report cleared`, 10000, from);
    // bridge/state is shared: a survivor says online again after ia's will said offline.
    await app.messages.next((m) => m.topic === `${base}/bridge/state` && m.text === 'online', 'bridge/state online again', 5000, app.messages.items.indexOf(will));
    // The survivors' own rooms played on without a gap.
    for (const [i, r] of rooms.entries()) if (r.instance !== 'ia') expect(longestGap(listeners[i]!, marks[i]!, listeners[i]!.mark)).toBeLessThan(300);
    for (const [, n] of repliesPer(app)) expect(n).toBe(1);
  });

  test('rolling restart of three instances with nine rooms: each drains to the others, no room silent more than 1 s, every room plays at the end', async () => {
    const { base, start } = fleet(scope);
    const ids = ['ra', 'rb', 'rc'];
    const daemons = [];
    for (const id of ids) daemons.push(await start(id));
    const app = await AppClient.connect(base);
    scope.defer(() => app.close());
    const rooms = Object.values(devicesFor(ids, 3)).flat().map((device, i) => ({ device, room: `roll-${device}-${i}` }));
    const listeners = await Promise.all(rooms.map((r) => scope.listen(r.room)));
    for (const r of rooms) expect((await app.command(r.device, { type: 'start_continuous_music', session_id: r.room })).ok).toBe(true);
    await Promise.all(listeners.map((l, i) => l.hearTone(ANY, `${rooms[i]!.room} playing`)));
    const marks = listeners.map((l) => l.mark);
    for (const [k, d] of daemons.entries()) {
      const from = app.messages.items.length;
      expect(await d.stop('SIGTERM')).toBe(0);
      // Every room is owned by a live instance other than the one that just left, and plays.
      // (statuses are refreshed every second while playing: positionIntervalMs 1000).
      for (const r of rooms) await app.status(r.device, (s) => s.state === 'playing' && s.instance !== ids[k], `${r.device} away from ${ids[k]}`, from, 15000);
      // The upgraded instance starts once its rooms are handed over and heard from their new
      // owners, as in a rolling upgrade: its boot (a second of CPU on this 2-core machine, shared
      // with two peers, nine listeners and LiveKit) is not what the handover's silence measures.
      const handedFrom = listeners.map((l) => l.mark);
      await Promise.all(listeners.map((l, i) => l.hearTone(ANY, `${rooms[i]!.room} heard after ${ids[k]} left`, handedFrom[i], 15000)));
      const again = await d.restart();
      scope.defer(() => again.stop());
      const owners = rooms.map((r) => (app.messages.items.filter((m) => m.topic === `${base}/${r.device}/status` && m.json).at(-1)?.json ?? {}) as Record<string, unknown>);
      for (const o of owners) expect(o).toMatchObject({ state: 'playing' });
      for (const o of owners) expect(o.instance).not.toBe(ids[k]);
    }
    // Two more seconds of music everywhere after the last restart.
    await Promise.all(
      listeners.map((l) => {
        const until = (l.lines.items.at(-1)?.t ?? 0) + 2000;
        return l.lines.next((h) => h.t > until, 'two more seconds', 10000, l.mark);
      }),
    );
    for (const [i, l] of listeners.entries()) {
      const gap = longestGap(l, marks[i]!, l.mark);
      console.log(`${rooms[i]!.room}: longest silence over the rolling restart ${gap} ms`);
      expect(gap).toBeLessThanOrEqual(1000);
    }
    for (const [, n] of repliesPer(app)) expect(n).toBe(1);
  });

  test('SIGTERM of an instance with a peer drains: the peer takes its rooms with at most 1 s of silence', async () => {
    const { base, start } = fleet(scope);
    const a = await start('da');
    await start('db');
    const app = await AppClient.connect(base);
    scope.defer(() => app.close());
    const rooms = devicesFor(['da', 'db'], 2).da!.map((device, i) => ({ device, room: `drain-${device}-${i}` }));
    const listeners = await Promise.all(rooms.map((r) => scope.listen(r.room)));
    for (const r of rooms) expect((await app.command(r.device, { type: 'start_continuous_music', session_id: r.room })).ok).toBe(true);
    await Promise.all(listeners.map((l, i) => l.hearTone(ANY, `${rooms[i]!.room} playing`)));
    const marks = listeners.map((l) => l.mark);
    const from = app.messages.items.length;
    expect(await a.stop('SIGTERM')).toBe(0);
    for (const [i, r] of rooms.entries()) {
      const told = await listeners[i]!.lines.next((h) => h.event === 'data' && h.message?.type === 'music_resumed', `${r.room} resumed`, 10000, marks[i]);
      const at = listeners[i]!.lines.items.indexOf(told);
      await listeners[i]!.hearTone(ANY, `${r.room} heard after the handover`, at, 10000);
      // Up to 2 s after the new owner's music came.
      await listeners[i]!.lines.next((h) => h.t > told.t + 2000, `${r.room} 2 s more`, 10000, at);
      const gap = longestGap(listeners[i]!, marks[i]!, listeners[i]!.mark);
      console.log(`${r.room}: longest silence across the drain ${gap} ms`);
      expect(gap).toBeLessThanOrEqual(1000);
      await app.status(r.device, (s) => s.state === 'playing' && s.instance === 'db', `${r.device} owned by db`, from, 5000);
    }
    // A clean stop clears the instance's own reports; the aggregate lists the rooms once, on db.
    for (const leaf of ['status', 'info']) await app.messages.next((m) => m.topic === `${base}/bridge/instances/da/${leaf}` && m.text === '', `da's ${leaf} report cleared`, 5000, from);
    const devices = rooms.map((r) => r.device);
    await app.messages.next((m) => m.topic === `${base}/bridge/status` && devices.every((d) => devicesIn(m.json).filter((x) => x === d).length === 1), 'bridge/status with the rooms once', 5000, from);
    await app.messages.next((m) => m.topic === `${base}/bridge/info` && instancesIn(m.json).join() === 'db', 'bridge/info with db alone', 5000, from);
    expect(a.lines.items.some((l) => l.level === 'error')).toBe(false);
  });

  test('one instance: bridge/status and bridge/info as before (plus instances), its own reports beside them; a SIGTERM clears its reports and leaves an empty aggregate', async () => {
    const device = 'aabbccddee61';
    const { base, solo, app } = await soloPlaying(device, 'solo-room');
    const status = await app.messages.next((m) => m.topic === `${base}/bridge/status` && sameOnce(devicesIn(m.json), [device]), 'bridge/status with the room', 10000);
    expect(Object.keys(status.json!).sort()).toEqual(['count', 'sessions', 'updated_at']);
    expect(status.json).toMatchObject({ count: 1, sessions: [{ device, room: 'solo-room', instance: 'solo' }] });
    const info = await app.messages.next((m) => m.topic === `${base}/bridge/info` && m.json?.sessions === 1, 'bridge/info with one session', 10000);
    expect(info.json).toMatchObject({ version: expect.any(String), config: expect.any(Object), instances: [{ id: 'solo', state: 'online', sessions: 1 }] });
    expect(info.json).toHaveProperty('ffmpeg');
    await app.messages.next((m) => m.topic === `${base}/bridge/instances/solo/status` && m.json?.instance === 'solo' && sameOnce(devicesIn(m.json), [device]), 'solo\'s own status report', 10000);
    const from = app.messages.items.length;
    expect(await solo.stop('SIGTERM')).toBe(0);
    for (const leaf of ['status', 'info']) await app.messages.next((m) => m.topic === `${base}/bridge/instances/solo/${leaf}` && m.text === '', `solo's ${leaf} report cleared`, 5000, from);
    await app.messages.next((m) => m.topic === `${base}/bridge/status` && m.json?.count === 0, 'an empty bridge/status', 5000, from);
    await app.messages.next((m) => m.topic === `${base}/bridge/info` && m.json?.sessions === 0 && instancesIn(m.json).length === 0, 'bridge/info without instances', 5000, from);
  });

  test('hostile reports on a broker without the ACL: garbage, a large report, a forged report of the live instance and sessions under ids that are not live leave bridge/status and bridge/info right, and the room plays on', async () => {
    const device = 'aabbccddee62';
    const { base, solo, app, listener } = await soloPlaying(device, 'hostile-room');
    await app.messages.next((m) => m.topic === `${base}/bridge/status` && sameOnce(devicesIn(m.json), [device]), 'bridge/status with the room', 10000);

    const forgedSession = { device: 'aabbccddee63', room: 'ceo-room', state: 'playing', seq: 1e9 };
    const hostile: Array<[string, string]> = [
      [`${base}/bridge/instances/ghost/status`, JSON.stringify({ sessions: [forgedSession, { device: '../../etc' }, 7, null] })],
      [`${base}/bridge/instances/ghost/info`, JSON.stringify({ version: 'v'.repeat(10_000), sessions: -5 })],
      [`${base}/bridge/instances/solo/status`, JSON.stringify({ instance: 'solo', sessions: [forgedSession], count: 1 })],
      [`${base}/bridge/instances/ghost2/info`, 'not json at all {'],
      [`${base}/bridge/instances/solo/info`, JSON.stringify({ sessions: 1e12, version: { nested: true } })],
      [`${base}/bridge/instances/${'x'.repeat(300)}/status`, JSON.stringify({ sessions: [forgedSession] })],
      // As large as the shipped broker takes (max_packet_size 256 KiB refuses more before the bridge sees it).
      [`${base}/bridge/instances/huge/status`, `{"sessions":[${'{"device":"aabbccddee64"},'.repeat(9_500)}{}]}`],
    ];
    const hostileTopics = hostile.map(([t]) => t);
    const evil = await mqtt.connectAsync(stackInfo().mqttUrl, { clientId: `evil-${randomBytes(4).toString('hex')}`, protocolVersion: 5, reconnectPeriod: 0 });
    scope.defer(async () => {
      // Retained garbage would outlive the test on the shared broker.
      if (evil.connected) for (const t of hostileTopics) await evil.publishAsync(t, '', { qos: 1, retain: true });
      await evil.endAsync(true);
    });
    for (const [topic, payload] of hostile) await evil.publishAsync(topic, payload, { qos: 1, retain: true });

    // The writer read them: the reports of ids that are not live are cleared at once.
    for (const t of [`${base}/bridge/instances/ghost/status`, `${base}/bridge/instances/ghost/info`, `${base}/bridge/instances/ghost2/info`, `${base}/bridge/instances/huge/status`]) {
      await app.messages.next((m) => m.topic === t && m.text === '', `${t.slice(base.length)} cleared`, 10000);
    }
    // Any change makes the instance publish its reports and the aggregate again.
    const from = app.messages.items.length;
    expect((await app.command(device, { type: 'set_volume', volume: 60 })).ok).toBe(true);
    const status = await app.messages.next((m) => m.topic === `${base}/bridge/status` && m.json?.count === 1, 'bridge/status after the hostile reports', 10000, from);
    expect(devicesIn(status.json)).toEqual([device]);
    const info = await app.messages.next((m) => m.topic === `${base}/bridge/info` && m.json?.sessions === 1, 'bridge/info after the hostile reports', 10000, from);
    expect(instancesIn(info.json)).toEqual(['solo']);
    await app.messages.next((m) => m.topic === `${base}/bridge/instances/solo/status` && sameOnce(devicesIn(m.json), [device]), 'solo\'s own report written again', 10000, from);
    // Still up, still playing.
    expect(solo.proc.exitCode).toBeNull();
    const heardFrom = listener.mark;
    await listener.hearTone(ANY, 'hostile-room still playing', heardFrom);
  });

  test('with the shipped ACL a device can forge neither an instance, nor a probe answer, nor an instance\'s report, nor another device\'s saved state', async () => {
    const users: Record<string, string> = { 'music-bridge': 'bridge-pw', aabbccddee71: 'pw-71' };
    const broker = await startAclBroker(users);
    scope.defer(() => broker.stop());
    const bridge = { url: broker.url, username: 'music-bridge', password: users['music-bridge'], baseTopic: 'music-bridge', clientId: 'mb-acl' };
    const forger = await mqtt.connectAsync(broker.url, { username: 'aabbccddee71', password: users.aabbccddee71, protocolVersion: 5, reconnectPeriod: 0 });
    scope.defer(() => forger.endAsync());
    // Everything a hostile device could try on the new topics; the broker refuses each (MQTT 5: not authorized).
    const refused = /Not authorized/;
    await expect(forger.publishAsync('music-bridge/bridge/instances/evil', JSON.stringify({ state: 'online', token: 'x' }), { qos: 1, retain: true })).rejects.toThrow(refused);
    await expect(forger.publishAsync('music-bridge/bridge/instances/acl-one/probe', JSON.stringify({ type: 'alive', token: 'x' }), { qos: 1 })).rejects.toThrow(refused);
    await expect(forger.publishAsync('music-bridge/bridge/instances/acl-one/status', JSON.stringify({ sessions: [] }), { qos: 1, retain: true })).rejects.toThrow(refused);
    await expect(forger.publishAsync('music-bridge/bridge/instances/evil/info', JSON.stringify({ sessions: 9 }), { qos: 1, retain: true })).rejects.toThrow(refused);
    const forged = { device: 'aabbccddee72', state: 'playing', room: 'ceo-room', song: { id: 'english/pop-one' }, position_ms: 0, volume: 100, updated_at: new Date().toISOString() };
    await expect(forger.publishAsync('music-bridge/aabbccddee72/status', JSON.stringify(forged), { qos: 1, retain: true })).rejects.toThrow(refused);
    await expect(forger.publishAsync('music-bridge/aabbccddee71/status', JSON.stringify({ ...forged, device: 'aabbccddee71' }), { qos: 1, retain: true })).rejects.toThrow(refused);
    const d = await Daemon.start({ mqtt: bridge, bridge: { instanceId: 'acl-one' } });
    scope.defer(() => d.stop());
    const resumed = await d.lines.next((l) => l.message === 'sessions resumed', 'resume summary', 10000);
    expect(resumed).toMatchObject({ resumed: 0, ended: 0 });
    expect(d.lines.items.find((l) => l.message === 'instance online')).toMatchObject({ peers: [] });
    // The device still gets its answer from the one real instance.
    const seen: string[] = [];
    forger.on('message', (_t, payload) => seen.push(payload.toString()));
    await forger.subscribeAsync('music-bridge/aabbccddee71/reply', { qos: 1 });
    await forger.publishAsync('music-bridge/aabbccddee71/command', JSON.stringify({ type: 'get_status', request_id: 'acl' }), { qos: 1 });
    await d.lines.next((l) => l.message === 'command received' && l.device === 'aabbccddee71', 'the command reaches the bridge', 10000);
  });
});
