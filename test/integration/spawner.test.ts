import { type ChildProcess, fork, type Serializable } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { resolveFfmpegPath } from '../../src/audio/ffmpeg-path';
import { DirectLauncher, type LaunchedProcess } from '../../src/audio/launcher';
import { Spawner } from '../../src/audio/spawner';
import { SPAWNER_LIMITS, socketPath } from '../../src/audio/spawner-protocol';
import type { Logger } from '../../src/ops/logger';
import { testScope } from '../support/scope';
import { cmdlineOf, eventually, ffmpegChildren, processTable, running, spawnerOf, toneCatalog } from './audio-support';

const SCRIPT = join(__dirname, '..', '..', 'dist', 'audio', 'spawner-process.js');
const FFMPEG = resolveFfmpegPath('');
/** One second of a 440 Hz tone as 48 kHz mono s16le: 96 000 bytes. */
const TONE_ARGS = ['-nostdin', '-hide_banner', '-f', 'lavfi', '-i', 'sine=f=440:d=1', '-ac', '1', '-ar', '48000', '-f', 's16le', 'pipe:1'];
/** Decodes until killed (a real-time source). */
const ENDLESS_ARGS = ['-nostdin', '-hide_banner', '-re', '-f', 'lavfi', '-i', 'sine=f=440', '-ac', '1', '-ar', '48000', '-f', 's16le', 'pipe:1'];

const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
const log = {
  debug: () => undefined,
  info: () => undefined,
  warn: (msg: string, fields?: Record<string, unknown>) => warnings.push([msg, fields]),
  error: () => undefined,
  child: () => log,
} as unknown as Logger;

function ppidOf(pid: number): number | undefined {
  return processTable().get(pid)?.ppid;
}

/** The live children of `pid`. */
function childrenOf(pid: number): number[] {
  return [...processTable()].filter(([, p]) => p.ppid === pid && p.state !== 'Z').map(([child]) => child);
}

async function drain(p: LaunchedProcess): Promise<{ bytes: number; stderr: string }> {
  let bytes = 0;
  p.stdout.on('data', (d: Buffer) => (bytes += d.length));
  // finished(), not a 'close' listener: an ffmpeg that printed nothing may have ended its output already.
  await finished(p.stdout).catch(() => undefined);
  return { bytes, stderr: (await p.exit).stderr };
}

/** ffmpeg through the spawner process, on its own (no daemon). */
describe('ffmpeg spawner', () => {
  const { defer } = testScope();
  const spawners: Spawner[] = [];
  let ended = 0;
  const make = (script = SCRIPT): Spawner => {
    const s = new Spawner({ ffmpegPath: FFMPEG, log, script, onEnded: () => ended++ });
    spawners.push(s);
    s.start();
    return s;
  };
  afterEach(async () => {
    for (const s of spawners.splice(0)) await s.stop();
  });

  test("runs ffmpeg as the spawner's child, not this process's; the PCM and stderr arrive here, then the exit", async () => {
    const spawner = make();
    const p = await spawner.launch(TONE_ARGS);
    expect(spawner.pid).toBeDefined();
    const out = await drain(p);
    expect(out.bytes).toBe(96000);
    expect(await p.exit).toMatchObject({ code: 0, signal: null });
    const q = await spawner.launch(ENDLESS_ARGS);
    expect(childrenOf(spawner.pid!)).toHaveLength(1);
    expect(childrenOf(process.pid).filter((pid) => /ffmpeg/.test(cmdlineOf(pid)))).toEqual([]);
    q.kill();
    expect(await q.exit).toMatchObject({ code: null, signal: 'SIGKILL' });
  });

  test('a failing ffmpeg reports its exit code and its stderr; bad arguments never reach a shell', async () => {
    const spawner = make();
    const p = await spawner.launch(['-nostdin', '-i', '/nonexistent; touch /tmp/pwned', '-f', 's16le', 'pipe:1']);
    const out = await drain(p);
    expect((await p.exit).code).not.toBe(0);
    expect(out.stderr).toMatch(/No such file or directory/);
  });

  test('killed with SIGKILL: launches in flight fail or end as killed, the next launch starts a new spawner', async () => {
    const spawner = make();
    const running1 = await spawner.launch(ENDLESS_ARGS);
    const first = spawner.pid!;
    const endedBefore = ended;
    process.kill(first, 'SIGKILL');
    expect(await running1.exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    await eventually(() => spawner.pid === undefined, 'the spawner is gone');
    const p = await spawner.launch(TONE_ARGS);
    expect(spawner.pid).not.toBe(first);
    expect((await drain(p)).bytes).toBe(96000);
    expect(warnings.some(([m]) => m.startsWith('ffmpeg spawner ended'))).toBe(true);
    expect(ended).toBe(endedBefore + 1); // music_bridge_ffmpeg_spawner_ended_total in the daemon
  });

  test('a spawner that keeps dying is given up on for a while: ffmpeg starts from this process instead', async () => {
    const spawner = make();
    for (let i = 0; i < 3; i++) {
      await spawner.launch(TONE_ARGS).then(drain);
      const pid = spawner.pid!;
      process.kill(pid, 'SIGKILL');
      await eventually(() => spawner.pid === undefined, 'the spawner is gone');
    }
    const p = await spawner.launch(ENDLESS_ARGS);
    expect(spawner.pid).toBeUndefined();
    expect(childrenOf(process.pid).filter((pid) => /ffmpeg/.test(cmdlineOf(pid)))).toHaveLength(1);
    p.kill();
    await p.exit;
  });

  test('without its script (run from the sources) ffmpeg starts from this process', async () => {
    const spawner = make(join(__dirname, 'no-such-spawner.js'));
    const p = await spawner.launch(TONE_ARGS);
    expect(spawner.pid).toBeUndefined();
    expect((await drain(p)).bytes).toBe(96000);
  });

  test('a binary that does not exist fails the launch with a cause, through the spawner and directly', async () => {
    const spawner = new Spawner({ ffmpegPath: '/nonexistent/ffmpeg', log, script: SCRIPT });
    spawners.push(spawner);
    spawner.start();
    await expect(spawner.launch(TONE_ARGS)).rejects.toThrow(/ffmpeg could not start: .*ENOENT/);
    await expect(new DirectLauncher('/nonexistent/ffmpeg').launch(TONE_ARGS)).rejects.toThrow(/ffmpeg could not start: .*ENOENT/);
  });

  /** The spawner process alone, with a private directory and one listening socket per process id. */
  async function bareSpawner(): Promise<{ child: ChildProcess; got: Array<Record<string, unknown>>; listen: (id: number) => Promise<{ path: string; bytes: () => number }>; close: () => void }> {
    const dir = mkdtempSync(join(tmpdir(), 'mb-spawner-test-'));
    const child = fork(SCRIPT, [FFMPEG, dir], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const got: Array<Record<string, unknown>> = [];
    child.on('message', (m: Record<string, unknown>) => got.push(m));
    const servers: Server[] = [];
    const listen = async (id: number) => {
      let bytes = 0;
      const server = createServer((sock) => sock.on('data', (d: Buffer) => (bytes += d.length)));
      servers.push(server);
      const path = socketPath(dir, id);
      await new Promise<void>((r) => server.listen(path, r));
      return { path, bytes: () => bytes };
    };
    const close = () => {
      child.kill('SIGKILL');
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    };
    return { child, got, listen, close };
  }

  test('what the spawner is sent is checked: garbage, other binaries, sockets elsewhere, oversized arguments and unknown ids are dropped; it keeps working', async () => {
    const { child, got, listen, close } = await bareSpawner();
    try {
      const good = await listen(10);
      const elsewhere = mkdtempSync(join(tmpdir(), 'mb-elsewhere-'));
      defer(() => rmSync(elsewhere, { recursive: true, force: true }));
      for (const bad of [
        [],
        true,
        'spawn',
        42,
        { t: 'spawn' },
        { t: 'spawn', id: -1, args: [], stdout: good.path },
        { t: 'spawn', id: 1.5, args: [], stdout: good.path },
        { t: 'spawn', id: 2, args: 'rm -rf /', stdout: good.path },
        { t: 'spawn', id: 3, args: [1, 2], stdout: good.path },
        { t: 'spawn', id: 4, args: ['a\0b'], stdout: good.path },
        { t: 'spawn', id: 5, args: Array.from({ length: SPAWNER_LIMITS.args + 1 }, () => '-y'), stdout: good.path },
        { t: 'spawn', id: 6, args: ['x'.repeat(SPAWNER_LIMITS.argChars + 1)], stdout: good.path },
        // A socket outside its directory, or another id's: never connected to.
        { t: 'spawn', id: 7, args: TONE_ARGS, stdout: join(elsewhere, '7.sock') },
        { t: 'spawn', id: 8, args: TONE_ARGS, stdout: good.path },
        { t: 'exec', id: 9, cmd: '/bin/sh', args: ['-c', 'touch /tmp/pwned'] },
        { t: 'kill', id: 999 },
        { t: 'kill', id: '1' },
      ])
        child.send(bad as Serializable);
      child.send({ t: 'spawn', id: 10, args: TONE_ARGS, stdout: good.path, cmd: '/bin/sh' });
      await eventually(() => got.some((m) => m.t === 'exit' && m.id === 10), 'the good request ran');
      expect(got.filter((m) => m.id !== 10)).toEqual([]);
      expect(got.filter((m) => m.id === 10).map((m) => m.t)).toEqual(['spawned', 'exit']);
      expect(got.find((m) => m.t === 'exit')).toMatchObject({ code: 0 });
      await eventually(() => good.bytes() === 96000, 'the PCM arrived on the socket');
    } finally {
      close();
    }
  });

  test('when the daemon side goes away, the spawner kills every ffmpeg and ends', async () => {
    const { child, got, listen, close } = await bareSpawner();
    try {
      for (const id of [1, 2]) child.send({ t: 'spawn', id, args: ENDLESS_ARGS, stdout: (await listen(id)).path });
      await eventually(() => got.filter((m) => m.t === 'spawned').length === 2, 'both running');
      const kids = childrenOf(child.pid!);
      expect(kids.length).toBe(2);
      const gone = new Promise((r) => child.once('exit', r));
      child.disconnect();
      await gone;
      await eventually(() => kids.every((pid) => !running(pid)), 'its ffmpeg processes ended');
    } finally {
      close();
    }
  });
});

/** The daemon with its spawner, against the real stack. */
describe('ffmpeg spawner in the daemon', () => {
  const { daemon: startDaemon, listen } = testScope();

  const longSongs = () =>
    toneCatalog('spawner', [
      { title: 'Long Low', language: 'Test', genres: ['long'], hz: 400, seconds: 30, format: 'mp3' },
      { title: 'Long High', language: 'Test', genres: ['long'], hz: 1000, seconds: 30, format: 'mp3' },
    ]);

  test('the spawner dies mid-song: the room plays on (the next song through a new spawner) and the old ffmpeg ends', async () => {
    const { daemon, app } = await startDaemon({ catalog: { location: await longSongs() } });
    const l = await listen('spawner-dies');
    await app.command('aabbccddeef1', { type: 'start_continuous_music', session_id: 'spawner-dies' });
    await l.hearTone([400, 1000], 'music');
    const spawner = spawnerOf(daemon.pid);
    expect(spawner).toBeDefined();
    const ffmpegs = ffmpegChildren(daemon.pid);
    expect(ffmpegs.length).toBeGreaterThan(0);
    // Every ffmpeg is the spawner's, none the daemon's own.
    expect(ffmpegs.map(ppidOf).every((ppid) => ppid === spawner)).toBe(true);

    process.kill(spawner!, 'SIGKILL');
    await daemon.lines.next((line) => line.message === 'ffmpeg spawner ended; the next song starts a new one', 'the daemon noticed', 10000);
    await eventually(() => ffmpegs.every((pid) => !running(pid)), 'the old ffmpeg processes ended', 15000);
    // What was decoded before plays out, then the next song starts through a new spawner.
    await daemon.lines.next((line) => line.message === 'song failed; playing the next one', 'the cut song ends', 20000);
    await eventually(() => spawnerOf(daemon.pid) !== undefined, 'a new spawner', 15000);
    expect(spawnerOf(daemon.pid)).not.toBe(spawner);
    const mark = l.mark;
    await l.hearTone([400, 1000], 'music again', mark, 20000);
    expect(ffmpegChildren(daemon.pid).map(ppidOf).every((ppid) => ppid === spawnerOf(daemon.pid))).toBe(true);
    expect(daemon.proc.exitCode).toBeNull();
    await app.command('aabbccddeef1', { type: 'stop_continuous_music' });
  }, 90000);

  test('the daemon killed with SIGKILL: its spawner and every ffmpeg end', async () => {
    const { daemon, app } = await startDaemon({ catalog: { location: await longSongs() } });
    const l = await listen('spawner-orphans');
    await app.command('aabbccddeef2', { type: 'start_continuous_music', session_id: 'spawner-orphans' });
    await l.hearTone([400, 1000], 'music');
    const spawner = spawnerOf(daemon.pid)!;
    const ffmpegs = ffmpegChildren(daemon.pid);
    expect(ffmpegs.length).toBeGreaterThan(0);
    await daemon.stop('SIGKILL');
    await eventually(() => !running(spawner) && ffmpegs.every((pid) => !running(pid)), 'no spawner and no ffmpeg left', 15000);
  }, 90000);

  test('audio.ffmpegLauncher "daemon": no spawner, ffmpeg is the daemon\'s own child', async () => {
    const { daemon, app } = await startDaemon({ catalog: { location: await longSongs() }, audio: { ffmpegLauncher: 'daemon' } });
    const l = await listen('spawner-off');
    await app.command('aabbccddeef3', { type: 'start_continuous_music', session_id: 'spawner-off' });
    await l.hearTone([400, 1000], 'music');
    expect(spawnerOf(daemon.pid)).toBeUndefined();
    const ffmpegs = ffmpegChildren(daemon.pid);
    expect(ffmpegs.length).toBeGreaterThan(0);
    expect(ffmpegs.map(ppidOf).every((ppid) => ppid === daemon.pid)).toBe(true);
    await app.command('aabbccddeef3', { type: 'stop_continuous_music' });
  }, 90000);
});
