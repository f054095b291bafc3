import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { hzOf, stackInfo } from '../support/stack';
import { CatalogServer } from './catalog-support';

interface Entry {
  title: string;
  language: string;
  aliases: string[];
  file: string;
}

const tracks = () => dirname(stackInfo().catalog);
const entries = (): Entry[] => (JSON.parse(readFileSync(stackInfo().catalog, 'utf8')) as { songs: Entry[] }).songs;

describe('catalog formats other than the manifest (real daemon, LiveKit and listener)', () => {
  const stops: Array<() => Promise<unknown>> = [];

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  async function setUp(catalog: Record<string, unknown>, room: string): Promise<{ daemon: Daemon; app: AppClient; l: Listener }> {
    const daemon = await Daemon.start({ catalog });
    stops.push(async () => expect(await daemon.stop()).toBe(0));
    const app = await AppClient.connect(daemon.baseTopic);
    stops.push(() => app.close());
    const l = await Listener.join(room);
    stops.push(() => l.stop());
    return { daemon, app, l };
  }

  test('the per-language metadata.json layout of the existing CDN catalogs, served over HTTP', async () => {
    // music/<Language>/metadata.json with {"Title": {"romanized", "filename", "alternatives"}}; the
    // files are named after their titles (spaces: the URL must be encoded as the CDN expects).
    const server = await CatalogServer.start();
    stops.push(() => server.stop());
    const byLanguage = new Map<string, Record<string, unknown>>();
    for (const e of entries()) {
      const filename = `${e.title}${extname(e.file)}`;
      const doc = byLanguage.get(e.language) ?? {};
      doc[e.title] = { romanized: e.title, filename, alternatives: e.aliases };
      byLanguage.set(e.language, doc);
      server.routes.set(`/cdn/music/${e.language}/${filename}`, { file: join(tracks(), e.file) });
    }
    for (const [lang, doc] of byLanguage) server.routes.set(`/cdn/music/${lang}/metadata.json`, { body: JSON.stringify(doc) });
    server.routes.set('/cdn/music/languages.json', { body: JSON.stringify([...byLanguage.keys()]) });

    const room = 'cat-layout';
    const device = 'aa:bb:cc:dd:ee:71';
    // No format and no languages configured: a URL that is not a .json file is the layout, and the
    // languages come from music/languages.json.
    const { daemon, app, l } = await setUp({ location: `${server.base}/cdn` }, room);
    expect(daemon.lines.items.find((x) => x.message === 'catalog loaded')).toMatchObject({ songs: 5 });

    // The layout has no genres: a genre falls back to the language, and the reply says so.
    const started = await app.command(device, { type: 'start_continuous_music', language: 'Hindi', genre: 'pop', session_id: room });
    expect(started).toMatchObject({ ok: true, message: expect.stringMatching(/no pop songs in Hindi; playing all Hindi songs/) });
    await l.hearTone([hzOf('Hindi Pop')], 'the Hindi song from the CDN layout');
    expect(server.requests).toContain('/cdn/music/Hindi/Hindi Pop.ogg');

    const mark = l.mark;
    expect(await app.command(device, { type: 'play_song', query: 'rock one', language: 'English' })).toMatchObject({ ok: true, message: 'Playing Rock One' });
    await l.hearTone([hzOf('Rock One')], 'a song from another language folder, by title', mark);
    await app.command(device, { type: 'stop_continuous_music' });
  }, 90000);

  test('a directory of audio files, described by their tags', async () => {
    const room = 'cat-directory';
    const device = 'aa:bb:cc:dd:ee:72';
    const { daemon, app, l } = await setUp({ location: tracks(), format: 'directory' }, room);
    expect(daemon.lines.items.find((x) => x.message === 'catalog loaded')).toMatchObject({ songs: 5 });

    // Language and genre come from the tags: only the one English rock song qualifies.
    const started = await app.command(device, { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: room });
    expect(started).toMatchObject({ ok: true, message: 'Started continuous music streaming (English, rock)' });
    await l.hearTone([hzOf('Rock One')], 'the rock song tagged in its file');
    expect((started.state as { song: { duration_ms: number } }).song.duration_ms).toBeGreaterThan(3900);

    const mark = l.mark;
    expect(await app.command(device, { type: 'play_song', query: 'hindi pop' })).toMatchObject({ ok: true, message: 'Playing Hindi Pop' });
    await l.hearTone([hzOf('Hindi Pop')], 'a song found by its title tag', mark);
    await app.command(device, { type: 'stop_continuous_music' });
  }, 90000);
});
