import { Catalog } from '../../src/catalog/catalog';
import { editDistance, looseWord, searchKey, SongSearch } from '../../src/catalog/search';
import type { Song } from '../../src/catalog/song';

const s = (title: string, language: string, aliases: string[] = [], genres: string[] = ['kids']): Song => ({
  id: `${language}/${title}`.toLowerCase(),
  title,
  aliases,
  language,
  genres,
  url: `/${title}.mp3`,
});

/** Titles shaped like the per-language CDN catalogs: romanized names and alternatives become aliases. */
const SONGS = [
  s('Baby Shark Dance', 'English', ['baby shark', 'shark song']),
  s('Twinkle Twinkle Little Star', 'English', ['twinkle twinkle']),
  s('Old MacDonald Had a Farm', 'English', ['old macdonald']),
  s('Wheels on the Bus', 'English'),
  s('चंदा मामा दूर के', 'Hindi', ['Chanda Mama Door Ke', 'chanda mama']),
  s('Nani Teri Morni', 'Hindi', ['naani teri morni']),
  s('Lakdi Ki Kathi', 'Hindi'),
  s('Machli Jal Ki Rani Hai', 'Hindi', ['machli jal ki rani']),
  s('Café del Mar', 'Spanish', ['cafe del mar']),
  s('Los Pollitos Dicen', 'Spanish'),
  s('Вместе весело шагать', 'Russian'),
  s('小星星', 'Chinese', ['xiao xing xing']),
  s('Twinkle Twinkle Little Star', 'Hindi', ['twinkle twinkle hindi']),
];
const catalog = new Catalog(SONGS);
const top = (q: string, lang?: string) => catalog.search(q, lang)[0];

describe('search: what people type for play_song', () => {
  test.each([
    ['baby shark', 'Baby Shark Dance'],
    ['BABY SHARK!!', 'Baby Shark Dance'],
    ['shark dance baby', 'Baby Shark Dance'], // word order
    ['babyshark', 'Baby Shark Dance'], // run together
    ['twinkle', 'Twinkle Twinkle Little Star'],
    ['twinkel twinkel little star', 'Twinkle Twinkle Little Star'], // typos
    ['old mcdonald', 'Old MacDonald Had a Farm'], // two edits in a long word
    ['wheels on bus', 'Wheels on the Bus'],
    ['cafe del mar', 'Café del Mar'], // accents
    ['CAFÉ DEL MAR', 'Café del Mar'],
    ['los pollitos', 'Los Pollitos Dicen'],
  ])('%s → %s', (query, title) => {
    expect(top(query)?.title).toBe(title);
  });

  test.each([
    ['chanda mama', 'चंदा मामा दूर के'], // an alias (the romanized name of the metadata layout)
    ['chandaa maamaa door ke', 'चंदा मामा दूर के'], // long vowels written doubled
    ['chanda mama dur ke', 'चंदा मामा दूर के'],
    ['naani teri mornee', 'Nani Teri Morni'],
    ['nani teri morni', 'Nani Teri Morni'],
    ['lakadi ki kaathi', 'Lakdi Ki Kathi'],
    ['lakri ki kathi', 'Lakdi Ki Kathi'],
    ['machhli jal ki raani', 'Machli Jal Ki Rani Hai'],
    ['macchli jal ki rani hai', 'Machli Jal Ki Rani Hai'],
  ])('romanised spelling %s → %s', (query, title) => {
    expect(top(query)?.title).toBe(title);
  });

  test('a title in another script is found by its transliteration, without an alias', () => {
    expect(top('vmeste veselo shagat')?.title).toBe('Вместе весело шагать');
    expect(top('Вместе весело')?.title).toBe('Вместе весело шагать');
    expect(top('xiao xing xing')?.title).toBe('小星星');
    expect(top('小星星')?.title).toBe('小星星');
    // The Devanagari title itself, typed in its own script.
    expect(top('चंदा मामा')?.title).toBe('चंदा मामा दूर के');
  });

  test('the requested language wins between equal matches, and narrows when it can', () => {
    expect(top('twinkle twinkle little star', 'Hindi')?.language).toBe('Hindi');
    expect(top('twinkle twinkle little star', 'english')?.language).toBe('English');
    expect(catalog.search('twinkle', 'Hindi').every((x) => x.language === 'Hindi')).toBe(true);
    // A language with no match does not hide the match elsewhere.
    expect(top('baby shark', 'Hindi')?.title).toBe('Baby Shark Dance');
  });

  test('an exact title beats a partial one', () => {
    const c = new Catalog([s('Star', 'English'), s('Little Star Light', 'English'), s('Twinkle Star', 'English')]);
    expect(c.search('star').map((x) => x.title)[0]).toBe('Star');
  });

  test('nonsense, short noise and empty text match nothing', () => {
    expect(catalog.search('zzzz qqqq')).toEqual([]);
    expect(catalog.search('xq')).toEqual([]);
    expect(catalog.search('')).toEqual([]);
    expect(catalog.search(' ?! ')).toEqual([]);
  });

  test('songs that are not in the catalog do not match something else', () => {
    for (const q of ['let it go', 'happy birthday', 'jingle bells', 'humpty dumpty', 'ding dong bell', 'row row row your boat', 'johny johny yes papa', 'the itsy bitsy spider', 'baa baa black sheep', 'london bridge']) {
      expect([q, top(q)?.title]).toEqual([q, undefined]);
    }
  });

  test('scores: 1 for a name equal to the query, best first', () => {
    const scored = new SongSearch(SONGS).scored('baby shark');
    expect(scored[0]).toMatchObject({ score: 1, song: expect.objectContaining({ title: 'Baby Shark Dance' }) });
    for (let i = 1; i < scored.length; i++) expect(scored[i]!.score).toBeLessThanOrEqual(scored[i - 1]!.score);
  });
});

describe('search building blocks', () => {
  test('searchKey folds case, accents and punctuation and spells other scripts in Latin', () => {
    expect(searchKey('  Café-del   MAR! ')).toBe('cafe del mar');
    expect(searchKey('Привет')).toBe('privet');
    expect(searchKey('नानी तेरी मोरनी')).toBe('naanii terii mornii');
  });

  test('looseWord merges common romanisation variants', () => {
    const same = [
      ['chandaa', 'chanda'],
      ['mornee', 'morni'],
      ['bhalu', 'balu'],
      ['phool', 'fhul'],
      ['zindagi', 'jindagi'],
      ['machhli', 'machli'],
      ['raani', 'rani'],
      ['kathi', 'kaathi'],
    ];
    for (const [a, b] of same) expect(looseWord(a!)).toBe(looseWord(b!));
    expect(looseWord('shark')).not.toBe(looseWord('bark'));
  });

  test('editDistance stops early above its limit', () => {
    expect(editDistance('thunder', 'thundr', 1)).toBe(1);
    expect(editDistance('macdonald', 'mcdonald', 2)).toBe(1);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
    expect(editDistance('a', 'abcd', 1)).toBe(2);
  });
});
