import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freeTcpPort } from '../../src/ops/local-stack';
import { testScope } from '../support/scope';
import { hzOf, stackInfo } from '../support/stack';

const ANY = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three'), hzOf('Rock One'), hzOf('Hindi Pop')];

/**
 * A TCP proxy in front of LiveKit's signalling port that can hold new connections (accepted, not
 * forwarded) until the test lets them through: a join that hangs exactly as long as the test wants.
 */
async function holdingProxy(target: number): Promise<{ port: number; hold: boolean; held: () => number; release: () => void; close: () => Promise<void> }> {
  const waiting: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const state = { hold: false };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const forward = () => {
      const upstream = createConnection(target, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    if (state.hold) waiting.push(forward);
    else forward();
  });
  const port = await freeTcpPort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    get hold() {
      return state.hold;
    },
    set hold(v: boolean) {
      state.hold = v;
    },
    held: () => waiting.length,
    release: () => waiting.splice(0).forEach((forward) => forward()),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a join given up on that connects later (real LiveKit)', () => {
  const scope = testScope();

  test('the late connect is left at once and never takes the bot identity from the retried start', async () => {
    const livekitPort = Number(new URL(stackInfo().livekitUrl).port);
    const proxy = await holdingProxy(livekitPort);
    scope.defer(() => proxy.close());
    const { daemon, app } = await scope.daemon({ livekit: { url: `ws://127.0.0.1:${proxy.port}`, connectTimeoutMs: 3000 } });
    const listener = await scope.listen('ghost-join');

    // The first start's signalling connection is held: its join times out (join_failed) while the
    // connect is still running inside rtc-node.
    proxy.hold = true;
    const first = await app.command('aabbccddeef1', { type: 'start_continuous_music', session_id: 'ghost-join' }, 20000);
    expect(first).toMatchObject({ ok: false, error: 'join_failed' });
    expect(proxy.held()).toBeGreaterThan(0);

    // The app retries at once; this join goes straight through the proxy...
    proxy.hold = false;
    const from = daemon.lines.items.length;
    const retried = app.command('aabbccddeef1', { type: 'start_continuous_music', session_id: 'ghost-join' }, 30000);
    // ...but waits until the join given up on is out of the room: let that one land now.
    await daemon.lines.next((l) => l.message === 'waiting for an earlier join of this room, given up on, to finish', 'the retry waits for the abandoned join', 15000, from);
    proxy.release();
    await daemon.lines.next((l) => l.message === 'a join given up on completed; leaving that room', 'the late connect lands and is left', 15000, from);
    expect(await retried).toMatchObject({ ok: true });

    const mark = listener.mark;
    await listener.hearTone(ANY, 'the retried start plays', mark, 30000);
    // A second of music later the session is still the one playing: nobody took its identity.
    await listener.hearTone(ANY, 'and keeps playing', listener.mark, 30000, 100);
    expect(await app.command('aabbccddeef1', { type: 'get_status' })).toMatchObject({ state: { state: 'playing' } });
    expect(daemon.lines.items.filter((l) => JSON.stringify(l).includes('DUPLICATE_IDENTITY'))).toEqual([]);
    expect(daemon.lines.items.slice(from).filter((l) => l.message === 'session ended')).toEqual([]);
  }, 120000);
});
