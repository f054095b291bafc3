import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ParsedCatalog } from '../../src/catalog/manifest';
import { CatalogStore, ManifestHttpSource, type CatalogSource } from '../../src/catalog/source';

const parsed = (...titles: string[]): ParsedCatalog => ({ songs: titles.map((t) => ({ id: t, title: t, aliases: [], language: 'English', genres: [], url: `/${t}` })), problems: [] });

/** Answers each load with the next queued result. */
class FakeSource implements CatalogSource {
  readonly location = 'fake';
  loads = 0;
  next: Array<ParsedCatalog | 'unchanged' | Error> = [];
  async load(): Promise<ParsedCatalog | 'unchanged'> {
    this.loads++;
    const n = this.next.shift();
    if (!n) throw new Error('nothing queued');
    if (n instanceof Error) throw n;
    return n;
  }
}

function setup() {
  const source = new FakeSource();
  const store = new CatalogStore(source, { refreshSeconds: 0 });
  const events: string[] = [];
  store.on('updated', (n, problems) => events.push(`updated ${n} ${problems.join(',')}`));
  store.on('refreshFailed', (e) => events.push(`failed ${e.message}`));
  const ids = (): string[] => store.current.all().map((s) => s.id);
  return { source, store, events, ids };
}

describe('CatalogStore', () => {
  test('the first load becomes the current catalog', async () => {
    const { source, store, events, ids } = setup();
    source.next.push({ ...parsed('a', 'b'), problems: ['songs[2]: not an object'] });
    await store.start();
    expect(ids()).toEqual(['a', 'b']);
    expect(events).toEqual(['updated 2 songs[2]: not an object']);
  });

  test('a failing, unchanged or empty refresh keeps the last good copy', async () => {
    const { source, store, events, ids } = setup();
    source.next.push(parsed('a', 'b'));
    await store.start();
    source.next.push(new Error('HTTP 500'), 'unchanged', parsed());
    await expect(store.refresh()).resolves.toBeUndefined();
    await store.refresh();
    await store.refresh();
    expect(ids()).toEqual(['a', 'b']);
    expect(events.slice(1)).toEqual(['failed HTTP 500', 'failed catalog fake has no usable songs']);

    source.next.push(parsed('c'));
    await store.refresh();
    expect(ids()).toEqual(['c']);
    expect(events.at(-1)).toBe('updated 1 ');
  });

  test('a first load that fails is a start-up error', async () => {
    const { source, store } = setup();
    source.next.push(new Error('no such file'));
    await expect(store.start()).rejects.toThrow('no such file');
  });

  test('refreshes on the interval until stopped', async () => {
    jest.useFakeTimers();
    try {
      const source = new FakeSource();
      const store = new CatalogStore(source, { refreshSeconds: 60 });
      source.next.push(parsed('a'), parsed('b'), parsed('c'));
      await store.start();
      await jest.advanceTimersByTimeAsync(60_000);
      expect(source.loads).toBe(2);
      expect(store.current.all().map((s) => s.id)).toEqual(['b']);
      store.stop();
      await jest.advanceTimersByTimeAsync(600_000);
      expect(source.loads).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('ManifestHttpSource', () => {
  let server: Server;
  let url: string;
  const state = { etag: '"v1"', status: 200, titles: ['T'] };
  const requests: Array<string | undefined> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.headers['if-none-match']);
      if (state.status !== 200) return void res.writeHead(state.status).end();
      if (req.headers['if-none-match'] === state.etag) return void res.writeHead(304).end();
      const songs = state.titles.map((title) => ({ title, language: 'English', file: `${title} b.mp3` }));
      res.writeHead(200, { etag: state.etag, 'content-type': 'application/json' }).end(JSON.stringify({ songs }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cat/catalog.json`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const titles = (r: ParsedCatalog | 'unchanged'): string[] | 'unchanged' => (r === 'unchanged' ? r : r.songs.map((s) => s.title));

  test('fetches, then asks with If-None-Match: 304 is "unchanged", a new ETag is a new copy', async () => {
    const source = new ManifestHttpSource(url);
    const first = await source.load();
    expect(first !== 'unchanged' && first.songs[0]?.url).toBe(url.replace('catalog.json', 'T%20b.mp3'));
    expect(await source.load()).toBe('unchanged');
    Object.assign(state, { etag: '"v2"', titles: ['U', 'V'] });
    expect(titles(await source.load())).toEqual(['U', 'V']);
    expect(await source.load()).toBe('unchanged');
    expect(requests).toEqual([undefined, '"v1"', '"v1"', '"v2"']);
  });

  test('an HTTP error throws with the status', async () => {
    state.status = 500;
    try {
      await expect(new ManifestHttpSource(url).load()).rejects.toThrow(/HTTP 500/);
    } finally {
      state.status = 200;
    }
  });
});
