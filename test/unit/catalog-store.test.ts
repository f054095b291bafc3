import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ParsedCatalog } from '../../src/catalog/manifest';
import { CatalogStore, ManifestHttpSource, type CatalogSource } from '../../src/catalog/source';

const parsed = (...titles: string[]): ParsedCatalog => ({ songs: titles.map((t) => ({ id: t, title: t, aliases: [], language: 'English', genres: [], url: `/${t}` })), problems: [] });

class FakeSource implements CatalogSource {
  readonly location = 'fake';
  next: Array<ParsedCatalog | 'unchanged' | Error> = [];
  async load(): Promise<ParsedCatalog | 'unchanged'> {
    const n = this.next.shift();
    if (!n) throw new Error('nothing queued');
    if (n instanceof Error) throw n;
    return n;
  }
}

describe('CatalogStore', () => {
  test('keeps the last good copy when a refresh fails, is unchanged or empty', async () => {
    const source = new FakeSource();
    const store = new CatalogStore(source, { refreshSeconds: 0 });
    const failures: string[] = [];
    store.on('refreshFailed', (e) => failures.push(e.message));
    source.next.push(parsed('a', 'b'));
    await store.start();
    expect(store.current.all().map((s) => s.id)).toEqual(['a', 'b']);

    source.next.push(new Error('HTTP 500'), 'unchanged', parsed());
    await store.refresh();
    await store.refresh();
    await store.refresh();
    expect(store.current.all().map((s) => s.id)).toEqual(['a', 'b']);
    expect(failures).toEqual(['HTTP 500', 'catalog fake has no usable songs']);

    source.next.push(parsed('c'));
    await store.refresh();
    expect(store.current.all().map((s) => s.id)).toEqual(['c']);
  });

  test('a first load that fails is a start-up error', async () => {
    const source = new FakeSource();
    source.next.push(new Error('no such file'));
    await expect(new CatalogStore(source, { refreshSeconds: 0 }).start()).rejects.toThrow('no such file');
  });
});

describe('ManifestHttpSource', () => {
  let server: Server;
  let url: string;
  let requests: Array<string | undefined> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.headers['if-none-match']);
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'content-type': 'application/json' }).end(JSON.stringify({ songs: [{ title: 'T', language: 'English', file: 'a b.mp3' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cat/catalog.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('fetches once, then asks conditionally and gets "unchanged"', async () => {
    requests = [];
    const source = new ManifestHttpSource(url);
    const first = await source.load();
    expect(first).not.toBe('unchanged');
    expect((first as ParsedCatalog).songs[0]?.url).toBe(url.replace('catalog.json', 'a%20b.mp3'));
    expect(await source.load()).toBe('unchanged');
    expect(requests).toEqual([undefined, '"v1"']);
  });
});
