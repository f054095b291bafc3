import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataLayoutSource, mediaUrl, parseLanguageIndex, parseLanguageMetadata, quotePath } from '../../src/catalog/metadata-layout';
import type { ParsedCatalog } from '../../src/catalog/manifest';
import { CatalogStore } from '../../src/catalog/source';

const CDN = 'https://cdn.example.com';

/** A metadata.json as the existing deployments have them. */
const HINDI = {
  'Chanda Mama Door Ke': { romanized: 'Chanda Mama Door Ke', filename: 'Chanda Mama Door Ke.mp3', alternatives: ['chanda mama', 'moon song'] },
  'लकड़ी की काठी': { romanized: 'Lakdi Ki Kathi', filename: "Lakdi Ki Kathi (Kids' Version).mp3", alternatives: [] },
};
const ENGLISH = {
  'Baby Shark Dance': { romanized: 'Baby Shark Dance', filename: 'Baby Shark Dance.mp3', alternatives: ['baby shark', 'shark song'] },
  'Wheels on the Bus': { filename: 'wheels&bus #1.mp3', genre: 'kids', duration_ms: 95000 },
};

const loaded = (r: ParsedCatalog | 'unchanged'): ParsedCatalog => {
  if (r === 'unchanged') throw new Error('expected a new copy');
  return r;
};

describe('parseLanguageMetadata: the per-language metadata.json', () => {
  test('title, romanized name and alternatives as aliases, language from the folder, URL from the CDN base', () => {
    const { songs, problems } = parseLanguageMetadata(HINDI, 'Hindi', CDN);
    expect(problems).toEqual([]);
    expect(songs).toEqual([
      {
        id: 'hindi/chanda-mama-door-ke',
        title: 'Chanda Mama Door Ke',
        aliases: ['chanda mama', 'moon song'], // the romanized name equals the title: not repeated
        language: 'Hindi',
        genres: [],
        url: 'https://cdn.example.com/music/Hindi/Chanda%20Mama%20Door%20Ke.mp3',
      },
      {
        id: expect.stringMatching(/^hindi\//),
        title: 'लकड़ी की काठी',
        aliases: ['Lakdi Ki Kathi'],
        language: 'Hindi',
        genres: [],
        url: 'https://cdn.example.com/music/Hindi/Lakdi%20Ki%20Kathi%20%28Kids%27%20Version%29.mp3',
      },
    ]);
  });

  test('optional genre and duration', () => {
    const wheels = parseLanguageMetadata(ENGLISH, 'English', CDN).songs.find((s) => s.title === 'Wheels on the Bus');
    expect(wheels).toMatchObject({ genres: ['kids'], durationMs: 95000, url: 'https://cdn.example.com/music/English/wheels%26bus%20%231.mp3' });
  });

  test('a bad entry is reported and skipped; the others load', () => {
    const doc = {
      Good: { filename: 'good.mp3' },
      'No File': { romanized: 'x' },
      'Not An Object': 'oops',
      'Bad Alternatives': { filename: 'a.mp3', alternatives: 'one' },
      'Bad Duration': { filename: 'b.mp3', duration_ms: -1 },
      '  ': { filename: 'blank.mp3' },
    };
    const { songs, problems } = parseLanguageMetadata(doc, 'English', CDN);
    expect(songs.map((s) => s.title)).toEqual(['Good']);
    expect(problems).toEqual([
      'music/English/metadata.json: "No File": "filename" must be a non-empty string',
      'music/English/metadata.json: "Not An Object": not an object',
      'music/English/metadata.json: "Bad Alternatives": "alternatives" must be a list of strings',
      'music/English/metadata.json: "Bad Duration": "duration_ms" must be a positive number',
      'music/English/metadata.json: "  ": empty title',
    ]);
  });

  test('a document that is not an object of songs is an error', () => {
    expect(() => parseLanguageMetadata([1, 2], 'English', CDN)).toThrow(/not an object/);
  });

  test('URLs are encoded like urllib.parse.quote (what the CDN already serves) and the base may have a path', () => {
    expect(quotePath("music/Español/Canción (¡sí!) *1* ~a_b-c.mp3")).toBe('music/Espa%C3%B1ol/Canci%C3%B3n%20%28%C2%A1s%C3%AD%21%29%20%2A1%2A%20~a_b-c.mp3');
    expect(mediaUrl('https://cdn.example.com/assets/', 'English', 'a b.mp3')).toBe('https://cdn.example.com/assets/music/English/a%20b.mp3');
    expect(mediaUrl('/srv/catalog', 'English', 'a b.mp3')).toBe('/srv/catalog/music/English/a b.mp3');
  });

  test('the language index', () => {
    expect(parseLanguageIndex(['English', 'Hindi'])).toEqual(['English', 'Hindi']);
    expect(parseLanguageIndex({ languages: ['English', ' Hindi ', 'English'] })).toEqual(['English', 'Hindi']);
    expect(() => parseLanguageIndex({ langs: [] })).toThrow(/list of language folder names/);
    expect(() => parseLanguageIndex(['../etc'])).toThrow();
  });
});

describe('MetadataLayoutSource over HTTP', () => {
  let server: Server;
  let base: string;
  const files = new Map<string, { body: string; etag: string }>();
  const requests: { url: string; inm?: string }[] = [];
  let fail: ((req: IncomingMessage) => number | undefined) | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url!, inm: req.headers['if-none-match'] });
      const status = fail?.(req);
      if (status) {
        res.writeHead(status).end('broken');
        return;
      }
      const f = files.get(decodeURIComponent(req.url!));
      if (!f) return void res.writeHead(404).end();
      if (req.headers['if-none-match'] === f.etag) return void res.writeHead(304).end();
      res.writeHead(200, { 'content-type': 'application/json', etag: f.etag }).end(f.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/catalog`;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  beforeEach(() => {
    files.clear();
    requests.length = 0;
    fail = undefined;
    files.set('/catalog/music/English/metadata.json', { body: JSON.stringify(ENGLISH), etag: '"e1"' });
    files.set('/catalog/music/Hindi/metadata.json', { body: JSON.stringify(HINDI), etag: '"h1"' });
  });

  test('configured languages; song URLs on the media base; a refresh asks conditionally and is "unchanged"', async () => {
    const src = new MetadataLayoutSource({ location: base, languages: ['English', 'Hindi'], mediaBaseUrl: CDN });
    const first = loaded(await src.load());
    expect(first.songs.map((s) => `${s.language}:${s.title}`)).toEqual(['English:Baby Shark Dance', 'English:Wheels on the Bus', 'Hindi:Chanda Mama Door Ke', 'Hindi:लकड़ी की काठी']);
    expect(first.songs[0]!.url).toBe('https://cdn.example.com/music/English/Baby%20Shark%20Dance.mp3');
    expect(await src.load()).toBe('unchanged');
    expect(requests.slice(2).map((r) => r.inm).sort()).toEqual(['"e1"', '"h1"']);

    files.set('/catalog/music/Hindi/metadata.json', { body: JSON.stringify({ 'Nani Teri Morni': { filename: 'nani.mp3' } }), etag: '"h2"' });
    const third = loaded(await src.load());
    expect(third.songs.map((s) => s.title)).toEqual(['Baby Shark Dance', 'Wheels on the Bus', 'Nani Teri Morni']);
  });

  test('without a media base, song URLs are on the location', async () => {
    const src = new MetadataLayoutSource({ location: base, languages: ['English'] });
    expect(loaded(await src.load()).songs[0]!.url).toBe(`${base}/music/English/Baby%20Shark%20Dance.mp3`);
  });

  test('languages discovered from music/languages.json', async () => {
    files.set('/catalog/music/languages.json', { body: JSON.stringify({ languages: ['Hindi'] }), etag: '"l"' });
    const src = new MetadataLayoutSource({ location: base });
    expect(loaded(await src.load()).songs.map((s) => s.language)).toEqual(['Hindi', 'Hindi']);
  });

  test('no languages configured and no index: a clear error', async () => {
    await expect(new MetadataLayoutSource({ location: base }).load()).rejects.toThrow(/music\/languages\.json.*catalog\.languages/);
  });

  test('a missing language is reported and skipped; the others load', async () => {
    const r = loaded(await new MetadataLayoutSource({ location: base, languages: ['English', 'Klingon'] }).load());
    expect(r.songs).toHaveLength(2);
    expect(r.problems).toEqual(['music/Klingon/metadata.json: HTTP 404; language skipped']);
  });

  test('a language that breaks on refresh keeps its last good copy; all broken is a failed refresh', async () => {
    const src = new MetadataLayoutSource({ location: base, languages: ['English', 'Hindi'] });
    loaded(await src.load());
    files.set('/catalog/music/Hindi/metadata.json', { body: '{not json', etag: '"h3"' });
    const partial = loaded(await src.load());
    expect(partial.songs).toHaveLength(4);
    expect(partial.problems).toEqual([expect.stringMatching(/^music\/Hindi\/metadata\.json: the file is not valid JSON.*keeping the last good copy$/)]);

    fail = () => 500;
    await expect(src.load()).rejects.toThrow(/no language could be loaded.*HTTP 500/);
  });

  test('in a CatalogStore: a failed refresh keeps the songs', async () => {
    const store = new CatalogStore(new MetadataLayoutSource({ location: base, languages: ['English', 'Hindi'] }), { refreshSeconds: 0 });
    const failures: Error[] = [];
    store.on('refreshFailed', (e) => failures.push(e));
    await store.start();
    fail = () => 503;
    await store.refresh();
    expect(failures).toHaveLength(1);
    expect(store.current.all()).toHaveLength(4);
    expect(store.current.search('shark song')[0]?.title).toBe('Baby Shark Dance');
    expect(store.current.search('lakdi ki kathi')[0]?.title).toBe('लकड़ी की काठी');
  });
});

describe('MetadataLayoutSource on a local directory', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-layout-'));
    for (const [lang, doc] of [['English', ENGLISH], ['Hindi', HINDI]] as const) {
      mkdirSync(join(dir, 'music', lang), { recursive: true });
      writeFileSync(join(dir, 'music', lang, 'metadata.json'), JSON.stringify(doc));
    }
    mkdirSync(join(dir, 'music', 'Empty')); // a folder without metadata.json is not a language
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('languages are the folders of music/ that have a metadata.json; URLs are file paths', async () => {
    const r = loaded(await new MetadataLayoutSource({ location: dir }).load());
    expect([...new Set(r.songs.map((s) => s.language))]).toEqual(['English', 'Hindi']);
    expect(r.songs[0]!.url).toBe(join(dir, 'music', 'English', 'Baby Shark Dance.mp3'));
  });

  test('a CDN media base with a local metadata copy', async () => {
    const r = loaded(await new MetadataLayoutSource({ location: dir, languages: ['Hindi'], mediaBaseUrl: CDN }).load());
    expect(r.songs[0]!.url).toBe('https://cdn.example.com/music/Hindi/Chanda%20Mama%20Door%20Ke.mp3');
  });
});
