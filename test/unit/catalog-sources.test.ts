import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectorySource, type Tags } from '../../src/catalog/directory-source';
import type { ParsedCatalog } from '../../src/catalog/manifest';
import { MetadataLayoutSource } from '../../src/catalog/metadata-layout';
import { createSource, detectFormat, ManifestFileSource, ManifestHttpSource } from '../../src/catalog/source';

const loaded = (r: ParsedCatalog | 'unchanged'): ParsedCatalog => {
  if (r === 'unchanged') throw new Error('expected a new copy');
  return r;
};

describe('DirectorySource: a folder of audio files', () => {
  let dir: string;
  /** Tags the fake reader returns, by file name; a missing name has no tags, an Error cannot be read. */
  const tags: Record<string, Tags | Error> = {};
  const reads: string[] = [];
  const readTags = async (path: string): Promise<Tags> => {
    const name = path.slice(dir.length + 1);
    reads.push(name);
    const t = tags[name];
    if (t instanceof Error) throw t;
    return t ?? {};
  };
  const touch = (rel: string, body = 'x') => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), body);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-dir-'));
    reads.length = 0;
    for (const k of Object.keys(tags)) delete tags[k];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('tags give title, language, genres and duration; folders and file names fill the gaps', async () => {
    touch('tagged.mp3');
    touch('Hindi/chanda-mama.ogg');
    touch('music/Spanish/Los Pollitos.flac');
    touch('notes.txt');
    touch('.hidden/secret.mp3');
    tags['tagged.mp3'] = { title: 'Baby Shark Dance', language: 'English', genres: ['kids', 'pop'], durationMs: 95123.4 };
    tags['Hindi/chanda-mama.ogg'] = { title: 'Chanda Mama' };
    const r = loaded(await new DirectorySource(dir, { readTags }).load());
    expect(r.problems).toEqual([]);
    expect(r.songs).toEqual([
      { id: 'hindi/chanda-mama', title: 'Chanda Mama', aliases: ['chanda-mama'], language: 'Hindi', genres: [], url: join(dir, 'Hindi/chanda-mama.ogg') },
      { id: 'spanish/los-pollitos', title: 'Los Pollitos', aliases: [], language: 'Spanish', genres: [], url: join(dir, 'music/Spanish/Los Pollitos.flac') },
      { id: 'english/baby-shark-dance', title: 'Baby Shark Dance', aliases: ['tagged'], language: 'English', genres: ['kids', 'pop'], url: join(dir, 'tagged.mp3'), durationMs: 95123 },
    ]);
  });

  test('a file without a language is reported and skipped, unless there is a default language', async () => {
    touch('loose.mp3');
    touch('English/fine.mp3');
    const strict = loaded(await new DirectorySource(dir, { readTags }).load());
    expect(strict.songs.map((s) => s.title)).toEqual(['fine']);
    expect(strict.problems).toEqual([expect.stringMatching(/^loose\.mp3: no language/)]);
    const lenient = loaded(await new DirectorySource(dir, { readTags, defaultLanguage: 'English' }).load());
    expect(lenient.songs.map((s) => `${s.language}:${s.title}`)).toEqual(['English:fine', 'English:loose']);
  });

  test('unreadable tags are reported and skipped; the same title twice gets distinct ids', async () => {
    touch('English/a.mp3');
    touch('English/b.mp3');
    touch('English/broken.mp3');
    tags['English/a.mp3'] = { title: 'Same' };
    tags['English/b.mp3'] = { title: 'Same' };
    tags['English/broken.mp3'] = new Error('not an audio file');
    const r = loaded(await new DirectorySource(dir, { readTags }).load());
    expect(r.songs.map((s) => s.id)).toEqual(['english/same', 'english/same-2']);
    expect(r.problems).toEqual(['English/broken.mp3: tags unreadable: not an audio file']);
  });

  test('a refresh reads only changed files and is "unchanged" when nothing changed', async () => {
    touch('English/a.mp3');
    touch('English/b.mp3');
    const src = new DirectorySource(dir, { readTags });
    loaded(await src.load());
    expect(reads.sort()).toEqual(['English/a.mp3', 'English/b.mp3']);
    reads.length = 0;
    expect(await src.load()).toBe('unchanged');
    expect(reads).toEqual([]);

    touch('English/b.mp3', 'longer now');
    utimesSync(join(dir, 'English/b.mp3'), new Date(), new Date(Date.now() + 5000));
    touch('English/c.mp3');
    const r = loaded(await src.load());
    expect(r.songs.map((s) => s.title)).toEqual(['a', 'b', 'c']);
    expect(reads.sort()).toEqual(['English/b.mp3', 'English/c.mp3']);
  });

  test('a missing directory fails the load', async () => {
    await expect(new DirectorySource(join(dir, 'nope'), { readTags }).load()).rejects.toThrow(/ENOENT/);
  });
});

describe('createSource: the format from the configuration, or detected', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-detect-'));
    writeFileSync(join(dir, 'catalog.json'), '{"songs":[]}');
    mkdirSync(join(dir, 'layout', 'music', 'English'), { recursive: true });
    mkdirSync(join(dir, 'files'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('auto', () => {
    expect(detectFormat('https://cdn.example.com/catalog.json')).toBe('manifest');
    expect(detectFormat('https://cdn.example.com/catalog.JSON?v=2')).toBe('manifest');
    expect(detectFormat('https://cdn.example.com')).toBe('metadata');
    expect(detectFormat('https://cdn.example.com/assets/')).toBe('metadata');
    expect(detectFormat(join(dir, 'catalog.json'))).toBe('manifest');
    expect(detectFormat(join(dir, 'missing.json'))).toBe('manifest');
    expect(detectFormat(join(dir, 'layout'))).toBe('metadata');
    expect(detectFormat(join(dir, 'files'))).toBe('directory');
  });

  test('the source for each format', () => {
    expect(createSource('https://x.example/c.json')).toBeInstanceOf(ManifestHttpSource);
    expect(createSource(join(dir, 'catalog.json'))).toBeInstanceOf(ManifestFileSource);
    expect(createSource('https://cdn.example.com', { languages: ['English'] })).toBeInstanceOf(MetadataLayoutSource);
    expect(createSource(join(dir, 'files'))).toBeInstanceOf(DirectorySource);
    // An explicit format wins over the guess.
    expect(createSource('https://cdn.example.com/index', { format: 'manifest' })).toBeInstanceOf(ManifestHttpSource);
    expect(createSource(join(dir, 'layout'), { format: 'directory' })).toBeInstanceOf(DirectorySource);
    expect(createSource(join(dir, 'files'), { format: 'metadata' })).toBeInstanceOf(MetadataLayoutSource);
  });
});
