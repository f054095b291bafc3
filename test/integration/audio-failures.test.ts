import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { LogLine } from '../support/daemon';
import { AUDIBLE_RMS } from '../support/listener';
import { testScope } from '../support/scope';
import { ffmpegChildren, toneCatalog } from './audio-support';

const GOOD = 400;
const STEADY = 1000;

/** Songs that break while they play: the room moves on, and another room never notices. */
describe('audio: sources that fail mid-song', () => {
  const { daemon: startDaemon, listen, defer } = testScope();
  const start = (catalog: string, audio: Record<string, unknown> = {}) => startDaemon({ catalog: { location: catalog }, audio });

  const songFailed = (id: string) => (l: LogLine) => l.message === 'song failed; playing the next one' && l.song === id;

  test('a stalled http stream counts as a failed song (stall watchdog or network timeout) and the next song plays; a room next door plays on without a gap', async () => {
    const manifest = await toneCatalog('stall', [
      { title: 'Good', language: 'Test', genres: ['flaky'], hz: GOOD, seconds: 3, format: 'mp3' },
      { title: 'Steady', language: 'Test', genres: ['steady'], hz: STEADY, seconds: 3, format: 'mp3' },
      { title: 'Source', language: 'Test', genres: ['unused'], hz: 700, seconds: 4, format: 'mp3' },
    ]);
    // The stalling source sends the first part of a real mp3, then nothing; ffmpeg's reconnects get
    // no answer at all. (Answering a reconnect without a Range header from the start again would
    // feed ffmpeg the same bytes as a continuation: endless audio, not a stall.)
    const mp3 = readFileSync(join(dirname(manifest), 'source-700hz.mp3'));
    let served = false;
    const server: Server = createServer((_req, res) => {
      if (served) return;
      served = true;
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(mp3.length) });
      res.write(mp3.subarray(0, Math.floor(mp3.length / 3)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const catalog = JSON.parse(readFileSync(manifest, 'utf8')) as { songs: Array<Record<string, unknown>> };
    catalog.songs = catalog.songs.filter((s) => s.title !== 'Source');
    catalog.songs.push({ title: 'Stall', language: 'Test', genres: ['flaky'], url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stall.mp3` });
    writeFileSync(manifest, JSON.stringify(catalog));

    const { daemon, app } = await start(manifest, { stallMs: 1000, networkTimeoutMs: 1000 });
    const [flaky, steady] = await Promise.all([listen('audio-stall'), listen('audio-next-door')]);
    await app.command('aabbccddeec1', { type: 'start_continuous_music', language: 'Test', genre: 'steady', session_id: 'audio-next-door' });
    await steady.hearTone([STEADY], 'the room next door plays');
    const steadyFrom = steady.mark;
    await app.command('aabbccddeec2', { type: 'start_continuous_music', language: 'Test', genre: 'flaky', session_id: 'audio-stall' });

    const failure = await daemon.lines.next(songFailed('test/stall'), 'the stalled song fails', 30000);
    expect(failure).toMatchObject({ device: 'aabbccddeec2', error: expect.stringMatching(/^(stalled|timeout)$/) });
    await flaky.data('music_control', 'music_song_failed');
    const status = await app.status('aabbccddeec2', (s) => (s.last_failure as { id?: string } | null)?.id === 'test/stall', 'the status names the failed song');
    expect(status.json?.last_failure).toMatchObject({ title: 'Stall', error: expect.any(String) });
    const afterFailure = flaky.mark;
    await flaky.hearTone([GOOD], 'the good song after the stalled one', afterFailure, 20000);

    // Next door, nothing was missed while the other room's source stalled.
    await steady.hearTone([STEADY], 'still playing next door', steady.mark);
    const heard = steady.lines.items.slice(steadyFrom).filter((h) => h.rms !== undefined);
    expect(heard.filter((f) => (f.rms ?? 0) < AUDIBLE_RMS / 4).length).toBeLessThanOrEqual(2);
    expect(daemon.lines.items.some((l) => l.device === 'aabbccddeec1' && String(l.message).startsWith('song failed'))).toBe(false);
  }, 90000);

  test('an ffmpeg process that dies mid-song counts as a failed song and the next song plays', async () => {
    const catalog = await toneCatalog('crash', [
      { title: 'Long Low', language: 'Test', genres: ['crash'], hz: GOOD, seconds: 30, format: 'mp3' },
      { title: 'Long High', language: 'Test', genres: ['crash'], hz: STEADY, seconds: 30, format: 'mp3' },
    ]);
    const { daemon, app } = await start(catalog);
    const l = await listen('audio-crash');
    await app.command('aabbccddeec3', { type: 'start_continuous_music', session_id: 'audio-crash' });
    const first = await l.hearTone([GOOD, STEADY], 'the first song');
    // The song's decoder is still running (30 s song, bounded read-ahead): kill it from outside.
    const file = first === GOOD ? 'long-low-400hz.mp3' : 'long-high-1000hz.mp3';
    const victim = ffmpegChildren(daemon.pid).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(file));
    expect(victim).toBeDefined();
    process.kill(victim!, 'SIGKILL');

    const id = first === GOOD ? 'test/long-low' : 'test/long-high';
    const failure = await daemon.lines.next(songFailed(id), 'the crashed song is reported', 20000);
    expect(failure).toMatchObject({ error: 'ffmpeg failed', detail: expect.stringMatching(/SIGKILL/) });
    const other = first === GOOD ? STEADY : GOOD;
    await l.hearTone([other], 'the next song', l.mark, 20000);
    expect(daemon.proc.exitCode).toBeNull();
  }, 90000);
});
