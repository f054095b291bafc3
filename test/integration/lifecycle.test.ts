import { createServer, type Server, type Socket } from 'node:net';
import { RoomServiceClient } from 'livekit-server-sdk';
import { LIVEKIT_KEY, LIVEKIT_SECRET, hzOf, stackInfo } from '../support/stack';
import { testScope } from '../support/scope';

const ANY = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three'), hzOf('Rock One'), hzOf('Hindi Pop')];

/** A "LiveKit server" that accepts connections and never answers: every join hangs. */
async function hangingServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

/** Resolves when `cond` holds, checked every 20 ms, or rejects after `ms`. */
async function until(cond: () => boolean, what: string, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('session lifecycle on the real stack', () => {
  const scope = testScope();

  test('SIGTERM while a join hangs: exit 0 within 5 s, a start during shutdown gets shutting_down or no reply, no unhandled rejection', async () => {
    const lk = await hangingServer();
    scope.defer(() => lk.close());
    const { daemon, app } = await scope.daemon({ livekit: { url: lk.url, connectTimeoutMs: 60000 } });
    const from = app.messages.items.length;
    await app.publish(`${app.base}/aabbccddee71/command`, JSON.stringify({ type: 'start_continuous_music', session_id: 'lc-hang', request_id: 'hanging' }));
    await until(() => lk.connections() > 0, 'the join to reach the hanging server');

    const t0 = Date.now();
    daemon.proc.kill('SIGTERM');
    // A start sent while the daemon shuts down: refused or unanswered, never a crash.
    await app.publish(`${app.base}/aabbccddee72/command`, JSON.stringify({ type: 'start_continuous_music', session_id: 'lc-late', request_id: 'late' }));
    const code = await daemon.exited;
    const took = Date.now() - t0;
    expect({ code, within5s: took < 5000 }).toEqual({ code: 0, within5s: true });
    const messages = daemon.lines.items.map((l) => l.message);
    expect(messages.filter((m) => /unhandled|uncaught/.test(m))).toEqual([]);
    expect(messages).toContain('stopped');
    const replies = app.messages.items.slice(from).filter((m) => m.topic.endsWith('/reply'));
    for (const r of replies) expect(r.json?.error).toBe('shutting_down');
  }, 30000);

  test('a stop after the room was deleted during playback is answered promptly', async () => {
    const { app } = await scope.daemon();
    const listener = await scope.listen('lc-deleted');
    const started = await app.command('aabbccddee73', { type: 'start_continuous_music', session_id: 'lc-deleted' });
    expect(started.ok).toBe(true);
    await listener.hearTone(ANY, 'music before the room is deleted');
    const from = app.messages.items.length;
    const rooms = new RoomServiceClient(stackInfo().livekitUrl.replace(/^ws/, 'http'), LIVEKIT_KEY, LIVEKIT_SECRET);
    await rooms.deleteRoom('lc-deleted');
    const t0 = Date.now();
    const stopped = await app.command('aabbccddee73', { type: 'stop_continuous_music' }, 5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(stopped.ok).toBe(true);
    await app.status('aabbccddee73', (s) => s.state !== 'playing' && s.room === null, 'the session is over', from);
    // The device can start again at once (the queue is not stuck).
    const status = await app.command('aabbccddee73', { type: 'get_status' }, 3000);
    expect(status.ok).toBe(true);
  }, 60000);

  test('a stop and a room deletion at once (the room goes away during the fade-out): the stop is answered promptly', async () => {
    const { app } = await scope.daemon({ audio: { queueMs: 1000 } });
    const listener = await scope.listen('lc-fade');
    expect((await app.command('aabbccddee75', { type: 'start_continuous_music', session_id: 'lc-fade' })).ok).toBe(true);
    await listener.hearTone(ANY, 'music before the stop');
    const rooms = new RoomServiceClient(stackInfo().livekitUrl.replace(/^ws/, 'http'), LIVEKIT_KEY, LIVEKIT_SECRET);
    const t0 = Date.now();
    // A 1 s queue: the fade-out waits for it to play out, and the deletion lands within it.
    const stop = app.command('aabbccddee75', { type: 'stop_continuous_music' }, 6000);
    await rooms.deleteRoom('lc-fade');
    expect((await stop).ok).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect((await app.command('aabbccddee75', { type: 'get_status' }, 3000)).ok).toBe(true);
  }, 60000);

  test('a room move while the session is ending (empty-room timer) plays in the new room', async () => {
    const { daemon, app } = await scope.daemon({ sessions: { emptyRoomTimeoutMs: 1000 } });
    const first = await scope.listen('lc-move-a');
    expect((await app.command('aabbccddee74', { type: 'start_continuous_music', session_id: 'lc-move-a' })).ok).toBe(true);
    await first.hearTone(ANY, 'music in the first room');
    const second = await scope.listen('lc-move-b');
    const mark = daemon.lines.items.length;
    await first.stop(); // the first room empties: its session must end
    await daemon.lines.next((l) => l.message === 'session must end; queued' && l.room === 'lc-move-a', 'the empty-room end is queued', 15000, mark);
    const moved = await app.command('aabbccddee74', { type: 'start_continuous_music', session_id: 'lc-move-b' });
    expect(moved).toMatchObject({ ok: true, error: null });
    expect((moved.state as { room: string }).room).toBe('lc-move-b');
    await second.hearTone(ANY, 'music in the new room');
  }, 60000);
});
