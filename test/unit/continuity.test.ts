import { inputOptions } from '../../src/audio/decoder';
import { Catalog } from '../../src/catalog/catalog';
import type { Song } from '../../src/catalog/song';
import { clientIdOf, instanceIdOf } from '../../src/mqtt/instances';
import { Ownership, rendezvous } from '../../src/mqtt/ownership';
import { Playlist } from '../../src/player/playlist';
import { SessionRegistry, type CommandResult } from '../../src/session/registry';
import { resumeSessions } from '../../src/session/resume';
import { RoomResolver } from '../../src/session/room-resolver';
import { RoomSession, type SessionDeps } from '../../src/session/room-session';
import { parseDurableState, resumePoint, RESUME_LIST_LIMIT, type ResumePoint } from '../../src/session/session-state';
import type { DeviceStatus } from '../../src/session/status';
import { FakeDecoder, FakeJoiner, flush, FRAME_SAMPLES, quietLog, sessionDeps, songs } from '../support/session-fakes';

const byId = new Map(songs.map((s) => [s.id, s]));

function retained(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    device: 'dev1',
    room: 'room1',
    state: 'playing',
    song: { id: 'b', title: 'song b' },
    volume: 40,
    queue_length: 2,
    language: 'en',
    genre: null,
    position_ms: 12_345,
    position_at: '2026-11-25T10:00:00.000Z',
    queue: ['c', 'a'],
    history: ['a'],
    instance: 'host-a',
    seq: 7,
    updated_at: '2026-11-25T10:00:00.000Z',
    ...over,
  };
}

/** A registry over fake joins that records which song each decoder opened, and from where. */
function setup(extra: Partial<SessionDeps> = {}, keepOnShutdown = true, takenOver?: (device: string) => boolean) {
  const joiner = new FakeJoiner();
  joiner.auto = true;
  const opened: Array<{ id: string; startMs: number | undefined }> = [];
  const statuses: DeviceStatus[] = [];
  const reg = new SessionRegistry({
    rooms: new RoomResolver({ strategy: 'session_id', template: '{device}' }),
    maxSessions: 10,
    queueLimit: 16,
    maxRememberedDevices: 100,
    keepOnShutdown,
    takenOver,
    log: quietLog(),
    createSession: (device, room, seq) =>
      new RoomSession(
        sessionDeps(joiner.join, {
          device,
          room,
          seq,
          instance: 'host-a',
          openDecoder: (song: Song, startMs?: number) => {
            opened.push({ id: song.id, startMs });
            return new FakeDecoder(FRAME_SAMPLES);
          },
          ...extra,
        }),
      ),
  });
  reg.on('status', (s) => statuses.push(s));
  const release = () => {
    for (const link of joiner.links) {
      link.track.auto = true;
      while (link.track.settleOne());
    }
  };
  return { joiner, reg, opened, statuses, release };
}

function point(over: Partial<ResumePoint> = {}): ResumePoint {
  return { query: { language: 'en' }, song: songs[1]!, positionMs: 12_000, upcoming: [songs[2]!], history: [songs[0]!], volume: 40, paused: false, seq: 7, ...over };
}

afterEach(() => {
  for (const d of FakeDecoder.open) d.kill();
});

describe('durable session state (retained status → resume point)', () => {
  test('a playing status parses, and its ids become songs of the catalog', () => {
    const parsed = parseDurableState('dev1', retained());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.state).toMatchObject({ room: 'room1', state: 'playing', songId: 'b', positionMs: 12_345, volume: 40, query: { language: 'en' }, instance: 'host-a', seq: 7 });
    const p = resumePoint(parsed.state, byId)!;
    expect(p.song.id).toBe('b');
    expect(p.upcoming.map((s) => s.id)).toEqual(['c', 'a']);
    expect(p.history.map((s) => s.id)).toEqual(['a']);
  });

  test('ids no longer in the catalog are dropped; a song that is gone is not resumed', () => {
    const parsed = parseDurableState('dev1', retained({ queue: ['gone', 'c'], history: ['x'] }));
    if (!parsed.ok) throw new Error(parsed.reason);
    const p = resumePoint(parsed.state, byId)!;
    expect(p.upcoming.map((s) => s.id)).toEqual(['c']);
    expect(p.history).toEqual([]);
    const gone = parseDurableState('dev1', retained({ song: { id: 'gone' } }));
    if (!gone.ok) throw new Error(gone.reason);
    expect(resumePoint(gone.state, byId)).toBeUndefined();
  });

  test('a position past the end of the song is bounded to the song', () => {
    const long = new Map([['b', { ...songs[1]!, durationMs: 20_000 }]]);
    const parsed = parseDurableState('dev1', retained({ position_ms: 99_000_000 }));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(resumePoint(parsed.state, long)!.positionMs).toBe(19_000);
  });

  test.each([
    ['not an object', 'playing'],
    ['another device', { ...retained(), device: 'dev2' }],
    ['idle', retained({ state: 'idle' })],
    ['no room', retained({ room: null })],
    ['a room with control characters', retained({ room: 'a\nb' })],
    ['a room name too long', retained({ room: 'r'.repeat(500) })],
    ['no song', retained({ song: null })],
    ['a song id that is not a string', retained({ song: { id: { $ne: 1 } } })],
    ['a negative position', retained({ position_ms: -5 })],
    ['a position that is not a number', retained({ position_ms: '100' })],
    ['an infinite position', retained({ position_ms: Number.POSITIVE_INFINITY })],
    ['a volume out of range', retained({ volume: 1000 })],
    ['no time', retained({ position_at: 'yesterday', updated_at: 'never' })],
    ['an array', [retained()]],
  ])('a hostile status is refused: %s', (_what, raw) => {
    expect(parseDurableState('dev1', raw).ok).toBe(false);
  });

  test('lists are bounded and only hold ids', () => {
    const parsed = parseDurableState('dev1', retained({ queue: [...Array(500).keys()].map(String), history: [1, null, 'a', 'x'.repeat(1000)] }));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.state.queue.length).toBe(RESUME_LIST_LIMIT);
    expect(parsed.state.history).toEqual(['a']);
  });
});

describe('seek in the decoder', () => {
  test('-ss goes before the input, in seconds, bounded', () => {
    const file = { input: '/music/a.mp3', protocols: 'file', network: false };
    const head = ['-nostdin', '-hide_banner', '-protocol_whitelist', 'file'];
    expect(inputOptions(file, { networkTimeoutMs: 10_000, startMs: 12_345 })).toEqual([...head, '-ss', '12.345']);
    expect(inputOptions(file, { networkTimeoutMs: 10_000 })).toEqual(head);
    expect(inputOptions(file, { networkTimeoutMs: 10_000, startMs: -5 })).toEqual(head);
    expect(inputOptions(file, { networkTimeoutMs: 10_000, startMs: Number.NaN })).toEqual(head);
    expect(inputOptions(file, { networkTimeoutMs: 10_000, startMs: 1e15 })).toEqual([...head, '-ss', '86400.000']);
  });
});

describe('playlist ids', () => {
  test('upcoming and history ids are bounded; restore puts a saved playlist back', () => {
    const many: Song[] = [...Array(50).keys()].map((i) => ({ ...songs[0]!, id: `s${i}` }));
    const list = new Playlist(many, () => 0.5);
    for (let i = 0; i < 25; i++) list.advance();
    expect(list.upcomingIds(20).length).toBe(20);
    expect(list.historyIds(20).length).toBe(20);
    list.restore(many[7]!, [many[8]!, many[9]!], [many[1]!]);
    expect(list.current()?.id).toBe('s7');
    expect(list.upcomingIds(2)).toEqual(['s8', 's9']);
    expect(list.previous()?.id).toBe('s1');
  });
});

describe('status carries what a resume needs', () => {
  test('position counts captured frames; queue, history, owner and a growing seq are in the status', async () => {
    const { joiner, reg, statuses } = setup();
    const started = reg.execute('dev1', { command: { type: 'start_continuous_music', language: 'en' }, sessionId: 'room1' });
    await flush();
    expect((await started).ok).toBe(true);
    const track = joiner.links[0]!.track;
    track.auto = false;
    await flush();
    const before = reg.status('dev1').position_ms!;
    for (let i = 0; i < 5; i++) {
      track.settleOne();
      await flush();
    }
    const s = reg.status('dev1');
    expect(s.position_ms! - before).toBe(50); // 5 frames of 10 ms
    expect(s.position_at).not.toBeNull();
    expect(s.queue.length).toBeGreaterThan(0);
    expect(s.instance).toBe('host-a');
    const seqs = statuses.map((x) => x.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    track.auto = true;
    while (track.settleOne());
    await reg.shutdown();
  });

  test('while playing, the status is published again every positionIntervalMs', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { reg, statuses, release } = setup({ positionIntervalMs: 1000 });
      await reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
      const n = statuses.length;
      jest.advanceTimersByTime(3000);
      expect(statuses.length - n).toBe(3);
      await reg.execute('dev1', { command: { type: 'pause_music' } });
      const m = statuses.length;
      jest.advanceTimersByTime(3000);
      expect(statuses.length).toBe(m); // paused: the position does not move
      release();
      await reg.shutdown();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('shutdown keeps what played; stop does not', () => {
  test('after a shutdown the last status still says playing, with its song and position', async () => {
    const { reg, statuses, release } = setup();
    await reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
    await flush();
    release();
    await reg.shutdown();
    const last = statuses.at(-1)!;
    expect(last).toMatchObject({ device: 'dev1', room: 'room1', state: 'playing', reason: 'bridge shutting down' });
    expect(last.song).not.toBeNull();
    expect(last.position_ms).not.toBeNull();
    expect(last.seq).toBeGreaterThan(statuses.at(-2)!.seq);
    // The bridge-wide view does not count it as running.
    expect(reg.statuses().filter((s) => s.room !== null)).toEqual([]);
  });

  test('a stop sets idle; with resume off a shutdown sets idle too', async () => {
    const a = setup();
    await a.reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
    a.release();
    await a.reg.execute('dev1', { command: { type: 'stop_continuous_music' } });
    expect(a.statuses.at(-1)).toMatchObject({ state: 'idle', room: null });
    await a.reg.shutdown();

    const b = setup({}, false);
    await b.reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
    b.release();
    await b.reg.shutdown();
    expect(b.statuses.at(-1)).toMatchObject({ state: 'idle', room: null });
  });
});

describe('resume through the registry', () => {
  test('the same song from the recorded position, with the queue, volume and history; resuming → playing; music_resumed', async () => {
    const { joiner, reg, opened, statuses, release } = setup();
    const result = await reg.resume('dev1', 'room1', point(), async () => undefined);
    expect(result.ok).toBe(true);
    expect(opened[0]).toEqual({ id: 'b', startMs: 12_000 });
    expect(opened.filter((o) => o.id === 'b').length).toBe(1); // opened while joining, used by the player
    const s = reg.status('dev1');
    expect(s).toMatchObject({ state: 'playing', room: 'room1', volume: 40, language: 'en', history: ['a'] });
    expect(s.queue[0]).toBe('c');
    expect(s.position_ms).toBeGreaterThanOrEqual(12_000);
    expect(s.seq).toBeGreaterThan(7);
    expect(statuses.map((x) => x.state)).toContain('resuming');
    await flush();
    expect(joiner.links[0]!.sent).toContain('music_resumed');
    expect(joiner.links[0]!.sent).not.toContain('continuous_music_started');
    release();
    await reg.shutdown();
  });

  test('the song decoding early is killed when the join fails', async () => {
    const { joiner, reg, opened } = setup();
    joiner.auto = false;
    const result = reg.resume('dev1', 'room1', point(), async () => undefined);
    await flush();
    expect(opened).toEqual([{ id: 'b', startMs: 12_000 }]);
    expect(FakeDecoder.open.size).toBe(1);
    joiner.pending[0]!.fail();
    expect((await result).ok).toBe(false);
    expect(FakeDecoder.open.size).toBe(0);
  });

  test('a fresh start also opens its first song while joining, once, and the player plays that decode', async () => {
    const { joiner, reg, opened, release } = setup();
    joiner.auto = false;
    const started = reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
    await flush();
    expect(joiner.pending.length).toBe(1); // still joining
    expect(opened).toEqual([{ id: expect.any(String), startMs: 0 }]);
    joiner.pending[0]!.succeed();
    expect((await started).ok).toBe(true);
    await flush();
    expect(opened.length).toBe(1); // the player took the early decode instead of opening another
    expect(reg.status('dev1').song?.id).toBe(opened[0]!.id);
    release();
    await reg.shutdown();
  });

  test('a SIGTERM while a resume is still joining keeps the saved state resumable (song, position, volume)', async () => {
    const { joiner, reg, statuses } = setup();
    joiner.auto = false;
    const resumed = reg.resume('dev1', 'room1', point(), async () => undefined);
    await flush();
    expect(joiner.pending.length).toBe(1);
    await reg.shutdown();
    expect((await resumed).ok).toBe(false);
    const last = statuses.at(-1)!;
    expect(last).toMatchObject({ device: 'dev1', room: 'room1', song: { id: 'b' }, position_ms: 12_000, volume: 40, reason: 'bridge shutting down' });
    const again = parseDurableState('dev1', JSON.parse(JSON.stringify(last)) as Record<string, unknown>);
    expect(again.ok).toBe(true);
  });

  test('a paused session resumes paused, and plays on from the saved position when resumed', async () => {
    const { reg, release, opened } = setup();
    await reg.resume('dev1', 'room1', point({ paused: true }), async () => undefined);
    expect(reg.status('dev1').state).toBe('paused');
    expect(reg.status('dev1').position_ms).toBe(12_000);
    await reg.execute('dev1', { command: { type: 'resume_music' } });
    await flush();
    expect(opened[0]).toEqual({ id: 'b', startMs: 12_000 });
    release();
    await reg.shutdown();
  });

  test('a failed check ends the saved session with its reason instead of joining', async () => {
    const { joiner, reg, statuses } = setup();
    const r: CommandResult = await reg.resume('dev1', 'room1', point(), async () => 'the room no longer exists');
    expect(r.ok).toBe(false);
    expect(joiner.calls).toBe(0);
    expect(statuses.at(-1)).toMatchObject({ device: 'dev1', state: 'idle', room: null, reason: 'not resumed: the room no longer exists' });
  });

  test('a command queued after the resume runs after it (a stop sent while the bridge was away wins)', async () => {
    const { reg, release, statuses } = setup();
    const resumed = reg.resume('dev1', 'room1', point(), async () => undefined);
    const stopped = reg.execute('dev1', { command: { type: 'stop_continuous_music' } });
    expect((await resumed).ok).toBe(true);
    release();
    expect((await stopped).ok).toBe(true);
    expect(statuses.at(-1)).toMatchObject({ state: 'idle', room: null });
    await reg.shutdown();
  });

  test('after a shutdown has begun a resume is refused', async () => {
    const { reg, joiner } = setup();
    await reg.shutdown();
    expect((await reg.resume('dev1', 'room1', point(), async () => undefined)).code).toBe('shutting_down');
    expect(joiner.calls).toBe(0);
  });
});

describe('start-up resume (resumeSessions)', () => {
  const NOW = Date.parse('2026-11-25T10:00:30.000Z');
  function resumeWith(saved: Record<string, unknown>, over: Partial<Parameters<typeof resumeSessions>[2]> = {}) {
    const s = setup();
    const asked: string[] = [];
    const members = {
      identitiesIn: async (room: string) => {
        asked.push(room);
        return room === 'gone' ? undefined : room === 'empty' ? ['music-bridge'] : ['music-bridge', 'listener'];
      },
    };
    const done = resumeSessions(s.reg, new Map(Object.entries(saved)), {
      instance: 'host-a',
      maxAgeMs: 3600_000,
      catalog: () => new Catalog(songs),
      members,
      botIdentity: 'music-bridge',
      ownerGone: () => false,
      log: quietLog(),
      now: () => NOW,
      ...over,
    });
    return { ...s, done, asked };
  }

  test('own playing and paused states resume; idle ones and hostile ones are left alone', async () => {
    const r = resumeWith({
      dev1: retained(),
      dev2: retained({ device: 'dev2', room: 'room2', state: 'paused' }),
      dev3: retained({ device: 'dev3', state: 'idle' }),
      dev4: { device: 'dev4', state: 'playing', room: { evil: true } },
    });
    const report = await r.done;
    expect(report.resumed.sort()).toEqual(['dev1', 'dev2']);
    expect(r.reg.status('dev2').state).toBe('paused');
    expect(r.reg.status('dev3').state).toBe('idle');
    expect(r.joiner.calls).toBe(2);
    r.release();
    await r.reg.shutdown();
  });

  test('a room that is gone or empty, a song gone from the catalog, a state too old: ended with a reason, never joined', async () => {
    const r = resumeWith({
      dev1: retained({ room: 'gone' }),
      dev2: retained({ device: 'dev2', room: 'empty' }),
      dev3: retained({ device: 'dev3', room: 'room3', song: { id: 'nope' } }),
      dev4: retained({ device: 'dev4', room: 'room4', position_at: '2026-11-25T08:00:00.000Z' }),
    });
    const report = await r.done;
    expect(report.resumed).toEqual([]);
    expect(r.joiner.calls).toBe(0);
    expect(report.ended.dev1).toMatch(/room "gone" no longer exists/);
    expect(report.ended.dev2).toMatch(/nobody is in room "empty"/);
    expect(report.ended.dev3).toMatch(/no longer in the catalog/);
    expect(report.ended.dev4).toMatch(/old/);
    expect(r.asked.sort()).toEqual(['empty', 'gone']);
    for (const d of ['dev1', 'dev2', 'dev3', 'dev4']) expect(r.reg.status(d)).toMatchObject({ state: 'idle', room: null, reason: expect.stringMatching(/^not resumed: /) });
  });

  test("another live instance's state is left to it; a gone instance's state is taken over", async () => {
    const live = resumeWith({ dev1: retained({ instance: 'host-b' }) });
    expect((await live.done).skipped).toEqual(['dev1']);
    expect(live.joiner.calls).toBe(0);
    expect(live.statuses).toEqual([]); // not even an idle status: it is not ours

    const gone = resumeWith({ dev1: retained({ instance: 'host-b' }) }, { ownerGone: () => true });
    expect((await gone.done).resumed).toEqual(['dev1']);
    gone.release();
    await gone.reg.shutdown();
  });

  test('the room policy applies to a saved room like to a command', async () => {
    const r = resumeWith({ dev1: retained() }, { policy: { check: async () => ({ ok: false, code: 'room_not_allowed', message: 'not yours' }) } });
    expect((await r.done).ended.dev1).toBe('not resumed: not yours');
    expect(r.joiner.calls).toBe(0);
  });
});

describe('ownership (rendezvous over live instances)', () => {
  const devices = [...Array(3000).keys()].map((i) => `dev${i}`);

  test('deterministic, spread over the instances, and only the gone instance\'s devices move', () => {
    const three = ['i1', 'i2', 'i3'];
    const picks = devices.map((d) => rendezvous(d, three)!);
    expect(devices.map((d) => rendezvous(d, [...three].reverse()))).toEqual(picks);
    for (const i of three) {
      const n = picks.filter((p) => p === i).length;
      expect(n).toBeGreaterThan(800);
      expect(n).toBeLessThan(1200);
    }
    const two = devices.map((d) => rendezvous(d, ['i1', 'i3'])!);
    devices.forEach((_, k) => {
      if (picks[k] !== 'i2') expect(two[k]).toBe(picks[k]);
    });
  });

  test('an owned device stays with its live owner; a gone owner\'s device goes to the pick; a local session always wins', () => {
    let live = ['i1', 'i2'];
    const held = new Set<string>();
    const mine = new Ownership('i1', () => live, (i) => live.includes(i), (d) => held.has(d));
    const other = new Ownership('i2', () => live, (i) => live.includes(i), () => false);
    // Exactly one of the two acts on every device.
    for (const d of devices.slice(0, 200)) expect(Number(mine.owns(d)) + Number(other.owns(d))).toBe(1);
    const d = devices.find((x) => rendezvous(x, live) === 'i1')!;
    for (const o of [mine, other]) o.noteStatus(d, { state: 'playing', instance: 'i2' });
    expect(mine.owns(d)).toBe(false);
    expect(other.owns(d)).toBe(true);
    expect(mine.takenOver(d)).toBe(true);
    expect(other.takenOver(d)).toBe(false);
    live = ['i1'];
    expect(mine.takenOver(d)).toBe(false);
    expect(mine.owns(d)).toBe(true);
    expect([...mine.orphansOf('i2').keys()]).toContain(d);
    held.add(d);
    live = ['i1', 'i2'];
    expect(mine.owns(d)).toBe(true); // it plays here now
    for (const o of [mine, other]) o.noteStatus(d, { state: 'idle', instance: null });
    expect(other.tracked).toBe(0);
  });

  test('hostile statuses do not make an owner', () => {
    const o = new Ownership('i1', () => ['i1'], () => true, () => false);
    for (const raw of [null, 'x', [], { state: 'playing' }, { state: 'playing', instance: 7 }, { state: 'weird', instance: 'i9' }]) o.noteStatus('dev1', raw);
    expect(o.tracked).toBe(0);
  });
});

describe('instance ids', () => {
  test('default derived from the host and the client id, stable; client id derived from an explicit id', () => {
    expect(instanceIdOf('', 'music-bridge', 'host-1.example')).toBe('host-1.example-music-bridge');
    expect(instanceIdOf('', 'music bridge/x', 'h')).toBe('h-music-bridge-x');
    expect(instanceIdOf('blue', 'music-bridge', 'h')).toBe('blue');
    expect(clientIdOf('music-bridge', '')).toBe('music-bridge');
    expect(clientIdOf('music-bridge', 'blue')).toBe('music-bridge-blue');
  });
});

describe('the fence: another bot with the same identity takes the room', () => {
  test('displaced by an instance of the fleet: ends cleanly (no error) and publishes no final status over the new owner\'s', async () => {
    const { joiner, reg, statuses, release } = setup({ handedOver: () => true }, true, () => true);
    await reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
    release();
    const n = statuses.length;
    joiner.links[0]!.emit('disconnected', 'DUPLICATE_IDENTITY', false);
    for (let i = 0; i < 50 && reg.size > 0; i++) await flush();
    expect(reg.size).toBe(0);
    expect(statuses.slice(n).filter((s) => s.state === 'idle' || s.state === 'error')).toEqual([]);
    expect(reg.status('dev1').state).toBe('idle');
    expect(joiner.links[0]!.left).toBe(true);
  });

  test('displaced by anyone else (another deployment with the same bot identity): the status says so', async () => {
    const { joiner, reg, statuses, release } = setup();
    await reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
    release();
    joiner.links[0]!.emit('disconnected', 'DUPLICATE_IDENTITY', false);
    for (let i = 0; i < 50 && reg.size > 0; i++) await flush();
    expect(statuses.at(-1)).toMatchObject({ state: 'error', room: null, error: expect.stringMatching(/bot identity/) });
  });

  test('a drain publishes every status once more, then the ends publish nothing', async () => {
    const { reg, statuses, release } = setup();
    await reg.execute('dev1', { command: { type: 'start_continuous_music' }, sessionId: 'room1' });
    release();
    const n = statuses.length;
    const handed = reg.handOver();
    expect(handed.map((s) => s.device)).toEqual(['dev1']);
    expect(statuses.length).toBe(n + 1);
    await reg.shutdown();
    expect(statuses.length).toBe(n + 1);
  });
});
