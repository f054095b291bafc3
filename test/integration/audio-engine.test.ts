import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AUDIBLE_RMS } from '../support/listener';
import { testScope } from '../support/scope';
import { hzOf, stackInfo } from '../support/stack';
import { eventually, ffmpegChildren, median, running, toneCatalog, watchProcesses } from './audio-support';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];

describe('audio engine (real stack, measured at the listener)', () => {
  const { daemon: setup, listen, defer } = testScope();

  test('two songs back to back: no added silence between them (≤ 20 ms)', async () => {
    const { app } = await setup();
    const l = await listen('audio-gapless');
    await app.command('aabbccddeea1', { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: 'audio-gapless' });
    const first = await l.hearTone(POP, 'first song');
    const at = l.mark;
    const second = await l.hearTone(POP.filter((hz) => hz !== first), 'second song', at, 15000);
    // Between the last frame of the first tone and the first frame of the second: count silent frames.
    const frames = l.frames;
    const isTone = (hz: number) => (f: { rms?: number; hz?: number }) => (f.rms ?? 0) >= AUDIBLE_RMS && Math.abs((f.hz ?? 0) - hz) < 12;
    const firstOfSecond = frames.findIndex((f, i) => i > 0 && isTone(second)(f) && isTone(first)(frames[i - 1]!) === false && frames.slice(i, i + 5).every(isTone(second)));
    const lastOfFirst = frames.slice(0, firstOfSecond).map(isTone(first)).lastIndexOf(true);
    const between = frames.slice(lastOfFirst + 1, firstOfSecond);
    const silentMs = between.filter((f) => (f.rms ?? 0) < AUDIBLE_RMS / 4).length * 10;
    expect(lastOfFirst).toBeGreaterThan(0);
    expect(silentMs).toBeLessThanOrEqual(20);
  });

  test('volume 100 → 25 drops the level by 12 dB (±1 dB) without a click', async () => {
    const { app } = await setup();
    const l = await listen('audio-volume');
    await app.command('aabbccddeea2', { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: 'audio-volume' });
    await l.hearTone([hzOf('Rock One')], 'rock', 0, 15000, 40);
    const loud = median(l.frames.slice(-30).map((f) => f.rms ?? 0));
    const mark = l.mark;
    await app.command('aabbccddeea2', { type: 'set_volume', volume: 25 });
    // The queue (300 ms) plays out first; then 30 frames at the new level.
    await l.lines.until((items) => items.length - mark > 80, 'frames after the change');
    const after = l.lines.items.slice(mark).filter((h) => h.rms !== undefined);
    const quiet = median(after.slice(-30).map((f) => f.rms ?? 0));
    expect(20 * Math.log10(quiet / loud)).toBeCloseTo(-12, 0);
    // No frame during the change is louder than before it: no click.
    expect(Math.max(...after.map((f) => f.rms ?? 0))).toBeLessThan(loud * 1.1);
  });

  test('a 404 URL and a corrupt file are skipped and reported; the good song plays', async () => {
    const dir = mkdtempSync(join(stackInfo().workDir, 'bad-'));
    writeFileSync(join(dir, 'corrupt.mp3'), Buffer.from(Array.from({ length: 50000 }, (_, i) => (i * 7919) % 256)));
    copyFileSync(join(stackInfo().workDir, 'tracks', 'rock-one-1320hz.mp3'), join(dir, 'good.mp3'));
    const server: Server = createServer((_req, res) => res.writeHead(404).end('not found'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/missing.mp3`;
    const songs = [
      { title: 'Missing', language: 'Test', genres: ['bad'], url },
      { title: 'Corrupt', language: 'Test', genres: ['bad'], file: 'corrupt.mp3' },
      { title: 'Good', language: 'Test', genres: ['mixed'], file: 'good.mp3' },
    ];
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ songs }));
    writeFileSync(join(dir, 'bad-only.json'), JSON.stringify({ songs: songs.slice(0, 2) }));

    const { daemon, app } = await setup({ catalog: { location: join(dir, 'catalog.json') }, audio: { maxFailuresInRow: 3 } });
    const l = await listen('audio-failures');
    await app.command('aabbccddeea3', { type: 'start_continuous_music', language: 'Test', session_id: 'audio-failures' });
    await l.hearTone([hzOf('Rock One')], 'the good song');
    const failedSong = (id: string) => (x: { message?: unknown; song?: unknown }) => String(x.message).startsWith('song failed') && x.song === id;
    await daemon.lines.until((ls) => ls.some(failedSong('test/missing')) && ls.some(failedSong('test/corrupt')), 'both failures logged', 20000);
    const failed = await l.data('music_control', 'music_song_failed');
    expect(failed).toMatchObject({ song_id: expect.stringMatching(/test\/(missing|corrupt)/), error: expect.any(String) });
    expect(daemon.proc.exitCode).toBeNull();
    await app.command('aabbccddeea3', { type: 'stop_continuous_music' });

    // Only bad songs: after 3 failures in a row the room stops with an error state.
    const { app: app2 } = await setup({ catalog: { location: join(dir, 'bad-only.json') }, audio: { maxFailuresInRow: 3 } });
    const l2 = await listen('audio-all-bad');
    void l2;
    await app2.command('aabbccddeea4', { type: 'start_continuous_music', session_id: 'audio-all-bad' });
    const status = await app2.status('aabbccddeea4', (s) => s.state === 'error', 'error state after repeated failures', 0, 30000);
    expect(status.json?.error).toMatch(/3 songs in a row failed/);
  }, 90000);

  test('50 rapid skips: the room still plays, never more than 2 ffmpeg processes run, none is left after stop', async () => {
    // 50 at once is beyond the per-device rate limit (mqtt.commandBurst); this test is about decoders.
    const { daemon, app } = await setup({ mqtt: { commandBurst: 60 } });
    const l = await listen('audio-skips');
    await app.command('aabbccddeea5', { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: 'audio-skips' });
    await l.hearTone(POP, 'music before the skips');
    // Sampled every 10 ms through the storm: the current and the prefetched decoder, no more.
    const watch = watchProcesses(() => ffmpegChildren(daemon.pid));
    const replies = await Promise.all(Array.from({ length: 50 }, () => app.command('aabbccddeea5', { type: 'skip_music' })));
    expect(replies.every((r) => r.ok === true)).toBe(true);
    const mark = l.mark;
    await l.hearTone(POP, 'music after 50 skips', mark);
    await eventually(() => ffmpegChildren(daemon.pid).length <= 2, 'at most 2 ffmpeg processes');
    const { peak, seen } = watch.stop();
    expect(peak).toBeLessThanOrEqual(2);
    expect(daemon.proc.exitCode).toBeNull();

    await app.command('aabbccddeea5', { type: 'stop_continuous_music' });
    await eventually(() => ffmpegChildren(daemon.pid).length === 0, 'no ffmpeg after stop');
    expect([...seen].filter(running)).toEqual([]);
  }, 90000);

  test('a daemon shutdown ends every ffmpeg process it started', async () => {
    // Long songs: their decoders are still running (held back by the bounded read-ahead).
    const catalog = await toneCatalog('long', [
      { title: 'Long Low', language: 'Test', genres: ['long'], hz: 400, seconds: 30, format: 'mp3' },
      { title: 'Long High', language: 'Test', genres: ['long'], hz: 1000, seconds: 30, format: 'mp3' },
    ]);
    const { daemon, app } = await setup({ catalog: { location: catalog } });
    const l = await listen('audio-shutdown');
    await app.command('aabbccddeea6', { type: 'start_continuous_music', session_id: 'audio-shutdown' });
    await l.hearTone([400, 1000], 'music');
    const seen = ffmpegChildren(daemon.pid);
    expect(seen.length).toBeGreaterThan(0);
    expect(await daemon.stop()).toBe(0);
    expect(seen.filter(running)).toEqual([]);
  });
});
