import { freeTcpPort, startLiveKit, startLiveKitOnFreePorts } from '../../src/ops/local-stack';
import { Listener } from '../support/listener';
import { testScope } from '../support/scope';
import { hzOf } from '../support/stack';

const ANY = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three'), hzOf('Rock One'), hzOf('Hindi Pop')];
const ROOMS = 20;
/** Small enough that 20 rooms starting and rejoining at once must queue for a slot. */
const CAP = 4;

const roomName = (i: number) => `lkr-${i}`;
const device = (i: number) => `aabbccdd${(0xa0 + i).toString(16).padStart(4, '0')}`;

describe('LiveKit restarts under 20 playing rooms', () => {
  const scope = testScope();

  test('every room is heard again, no ghost takes the bot identity, joins in flight stay under the cap', async () => {
    const lk = await startLiveKitOnFreePorts();
    let server = lk.server;
    scope.defer(() => server.stop());
    const url = `ws://127.0.0.1:${lk.ports.http}`;
    const opsPort = await freeTcpPort();
    const { daemon, app } = await scope.daemon({ livekit: { url, maxJoinsInFlight: CAP }, http: { port: opsPort } });
    const indexes = Array.from({ length: ROOMS }, (_, i) => i);

    // One listener per room (a real participant in its own process), joined before the music.
    const before = await Listener.joinAll(indexes.map(roomName), { url });
    for (const l of before) scope.defer(() => l.stop());
    const starts = await Promise.all(indexes.map((i) => app.command(device(i), { type: 'start_continuous_music', session_id: roomName(i) }, 60000)));
    expect(starts.filter((r) => r.ok !== true)).toEqual([]);
    await Promise.all(before.map((l, i) => l.hearTone(ANY, `room ${i} plays before the restart`, 0, 30000)));

    const from = app.messages.items.length;
    server.kill();
    await Promise.all(indexes.map((i) => app.status(device(i), (s) => s.state === 'reconnecting', `room ${i} says reconnecting`, from, 30000)));
    // The old listeners lost the server too; they go before the new ones join.
    await Promise.all(before.map((l) => l.stop()));
    // Down until the SDK has given up resuming every room (about 16 s): from then on the sessions
    // rejoin on their own, through the join slots, and the restart meets a storm of joins.
    await daemon.lines.until(
      (items) => new Set(items.filter((l) => l.message === 'room connection lost; rejoining').map((l) => l.room)).size === ROOMS,
      'every room rejoining on its own',
      60000,
    );
    server = await startLiveKit(lk.ports);

    const after = await Listener.joinAll(indexes.map(roomName), { url });
    for (const l of after) scope.defer(() => l.stop());
    await Promise.all(after.map((l, i) => l.hearTone(ANY, `room ${i} heard again after the restart`, 0, 60000)));
    await Promise.all(indexes.map((i) => app.status(device(i), (s) => s.state === 'playing', `room ${i} playing again`, from, 30000)));

    const lines = daemon.lines.items;
    // A join the daemon gave up on that connected later would have kicked a live bot.
    expect(lines.filter((l) => JSON.stringify(l).includes('DUPLICATE_IDENTITY'))).toEqual([]);
    expect(lines.filter((l) => l.message === 'session ended')).toEqual([]);
    const joins = lines.filter((l) => l.message === 'joining room');
    const inFlight = joins.map((l) => Number(l.joins_in_flight));
    expect(joins.length).toBeGreaterThanOrEqual(2 * ROOMS); // every room joined, and rejoined
    expect(Math.max(...inFlight)).toBeLessThanOrEqual(CAP);
    // The cap was exercised, not just respected: some joins had to wait for a slot.
    expect(joins.some((l) => Number(l.joins_waiting) > 0)).toBe(true);
    for (const i of indexes) expect(lines.some((l) => l.message === 'room rejoined' && l.room === roomName(i))).toBe(true);
    // Every slot was given back: the gauge ops watch reads 0 once all rooms are in.
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toMatch(/^music_bridge_joins_in_flight 0$/m);
  }, 300000);
});
