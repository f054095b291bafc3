import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LogLine } from '../support/daemon';
import { AppClient } from '../support/mqtt-client';
import { testScope } from '../support/scope';
import { cmdlineOf, ffmpegChildren, toneCatalog, watchProcesses } from './audio-support';

const GOOD = 600;
const SECRET = 'SECRETTOKEN';
const songFailed = (id: string) => (l: LogLine) => l.message === 'song failed; playing the next one' && l.song === id;

/** What ffmpeg may open, and what of a song URL may leave the process. */
describe('song sources: signed URLs and local files (real daemon, LiveKit and listener)', () => {
  const { daemon: startDaemon, listen, defer } = testScope();

  /** A manifest in a fresh directory: one good local song and the extra entries given. */
  async function catalogWith(name: string, extra: Array<Record<string, unknown>>): Promise<string> {
    const manifest = await toneCatalog(name, [{ title: 'Good', language: 'Test', genres: ['x'], hz: GOOD, seconds: 30, format: 'mp3' }]);
    const catalog = JSON.parse(readFileSync(manifest, 'utf8')) as { songs: Array<Record<string, unknown>> };
    catalog.songs.push(...extra);
    writeFileSync(manifest, JSON.stringify(catalog));
    return manifest;
  }

  test('a signed URL that 404s is reported as "http 404" and its token appears nowhere: logs, MQTT (retained or not), room data, replies', async () => {
    const server: Server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such object (${SECRET})`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const signed = `http://127.0.0.1:${(server.address() as AddressInfo).port}/song.mp3?X-Amz-Signature=${SECRET}&X-Amz-Credential=${SECRET}`;
    const manifest = await catalogWith('signed', [{ title: 'Signed Song', language: 'Test', genres: ['x'], url: signed }]);
    const { daemon, app } = await startDaemon({ catalog: { location: manifest } });
    // Everything the daemon prints from now on, raw (not only the JSON lines the tests parse).
    let raw = '';
    daemon.proc.stdout!.on('data', (d: Buffer) => (raw += d.toString()));
    daemon.proc.stderr!.on('data', (d: Buffer) => (raw += d.toString()));
    const l = await listen('song-signed');
    const device = 'aabbccddee81';

    const replies = [await app.command(device, { type: 'start_continuous_music', session_id: 'song-signed' })];
    await l.hearTone([GOOD], 'a song plays');
    // Ask for the signed song by name: it fails, is reported, and the playlist goes on.
    const mark = l.mark;
    replies.push(await app.command(device, { type: 'play_song', query: 'signed song' }));
    expect(replies[1]).toMatchObject({ ok: true, message: 'Playing Signed Song' });
    const failure = await daemon.lines.next(songFailed('test/signed-song'), 'the signed song fails', 20000);
    expect(failure).toMatchObject({ error: 'http 404', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/song\.mp3$/) });
    expect(await l.data('music_control', 'music_song_failed', mark)).toMatchObject({ song_id: 'test/signed-song', error: 'http 404' });
    const status = await app.status(device, (s) => (s.last_failure as { id?: string } | null)?.id === 'test/signed-song', 'status names the failure');
    expect(status.json?.last_failure).toMatchObject({ error: 'http 404' });
    await l.hearTone([GOOD], 'the playlist goes on', l.mark, 20000);
    replies.push(await app.command(device, { type: 'get_status' }));

    // Retained topics, as a new subscriber gets them.
    const late = await AppClient.connect(daemon.baseTopic);
    defer(() => late.close());
    await late.messages.until((ms) => ms.some((m) => m.retain && m.topic.endsWith('/status') && String(m.text).includes('http 404')), 'retained status with the failure', 10000);
    // bridge/info names the ffmpeg in use (probed at start-up), as the start-up log does.
    const probed = daemon.lines.items.find((x) => x.message === 'ffmpeg');
    expect(probed).toMatchObject({ version: expect.stringMatching(/^\S+$/) });
    expect(probed!.version).not.toBe('unknown');
    const info = late.messages.items.find((m) => m.topic === `${daemon.baseTopic}/bridge/info`);
    expect(info?.json).toMatchObject({ ffmpeg: probed!.version });
    replies.push(await app.command(device, { type: 'stop_continuous_music' }));
    expect(await daemon.stop()).toBe(0);

    const everything = [
      raw,
      daemon.stderrTail,
      JSON.stringify(daemon.lines.items),
      ...app.messages.items.map((m) => `${m.topic} ${m.text}`),
      ...late.messages.items.map((m) => `${m.topic} ${m.text}`),
      JSON.stringify(l.lines.items),
      JSON.stringify(replies),
    ];
    expect(raw.length).toBeGreaterThan(0);
    expect(late.messages.items.filter((m) => m.retain).length).toBeGreaterThan(0);
    for (const text of everything) expect(text).not.toContain(SECRET);
    expect(everything.join('\n')).not.toMatch(/X-Amz/);
  }, 90000);

  test('a catalog entry file:///etc/passwd is refused before ffmpeg runs ("outside media root") and the next song plays', async () => {
    const manifest = await catalogWith('refused', [
      { title: 'Passwd', language: 'Test', genres: ['x'], url: 'file:///etc/passwd' },
      { title: 'Dotdot', language: 'Test', genres: ['x'], url: '../../../../../../etc/hosts' },
    ]);
    // Two refused songs of three, plus the ones play_song adds: a shuffle can line up 5 in a row.
    const { daemon, app } = await startDaemon({ catalog: { location: manifest }, audio: { maxFailuresInRow: 10 } });
    const l = await listen('song-passwd');
    const device = 'aabbccddee82';
    // No ffmpeg ever gets an input outside the media root (sampled through the whole test).
    // Every ffmpeg the daemon runs has the whitelist for its input, and none gets an input outside the
    // media root (sampled every 10 ms through the whole test).
    const cmdlines = new Map<number, string>();
    const outside = watchProcesses(() =>
      ffmpegChildren(daemon.pid).filter((pid) => {
        const argv = cmdlineOf(pid);
        if (argv.includes('\0-i\0')) cmdlines.set(pid, argv); // decoders, not the start-up version probe
        return /\/etc\/(passwd|hosts)/.test(argv);
      }),
    );
    defer(() => outside.stop());
    await app.command(device, { type: 'start_continuous_music', session_id: 'song-passwd' });
    await l.hearTone([GOOD], 'the good song');
    for (const [query, id] of [
      ['passwd', 'test/passwd'],
      ['dotdot', 'test/dotdot'],
    ] as const) {
      const mark = l.mark;
      expect(await app.command(device, { type: 'play_song', query })).toMatchObject({ ok: true });
      expect(await daemon.lines.next(songFailed(id), `${id} refused`, 20000)).toMatchObject({ error: 'outside media root' });
      expect(await l.data('music_control', 'music_song_failed', mark)).toMatchObject({ song_id: id, error: 'outside media root' });
      await l.hearTone([GOOD], 'the next song plays', l.mark, 20000);
    }
    expect(outside.stop().seen.size).toBe(0);
    expect(cmdlines.size).toBeGreaterThan(0);
    for (const argv of cmdlines.values()) expect(argv.split('\0')).toEqual(expect.arrayContaining(['-protocol_whitelist', 'file', expect.stringMatching(/^file:\/.*good-600hz\.mp3$/)]));
    await app.command(device, { type: 'stop_continuous_music' });
  }, 90000);
});
