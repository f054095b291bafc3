import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { hzOf, stackInfo } from '../support/stack';
import { CatalogServer } from './catalog-support';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];
const REFRESH_FAILED = 'catalog refresh failed; keeping the last good copy';

/**
 * The daemon plays from a manifest served over HTTP (the test tones, `file` relative to the
 * manifest URL, so the songs are fetched over HTTP too), refreshed every second.
 */
describe('catalog over HTTP (real daemon, LiveKit and listener)', () => {
  let server: CatalogServer;
  let daemon: Daemon;
  let app: AppClient;
  const listeners: Listener[] = [];
  const manifest = readFileSync(stackInfo().catalog, 'utf8');

  beforeAll(async () => {
    server = await CatalogServer.start();
    server.routes.set('/cat/catalog.json', { body: manifest });
    const tracks = dirname(stackInfo().catalog);
    for (const song of (JSON.parse(manifest) as { songs: { file: string }[] }).songs) server.routes.set(`/cat/${song.file}`, { file: join(tracks, song.file) });
    daemon = await Daemon.start({ catalog: { location: server.url('/cat/catalog.json'), refreshSeconds: 1 } });
    app = await AppClient.connect(daemon.baseTopic);
  });

  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.stop()));
    await app?.close();
    if (daemon) expect(await daemon.stop()).toBe(0);
    await server?.stop();
  });

  async function listen(room: string): Promise<Listener> {
    const l = await Listener.join(room);
    listeners.push(l);
    return l;
  }

  test('plays songs listed by an HTTP manifest and fetched over HTTP', async () => {
    expect(daemon.lines.items.find((l) => l.message === 'catalog loaded')).toMatchObject({ songs: 5 });
    const room = 'cat-http-play';
    const l = await listen(room);
    const started = await app.command('aa:bb:cc:dd:ee:61', { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    expect(started).toMatchObject({ ok: true });
    await l.hearTone(POP, 'a pop song from the HTTP catalog');
    expect(server.requests.some((p) => p.startsWith('/cat/') && p.endsWith('.mp3'))).toBe(true);
    await app.command('aa:bb:cc:dd:ee:61', { type: 'stop_continuous_music' });
  });

  test('play_song plays the matching song, then the playlist carries on', async () => {
    const device = 'aa:bb:cc:dd:ee:62';
    const room = 'cat-http-play-song';
    const l = await listen(room);
    await app.command(device, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    await l.hearTone(POP, 'the playlist');

    let mark = l.mark;
    // Loose spelling and case: still "Rock One".
    const reply = await app.command(device, { type: 'play_song', query: 'ROCK  one!', language: 'English' });
    expect(reply).toMatchObject({ ok: true, message: 'Playing Rock One', state: { state: 'playing', song: { title: 'Rock One' } } });
    await l.hearTone([hzOf('Rock One')], 'the requested song', mark);

    // Rock One (4 s) ends and the pop playlist continues: not rock again.
    mark = l.mark;
    await l.hearTone(POP, 'back to the pop playlist after the requested song', mark, 15000);
    await app.status(device, (s) => (s.song as { title?: string } | null)?.title !== 'Rock One' && s.state === 'playing', 'status shows a playlist song again', 0);

    // An alias finds its song; nonsense is refused and the music goes on.
    mark = l.mark;
    expect(await app.command(device, { type: 'play_song', query: 'first pop' })).toMatchObject({ ok: true, message: 'Playing Pop One' });
    await l.hearTone([hzOf('Pop One')], 'the song found by its alias', mark);
    expect(await app.command(device, { type: 'play_song', query: 'qqqq zzzz' })).toMatchObject({ ok: false, error: 'no_match' });
    await app.command(device, { type: 'stop_continuous_music' });
  }, 60000);

  test('a refresh that fails (HTTP 500, then invalid JSON) keeps the last good copy: music goes on', async () => {
    const device = 'aa:bb:cc:dd:ee:63';
    const room = 'cat-http-refresh';
    const l = await listen(room);
    await app.command(device, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    await l.hearTone(POP, 'music before the catalog breaks');

    for (const broken of [{ status: 500 }, { body: '{"songs": [ not json' }] as const) {
      const from = daemon.lines.items.length;
      server.routes.set('/cat/catalog.json', broken);
      const line = await daemon.lines.next((x) => x.message === REFRESH_FAILED, `"${REFRESH_FAILED}" for ${JSON.stringify(broken)}`, 10000, from);
      expect(String(line.error)).toMatch('status' in broken ? /HTTP 500/ : /not valid JSON/);
      const mark = l.mark;
      await l.hearTone(POP, 'music still playing after the failed refresh', mark);
      // The catalog is still whole: a new room starts and songs are found.
      expect(await app.command(device, { type: 'play_song', query: 'rock one' })).toMatchObject({ ok: true, message: 'Playing Rock One' });
      await l.hearTone([hzOf('Rock One')], 'a song from the kept catalog', mark);
    }

    // Fixed again (a new ETag): the next refresh loads it, and no session ended meanwhile.
    const from = daemon.lines.items.length;
    server.routes.set('/cat/catalog.json', { body: `${manifest}\n` });
    await daemon.lines.next((x) => x.message === 'catalog loaded', 'the catalog loaded again', 10000, from);
    expect(daemon.lines.items.filter((x) => x.device === 'aabbccddee63' && x.message === 'session ended')).toEqual([]);
    await app.command(device, { type: 'stop_continuous_music' });
  }, 60000);
});
