import type { Song } from '../../src/catalog/song';
import { PlaybackMachine, type Deck, type PlaybackCommand, type PlaybackState } from '../../src/player/playback-machine';
import type { Playlist } from '../../src/player/playlist';
import { seededRandom } from '../../src/player/random';

const song = (id: string, genre = 'pop'): Song => ({ id, title: `Song ${id}`, aliases: [], language: 'English', genres: [genre], url: `/${id}.mp3` });
const POP = ['a', 'b', 'c', 'd', 'e'].map((id) => song(id));
const ROCK = ['x', 'y', 'z'].map((id) => song(id, 'rock'));
const SPECIAL = song('special', 'kids');

/** A player stand-in: moves the same playlist the way Player does, and records every call. */
class RecordingDeck implements Deck {
  readonly calls: string[] = [];
  constructor(private readonly list: Playlist) {}
  skip() {
    this.calls.push('skip');
    return this.list.advance();
  }
  previous() {
    this.calls.push('previous');
    return this.list.previous();
  }
  playNow(s: Song) {
    this.calls.push(`playNow:${s.id}`);
    this.list.playNext(s);
    this.list.advance();
  }
  pause() {
    this.calls.push('pause');
  }
  resume() {
    this.calls.push('resume');
  }
}

const START: PlaybackCommand = { type: 'start', query: { language: 'English', genre: 'pop' }, pool: POP };

/** A machine brought into `state` the way a room gets there; `deck` is attached once "the player" exists. */
function machineIn(state: PlaybackState, seed = 1): { m: PlaybackMachine; deck: RecordingDeck | undefined } {
  const m = new PlaybackMachine(seededRandom(seed));
  if (state === 'idle') return { m, deck: undefined };
  m.dispatch(START);
  if (state === 'starting') return { m, deck: undefined };
  const deck = new RecordingDeck(m.playlist!);
  m.attach(deck);
  m.dispatch({ type: 'started' });
  if (state === 'paused') m.dispatch({ type: 'pause' });
  if (state === 'stopping' || state === 'error') m.dispatch({ type: 'stop' });
  if (state === 'error') m.dispatch({ type: 'stopped', error: 'room closed' });
  deck.calls.length = 0;
  expect(m.state).toBe(state);
  return { m, deck };
}

interface Expect {
  ok: boolean;
  state: PlaybackState;
  code?: string;
  message?: string | RegExp;
  effect?: 'open';
  changed?: boolean;
  resumed?: boolean;
  deck?: string[];
}

const NOT_PLAYING: Omit<Expect, 'state'> = { ok: false, code: 'not_playing', message: 'No music is currently playing', changed: false };

const COMMANDS: Record<string, PlaybackCommand> = {
  'start (same query)': START,
  'start (other query)': { type: 'start', query: { language: 'English', genre: 'rock' }, pool: ROCK, note: 'a note' },
  'start (no songs)': { type: 'start', query: {}, pool: [] },
  started: { type: 'started' },
  stop: { type: 'stop' },
  stopped: { type: 'stopped' },
  'stopped (error)': { type: 'stopped', error: 'boom' },
  skip: { type: 'skip' },
  previous: { type: 'previous' },
  pause: { type: 'pause' },
  resume: { type: 'resume' },
  playSong: { type: 'playSong', song: SPECIAL },
};

/** Every command in every state: the answer, the next state, the effect and what the player is told. */
const TABLE: Record<PlaybackState, Record<keyof typeof COMMANDS, Expect>> = {
  idle: {
    'start (same query)': { ok: true, state: 'starting', effect: 'open', message: 'Started continuous music streaming (English, pop)' },
    'start (other query)': { ok: true, state: 'starting', effect: 'open', message: 'Started continuous music streaming (English, rock); a note' },
    'start (no songs)': { ok: false, state: 'idle', code: 'no_songs', message: 'the catalog has no songs' },
    started: { ok: true, state: 'idle', changed: false },
    stop: { ok: true, state: 'idle', message: 'Music streaming is not active', changed: false },
    stopped: { ok: true, state: 'idle' },
    'stopped (error)': { ok: true, state: 'error' },
    skip: { ...NOT_PLAYING, state: 'idle' },
    previous: { ...NOT_PLAYING, state: 'idle' },
    pause: { ...NOT_PLAYING, state: 'idle' },
    resume: { ...NOT_PLAYING, state: 'idle' },
    playSong: { ...NOT_PLAYING, state: 'idle' },
  },
  starting: {
    'start (same query)': { ok: true, state: 'starting', message: 'Music streaming is already active', changed: false },
    'start (other query)': { ok: true, state: 'starting', message: 'Switched continuous music (English, rock); a note', changed: true },
    'start (no songs)': { ok: false, state: 'starting', code: 'no_songs' },
    started: { ok: true, state: 'playing', changed: true },
    stop: { ok: true, state: 'stopping', message: 'Stopped continuous music streaming' },
    stopped: { ok: true, state: 'idle' },
    'stopped (error)': { ok: true, state: 'error' },
    skip: { ok: true, state: 'starting', message: 'Skipped to next song' },
    previous: { ok: true, state: 'starting', message: 'Went back to the previous song' },
    pause: { ok: true, state: 'starting', message: 'Music paused', changed: true },
    resume: { ok: true, state: 'starting', message: 'Music is already playing', changed: false },
    playSong: { ok: true, state: 'starting', message: 'Playing Song special' },
  },
  playing: {
    'start (same query)': { ok: true, state: 'playing', message: 'Music streaming is already active', changed: false, deck: [] },
    'start (other query)': { ok: true, state: 'playing', message: /^Switched continuous music/, deck: ['skip'] },
    'start (no songs)': { ok: false, state: 'playing', code: 'no_songs', deck: [] },
    started: { ok: true, state: 'playing', changed: false },
    stop: { ok: true, state: 'stopping', deck: [] },
    stopped: { ok: true, state: 'idle' },
    'stopped (error)': { ok: true, state: 'error' },
    skip: { ok: true, state: 'playing', message: 'Skipped to next song', resumed: false, deck: ['skip'] },
    previous: { ok: true, state: 'playing', message: 'Went back to the previous song', deck: ['previous'] },
    pause: { ok: true, state: 'paused', message: 'Music paused', deck: ['pause'] },
    resume: { ok: true, state: 'playing', message: 'Music is already playing', changed: false, deck: [] },
    playSong: { ok: true, state: 'playing', message: 'Playing Song special', deck: ['playNow:special'] },
  },
  paused: {
    'start (same query)': { ok: true, state: 'playing', message: 'Music streaming is already active', resumed: true, deck: ['resume'] },
    'start (other query)': { ok: true, state: 'playing', message: /^Switched/, resumed: true, deck: ['skip', 'resume'] },
    'start (no songs)': { ok: false, state: 'paused', code: 'no_songs', deck: [] },
    started: { ok: true, state: 'paused', changed: false },
    stop: { ok: true, state: 'stopping', deck: [] },
    stopped: { ok: true, state: 'idle' },
    'stopped (error)': { ok: true, state: 'error' },
    skip: { ok: true, state: 'playing', resumed: true, deck: ['skip', 'resume'] },
    previous: { ok: true, state: 'playing', resumed: true, deck: ['previous', 'resume'] },
    pause: { ok: true, state: 'paused', message: 'Music is already paused', changed: false, deck: [] },
    resume: { ok: true, state: 'playing', message: 'Music resumed', resumed: true, deck: ['resume'] },
    playSong: { ok: true, state: 'playing', resumed: true, deck: ['playNow:special', 'resume'] },
  },
  stopping: {
    'start (same query)': { ok: false, state: 'stopping', code: 'not_playing', message: 'Music streaming is stopping' },
    'start (other query)': { ok: false, state: 'stopping', code: 'not_playing' },
    'start (no songs)': { ok: false, state: 'stopping', code: 'not_playing' },
    started: { ok: true, state: 'stopping', changed: false },
    stop: { ok: true, state: 'stopping', message: 'Stopped continuous music streaming', changed: false, effect: undefined },
    stopped: { ok: true, state: 'idle' },
    'stopped (error)': { ok: true, state: 'error', message: 'Music stopped: boom' },
    skip: { ...NOT_PLAYING, state: 'stopping', deck: [] },
    previous: { ...NOT_PLAYING, state: 'stopping', deck: [] },
    pause: { ...NOT_PLAYING, state: 'stopping', deck: [] },
    resume: { ...NOT_PLAYING, state: 'stopping', deck: [] },
    playSong: { ...NOT_PLAYING, state: 'stopping', deck: [] },
  },
  error: {
    'start (same query)': { ok: true, state: 'starting', effect: 'open' },
    'start (other query)': { ok: true, state: 'starting', effect: 'open' },
    'start (no songs)': { ok: false, state: 'error', code: 'no_songs' },
    started: { ok: true, state: 'error', changed: false },
    stop: { ok: true, state: 'error', message: 'Music streaming is not active', changed: false },
    stopped: { ok: true, state: 'idle' },
    'stopped (error)': { ok: true, state: 'error' },
    skip: { ...NOT_PLAYING, state: 'error' },
    previous: { ...NOT_PLAYING, state: 'error' },
    pause: { ...NOT_PLAYING, state: 'error' },
    resume: { ...NOT_PLAYING, state: 'error' },
    playSong: { ...NOT_PLAYING, state: 'error' },
  },
};

describe('PlaybackMachine: every command in every state', () => {
  const cases = Object.entries(TABLE).flatMap(([state, row]) => Object.entries(row).map(([name, exp]) => [state as PlaybackState, name, exp] as const));

  test.each(cases)('%s + %s', (state, name, exp) => {
    const { m, deck } = machineIn(state);
    const t = m.dispatch(COMMANDS[name]!);
    expect(t.ok).toBe(exp.ok);
    expect(t.state).toBe(exp.state);
    expect(m.state).toBe(exp.state);
    if (exp.code) expect(t.code).toBe(exp.code);
    else expect(t.code).toBeUndefined();
    if (exp.message instanceof RegExp) expect(t.message).toMatch(exp.message);
    else if (exp.message !== undefined) expect(t.message).toBe(exp.message);
    expect(t.effect).toBe(exp.effect);
    if (exp.changed !== undefined) expect(t.changed).toBe(exp.changed);
    if (exp.resumed !== undefined) expect(t.resumed).toBe(exp.resumed);
    if (exp.deck) expect(deck?.calls ?? []).toEqual(exp.deck);
    expect(m.active).toBe(['starting', 'playing', 'paused'].includes(exp.state));
  });

  test('the table covers every state and every command', () => {
    const states: PlaybackState[] = ['idle', 'starting', 'playing', 'paused', 'stopping', 'error'];
    expect(Object.keys(TABLE).sort()).toEqual([...states].sort());
    for (const row of Object.values(TABLE)) expect(Object.keys(row).sort()).toEqual(Object.keys(COMMANDS).sort());
  });
});

describe('PlaybackMachine: what the commands do to the music', () => {
  test('a pause while starting makes the player start paused; resume or skip cancel it', () => {
    const paused = machineIn('starting').m;
    paused.dispatch({ type: 'pause' });
    const deck = new RecordingDeck(paused.playlist!);
    paused.attach(deck);
    expect(paused.dispatch({ type: 'started' }).state).toBe('paused');
    expect(deck.calls).toEqual(['pause']);

    const resumed = machineIn('starting').m;
    resumed.dispatch({ type: 'pause' });
    expect(resumed.dispatch({ type: 'resume' })).toMatchObject({ message: 'Music resumed', resumed: true });
    expect(resumed.dispatch({ type: 'started' }).state).toBe('playing');

    const skipped = machineIn('starting').m;
    skipped.dispatch({ type: 'pause' });
    skipped.dispatch({ type: 'skip' });
    expect(skipped.dispatch({ type: 'started' }).state).toBe('playing');
  });

  test('skip and previous before the player exists move the playlist it will start from', () => {
    const { m } = machineIn('starting');
    const first = m.playlist!.current()!;
    const next = m.playlist!.peekNext()!;
    expect(m.dispatch({ type: 'skip' }).song).toBe(next);
    expect(m.dispatch({ type: 'previous' }).song).toBe(first);
  });

  test('a song asked for plays now, then the playlist carries on where it was', () => {
    const { m } = machineIn('playing', 4);
    const list = m.playlist!;
    const before = list.current()!;
    const upNext = list.peekNext()!;
    const t = m.dispatch({ type: 'playSong', song: SPECIAL });
    expect(t.song).toBe(SPECIAL);
    // The song ends (the player advances the playlist): back to the shuffled bag.
    expect(list.advance()).toBe(upNext);
    // And previous walks back through the requested song to what played before it.
    expect(m.dispatch({ type: 'previous' }).song).toBe(SPECIAL);
    expect(m.dispatch({ type: 'previous' }).song).toBe(before);
  });

  test('a start with another query switches the pool at once and keeps the history', () => {
    const { m } = machineIn('playing');
    const before = m.playlist!.current()!;
    const t = m.dispatch({ type: 'start', query: { genre: 'rock' }, pool: ROCK });
    expect(ROCK).toContain(t.song);
    expect(m.request).toEqual({ genre: 'rock' });
    for (let i = 0; i < 6; i++) expect(ROCK).toContain(m.dispatch({ type: 'skip' }).song);
    expect(m.playlist!.current()).not.toBe(before);
  });

  test('the same query matches case-insensitively', () => {
    const { m } = machineIn('playing');
    expect(m.dispatch({ type: 'start', query: { language: 'ENGLISH', genre: 'Pop' }, pool: POP }).message).toBe('Music streaming is already active');
  });

  test('stopped ends the run: no playlist, the error is kept until the next start', () => {
    const { m } = machineIn('error');
    expect(m.error).toBe('room closed');
    expect(m.playlist).toBeUndefined();
    expect(m.dispatch({ type: 'start', query: {}, pool: POP }).state).toBe('starting');
    expect(m.error).toBeUndefined();
  });

  test('deterministic under a seed: the same commands give the same songs', () => {
    const run = (seed: number): string[] => {
      const { m } = machineIn('playing', seed);
      const out = [m.playlist!.current()!.id];
      const script: PlaybackCommand[] = [{ type: 'skip' }, { type: 'skip' }, { type: 'previous' }, { type: 'playSong', song: SPECIAL }, { type: 'skip' }, { type: 'pause' }, { type: 'skip' }, { type: 'skip' }];
      for (const c of script) out.push(m.dispatch(c).song!.id);
      for (let i = 0; i < 10; i++) out.push(m.playlist!.advance()!.id);
      return out;
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  test('no song twice in a row and no repeat within a bag, over many skips and refills', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { m } = machineIn('playing', seed);
      const order = [m.playlist!.current()!.id];
      for (let i = 1; i < POP.length * 5; i++) order.push(m.dispatch({ type: 'skip' }).song!.id);
      for (let bag = 0; bag < 5; bag++) expect(new Set(order.slice(bag * 5, bag * 5 + 5)).size).toBe(5);
      for (let i = 1; i < order.length; i++) expect(order[i]).not.toBe(order[i - 1]);
    }
  });

  describe('queue, repeat and shuffle commands', () => {
    const EDITS: PlaybackCommand[] = [
      { type: 'enqueue', song: SPECIAL, position: 'end' },
      { type: 'dequeue', index: 0 },
      { type: 'clearQueue' },
      { type: 'setRepeat', mode: 'one' },
      { type: 'setShuffle', on: false },
    ];

    test.each(['idle', 'stopping', 'error'] as PlaybackState[])('refused while %s (no playlist to edit)', (state) => {
      const { m } = machineIn(state);
      for (const cmd of EDITS) expect(m.dispatch(cmd)).toMatchObject({ ok: false, code: 'not_playing', changed: false, state });
    });

    test.each(['starting', 'playing', 'paused'] as PlaybackState[])('while %s: edits what plays next, never what plays now, never resumes', (state) => {
      const { m, deck } = machineIn(state);
      const now = m.playlist!.current();
      const t = m.dispatch({ type: 'enqueue', song: SPECIAL, position: 'next' });
      expect(t).toMatchObject({ ok: true, changed: true, resumed: false, state, affected: SPECIAL, message: 'Queued Song special to play next' });
      expect(t.song).toBe(now);
      expect(m.playlist!.peekNext()).toBe(SPECIAL);
      expect(m.dispatch({ type: 'dequeue', songId: 'special' })).toMatchObject({ ok: true, affected: SPECIAL, state });
      expect(m.dispatch({ type: 'dequeue', songId: 'special' })).toMatchObject({ ok: false, code: 'no_match', state });
      expect(m.dispatch({ type: 'dequeue', index: 999 })).toMatchObject({ ok: false, code: 'no_match' });
      expect(m.dispatch({ type: 'setRepeat', mode: 'one' })).toMatchObject({ ok: true, changed: true, message: 'Repeat one' });
      expect(m.dispatch({ type: 'setRepeat', mode: 'one' })).toMatchObject({ ok: true, changed: false });
      expect(m.dispatch({ type: 'setShuffle', on: false })).toMatchObject({ ok: true, changed: true, message: 'Shuffle off' });
      expect(m.playlist!.current()).toBe(now);
      expect(deck?.calls ?? []).toEqual([]);
    });

    test('a full queue is refused with queue_full; clear_queue says how many it dropped', () => {
      const { m } = machineIn('playing');
      let n = 0;
      while (m.dispatch({ type: 'enqueue', song: song(`q${n}`), position: 'end' }).ok) n++;
      expect(n).toBe(50);
      expect(m.dispatch({ type: 'enqueue', song: SPECIAL, position: 'next' })).toMatchObject({ ok: false, code: 'queue_full' });
      expect(m.dispatch({ type: 'clearQueue' })).toMatchObject({ ok: true, changed: true, message: 'Cleared 50 queued songs' });
      expect(m.dispatch({ type: 'clearQueue' })).toMatchObject({ ok: true, changed: false, message: 'Cleared 0 queued songs' });
    });

    test('repeat and the queue survive a switch of genre (the playlist object stays)', () => {
      const { m } = machineIn('playing');
      m.dispatch({ type: 'setRepeat', mode: 'all' });
      m.dispatch({ type: 'enqueue', song: SPECIAL, position: 'end' });
      m.dispatch({ type: 'start', query: { language: 'English', genre: 'rock' }, pool: ROCK });
      expect(m.playlist!.repeat).toBe('all');
      expect(m.playlist!.current()).toBe(SPECIAL); // the switch skipped to the next song: the queued one
    });
  });
});
