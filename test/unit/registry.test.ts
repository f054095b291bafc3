import { SessionRegistry, type CommandResult } from '../../src/session/registry';
import type { Command } from '../../src/session/commands';
import { RoomResolver } from '../../src/session/room-resolver';
import type { SessionDeps } from '../../src/session/room-session';
import { RoomSession } from '../../src/session/room-session';
import { FakeDecoder, FakeJoiner, flush, quietLog, sessionDeps } from '../support/session-fakes';

function registry(joiner: FakeJoiner, extra: { maxSessions?: number; queueLimit?: number; maxRememberedDevices?: number; deps?: Partial<SessionDeps> } = {}) {
  return new SessionRegistry({
    rooms: new RoomResolver({ strategy: 'session_id', template: '{device}' }),
    maxSessions: extra.maxSessions ?? 10,
    queueLimit: extra.queueLimit ?? 16,
    maxRememberedDevices: extra.maxRememberedDevices ?? 100,
    log: quietLog(),
    createSession: (device, room) => new RoomSession(sessionDeps(joiner.join, { device, room, ...extra.deps })),
  });
}

const start = (room: string): { command: Command; sessionId: string } => ({ command: { type: 'start_continuous_music' }, sessionId: room });
const cmd = (type: Exclude<Command['type'], 'start_continuous_music' | 'set_volume' | 'play_song'>) => ({ command: { type } as Command });

function track(p: Promise<CommandResult>) {
  const t: { result?: CommandResult } = {};
  void p.then((r) => (t.result = r));
  return t;
}

/** Lets every capture through from now on, so the fade-outs end without their bounds. */
function release(joiner: FakeJoiner): void {
  for (const link of joiner.links) {
    link.track.auto = true;
    while (link.track.settleOne());
  }
}

afterEach(() => {
  for (const d of FakeDecoder.open) d.kill();
});

describe('SessionRegistry', () => {
  test('SIGTERM during a join: the start is answered shutting_down, the join is aborted, nothing stays joined', async () => {
    const joiner = new FakeJoiner();
    const reg = registry(joiner);
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const started = track(reg.execute('dev1', start('room1')));
      await flush();
      expect(joiner.pending.length).toBe(1);
      await reg.shutdown('bridge shutting down');
      await flush();
      expect(started.result?.code).toBe('shutting_down');
      expect(reg.size).toBe(0);
      joiner.pending.forEach((p) => p.succeed()); // the connect completes after all: left at once
      await flush();
      expect(joiner.joined).toEqual([]);
      const later = await reg.execute('dev1', start('room1'));
      expect(later.code).toBe('shutting_down');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a room move while the session is ending (room gone) plays in the new room', async () => {
    const joiner = new FakeJoiner();
    const reg = registry(joiner);
    const first = track(reg.execute('dev1', start('room1')));
    await flush();
    const link1 = joiner.pending[0].succeed();
    await flush();
    expect(first.result?.ok).toBe(true);
    // The empty room / deleted room: the session must end; its fade-out capture is in flight.
    link1.emit('disconnected', 'ROOM_DELETED', false);
    const moved = track(reg.execute('dev1', start('room2')));
    await flush();
    link1.track.settleOne();
    await flush(10);
    expect(joiner.pending.map((p) => p.room)).toEqual(['room2']);
    joiner.pending[0].succeed();
    await flush(10);
    expect(moved.result).toMatchObject({ ok: true, status: { room: 'room2', state: 'playing' } });
    expect(link1.left).toBe(true);
    release(joiner);
    await reg.shutdown();
  });

  test('a start while the session ends after a playback failure starts afresh in the same room', async () => {
    const joiner = new FakeJoiner();
    let opened = 0;
    const reg = registry(joiner, {
      deps: {
        maxFailuresInRow: 1,
        // The first song is opened while the room is joined and again by the player when that failed: both fail.
        openDecoder: () => {
          if (++opened <= 2) throw new Error('source down');
          return new FakeDecoder(480);
        },
      },
    });
    const first = track(reg.execute('dev1', start('room1')));
    await flush();
    joiner.pending[0].succeed();
    await flush(10);
    expect(first.result?.ok).toBe(true);
    const again = track(reg.execute('dev1', start('room1')));
    await flush(10);
    expect(joiner.pending.length).toBe(1);
    joiner.pending[0].succeed();
    await flush(10);
    expect(again.result).toMatchObject({ ok: true, status: { room: 'room1', state: 'playing' } });
    release(joiner);
    await reg.shutdown();
  });

  test('a stop while the session is ending awaits that ending; later commands are answered', async () => {
    const joiner = new FakeJoiner();
    const reg = registry(joiner);
    void reg.execute('dev1', start('room1'));
    await flush();
    const link = joiner.pending[0].succeed();
    await flush();
    const s1 = track(reg.execute('dev1', cmd('stop_continuous_music')));
    const s2 = track(reg.execute('dev1', cmd('stop_continuous_music')));
    const status = track(reg.execute('dev1', cmd('get_status')));
    await flush();
    expect(s1.result).toBeUndefined();
    while (link.track.settleOne()) await flush();
    await flush(10);
    expect(s1.result?.ok).toBe(true);
    expect(s2.result).toMatchObject({ ok: true, message: 'Music streaming is not active' });
    expect(status.result?.status.state).toBe('idle');
    expect(reg.queuedDevices).toBe(0);
  });

  test('a command beyond the queue limit is answered queue_full at once', async () => {
    const joiner = new FakeJoiner();
    const reg = registry(joiner, { queueLimit: 3 });
    const first = track(reg.execute('dev1', start('room1'))); // holds the queue: its join waits
    const queued = [track(reg.execute('dev1', cmd('skip_music'))), track(reg.execute('dev1', cmd('skip_music')))];
    const refused = await reg.execute('dev1', cmd('skip_music'));
    expect(refused.code).toBe('queue_full');
    expect((await reg.execute('dev2', cmd('get_status'))).ok).toBe(true); // another device is not held up
    await flush();
    joiner.pending[0].succeed();
    await flush(10);
    expect(first.result?.ok).toBe(true);
    expect(queued.every((q) => q.result?.ok)).toBe(true);
    release(joiner);
    await reg.shutdown();
    expect(reg.queuedDevices).toBe(0);
  });

  test('a start naming a room where another device plays gets room_busy and changes nothing', async () => {
    const joiner = new FakeJoiner();
    const reg = registry(joiner);
    void reg.execute('dev1', start('room1'));
    await flush();
    joiner.pending[0].succeed();
    void reg.execute('dev2', start('room2'));
    await flush();
    joiner.pending[0].succeed();
    await flush();
    const busy = await reg.execute('dev2', start('room1'));
    expect(busy.code).toBe('room_busy');
    expect(reg.status('dev1')).toMatchObject({ room: 'room1', state: 'playing' });
    expect(reg.status('dev2')).toMatchObject({ room: 'room2', state: 'playing' }); // its own session stays
    expect(joiner.calls).toBe(2);
    release(joiner);
    await reg.shutdown();
  });

  test('the last statuses of devices without a session are bounded (least recently used forgotten)', async () => {
    const joiner = new FakeJoiner();
    const reg = registry(joiner, { maxRememberedDevices: 3 });
    for (let i = 0; i < 6; i++) {
      const device = `dev${i}`;
      const started = track(reg.execute(device, start(`room${i}`)));
      await flush();
      joiner.pending[0].succeed();
      await flush();
      expect(started.result?.ok).toBe(true);
      const stopping = reg.execute(device, cmd('stop_continuous_music'));
      for (let k = 0; k < 20 && joiner.links[i].track.settleOne(); k++) await flush();
      await stopping;
    }
    expect(reg.rememberedDevices).toBe(3);
    expect(reg.statuses().map((s) => s.device)).toEqual(['dev3', 'dev4', 'dev5']);
    expect(reg.queuedDevices).toBe(0);
  });
});
