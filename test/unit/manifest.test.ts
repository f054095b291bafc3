import { parseManifest } from '../../src/catalog/manifest';

describe('parseManifest', () => {
  test('entries with file relative to a local manifest, url, genre or genres', () => {
    const { songs, problems } = parseManifest(
      {
        songs: [
          { title: 'Morning Pop', language: 'English', genres: ['pop'], file: 'tracks/morning.mp3', aliases: ['morning song'], duration_ms: 30000 },
          { title: 'Remote', language: 'Hindi', genre: 'pop', url: 'https://cdn.example.com/a.mp3', id: 'custom-id' },
        ],
      },
      '/srv/music/catalog.json',
    );
    expect(problems).toEqual([]);
    expect(songs).toEqual([
      { id: 'english/morning-pop', title: 'Morning Pop', aliases: ['morning song'], language: 'English', genres: ['pop'], url: '/srv/music/tracks/morning.mp3', durationMs: 30000 },
      { id: 'custom-id', title: 'Remote', aliases: [], language: 'Hindi', genres: ['pop'], url: 'https://cdn.example.com/a.mp3' },
    ]);
  });

  test('file beside an http manifest becomes a URL-encoded URL', () => {
    const { songs } = parseManifest({ songs: [{ title: 'Baby Shark', language: 'English', file: 'music/English/Baby Shark Dance.mp3' }] }, 'https://cdn.example.com/catalog/index.json');
    expect(songs[0]?.url).toBe('https://cdn.example.com/catalog/music/English/Baby%20Shark%20Dance.mp3');
    // Characters that mean something in a URL are encoded per path segment; "/" stays a separator.
    const odd = parseManifest({ songs: [{ title: 'Odd', language: 'Español', file: 'canción #1?.mp3' }] }, 'http://h:8080/a/index.json');
    expect(odd.songs[0]).toMatchObject({ id: 'espanol/odd', url: 'http://h:8080/a/canci%C3%B3n%20%231%3F.mp3' });
  });

  test('absolute paths and URLs in file are kept as they are', () => {
    const { songs } = parseManifest(
      { songs: [{ title: 'A', language: 'x', file: '/abs/a.mp3' }, { title: 'B', language: 'x', file: 'https://other.example/b.mp3' }] },
      'https://cdn.example.com/catalog.json',
    );
    expect(songs.map((s) => s.url)).toEqual(['/abs/a.mp3', 'https://other.example/b.mp3']);
  });

  test('genres wins over genre; missing both is no genre', () => {
    const { songs } = parseManifest(
      { songs: [{ title: 'A', language: 'x', url: 'a', genre: 'rock', genres: [' pop ', ''] }, { title: 'B', language: 'x', url: 'b' }] },
      '/c.json',
    );
    expect(songs.map((s) => s.genres)).toEqual([['pop'], []]);
  });

  test('bad entries are reported and skipped; the rest load', () => {
    const { songs, problems } = parseManifest(
      {
        songs: [
          { title: 'Good', language: 'English', file: 'g.mp3' },
          'not an object',
          { language: 'English', file: 'x.mp3' },
          { title: 'No source', language: 'English' },
          { title: 'Bad genres', language: 'English', file: 'x.mp3', genres: 'pop' },
          { title: 'Bad duration', language: 'English', file: 'x.mp3', duration_ms: -1 },
          { title: 'Good', language: 'English', file: 'dup.mp3' },
        ],
      },
      '/c/catalog.json',
    );
    expect(songs.map((s) => s.title)).toEqual(['Good']);
    expect(problems).toEqual([
      'songs[1]: not an object',
      'songs[2]: "title" must be a non-empty string',
      'songs[3]: needs "url" or "file"',
      'songs[4]: "genres" must be a list of strings',
      'songs[5]: "duration_ms" must be a positive number',
      'songs[6]: duplicate id "english/good"',
    ]);
  });

  test('loudness_lufs is read when it is a sane number; anything else refuses the entry', () => {
    const { songs, problems } = parseManifest(
      {
        songs: [
          { title: 'Measured', language: 'English', file: 'm.mp3', loudness_lufs: -14.2 },
          ...['-14', null, 5, -71, 1e309, { lufs: -14 }].map((loudness_lufs, i) => ({ title: `Bad ${i}`, language: 'English', file: 'x.mp3', loudness_lufs })),
        ],
      },
      '/c/catalog.json',
    );
    expect(songs).toEqual([expect.objectContaining({ title: 'Measured', loudnessLufs: -14.2 })]);
    expect(problems).toHaveLength(6);
    for (const p of problems) expect(p).toMatch(/"loudness_lufs" must be a number from -70 to 0/);
  });

  test('a document that is not a manifest throws', () => {
    for (const doc of [null, 'songs', 42, []]) expect(() => parseManifest(doc, '/c.json')).toThrow(/"songs" array/);
    expect(() => parseManifest({ songs: {} }, '/c.json')).toThrow(/"songs" array/);
    expect(() => parseManifest({ tracks: [] }, '/c.json')).toThrow(/"songs" array/);
  });
});
