import { Catalog } from '../../src/catalog/catalog';
import type { Song } from '../../src/catalog/song';

const s = (title: string, language: string, genres: string[], aliases: string[] = []): Song => ({ id: `${language}/${title}`, title, aliases, language, genres, url: `/${title}.mp3` });
const catalog = new Catalog([
  s('Baby Shark Dance', 'English', ['kids'], ['baby shark', 'shark song']),
  s('Morning Pop', 'English', ['pop']),
  s('Thunder', 'English', ['rock']),
  s('Chanda Mama', 'Hindi', ['lullaby'], ['chanda mama door ke']),
  s('Café del Mar', 'Spanish', ['chill']),
  s('Nani Teri Morni', 'Hindi', ['kids', 'pop']),
]);

describe('Catalog.select', () => {
  test('language and genre, case-insensitively', () => {
    expect(catalog.select({ language: 'english', genre: 'POP' })).toEqual({ songs: [expect.objectContaining({ title: 'Morning Pop' })], matched: 'language+genre' });
  });

  test('a genre the language lacks falls back to the language and says so', () => {
    const r = catalog.select({ language: 'Hindi', genre: 'rock' });
    expect(r.matched).toBe('language');
    expect(r.songs.map((x) => x.title).sort()).toEqual(['Chanda Mama', 'Nani Teri Morni']);
    expect(r.note).toMatch(/no rock songs in Hindi/);
  });

  test('an unknown language falls back to the whole catalog and says so', () => {
    const r = catalog.select({ language: 'Klingon' });
    expect(r).toMatchObject({ matched: 'all', note: expect.stringMatching(/whole catalog/) });
    expect(r.songs).toHaveLength(6);
  });

  test('an unknown genre with no language falls back to everything and says so', () => {
    expect(catalog.select({ genre: 'metal' })).toMatchObject({ matched: 'all', note: 'no metal songs; playing the whole catalog' });
    expect(catalog.select({ language: 'Klingon', genre: 'pop' }).note).toMatch(/no Klingon pop songs/);
  });

  test('genre alone, and nothing at all', () => {
    expect(catalog.select({ genre: 'KIDS' })).toMatchObject({ matched: 'genre', songs: [expect.objectContaining({ title: 'Baby Shark Dance' }), expect.objectContaining({ title: 'Nani Teri Morni' })] });
    expect(catalog.select({})).toMatchObject({ matched: 'all' });
    expect(catalog.select({}).note).toBeUndefined();
  });
});

describe('Catalog.search', () => {
  test('case, accents and punctuation do not matter', () => {
    expect(catalog.search('cafe del mar')[0]?.title).toBe('Café del Mar');
    expect(catalog.search('MORNING-POP!')[0]?.title).toBe('Morning Pop');
    expect(catalog.search('CAFÉ')[0]?.title).toBe('Café del Mar');
  });

  test('aliases and romanised spellings', () => {
    expect(catalog.search('shark song')[0]?.title).toBe('Baby Shark Dance');
    expect(catalog.search('chanda mama door ke')[0]?.title).toBe('Chanda Mama');
  });

  test('a one-letter typo in a longer word', () => {
    expect(catalog.search('thundr')[0]?.title).toBe('Thunder');
    expect(catalog.search('baby sherk dance')[0]?.title).toBe('Baby Shark Dance');
    expect(catalog.search('thx')).toEqual([]); // short words need to match exactly
  });

  test('a word of the title finds it', () => {
    expect(catalog.search('pop')[0]?.title).toBe('Morning Pop');
    expect(catalog.search('baby')[0]?.title).toBe('Baby Shark Dance');
  });

  test('language narrows when it can, and only then', () => {
    expect(catalog.search('morni').map((x) => x.title).sort()).toEqual(['Morning Pop', 'Nani Teri Morni']);
    expect(catalog.search('morni', 'Hindi').map((x) => x.title)).toEqual(['Nani Teri Morni']);
    expect(catalog.search('thunder', 'Hindi')[0]?.title).toBe('Thunder');
  });

  test('nothing for nonsense or empty text', () => {
    expect(catalog.search('zzzz qqqq')).toEqual([]);
    expect(catalog.search('  ')).toEqual([]);
  });
});
