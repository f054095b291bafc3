import type { Song, SongQuery } from '../catalog/song';
import { Playlist, type QueuePosition, type RepeatMode } from './playlist';

/**
 * A room's playback state. `starting`: the room is being joined; `stopping`: the player is being
 * stopped and the room left; `error`: the last run ended badly (a new start clears it).
 */
export type PlaybackState = 'idle' | 'starting' | 'playing' | 'paused' | 'stopping' | 'error';

/** Commands from the app, and events from the audio side (`started`, `stopped`). */
export type PlaybackCommand =
  | { type: 'start'; query: SongQuery; pool: readonly Song[]; note?: string }
  | { type: 'started' }
  | { type: 'stop' }
  | { type: 'stopped'; error?: string }
  | { type: 'skip' }
  | { type: 'previous' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'playSong'; song: Song }
  | { type: 'enqueue'; song: Song; position: QueuePosition }
  | { type: 'dequeue'; index?: number; songId?: string }
  | { type: 'clearQueue' }
  | { type: 'setRepeat'; mode: RepeatMode }
  | { type: 'setShuffle'; on: boolean };

/**
 * What moves the music. Before the room's player exists it is the playlist itself; then it is the
 * player (same method names), which moves the same playlist and interrupts what plays.
 */
export interface Deck {
  skip(): unknown;
  previous(): unknown;
  playNow(song: Song): unknown;
  pause(): void;
  resume(): void;
}

export interface Transition {
  ok: boolean;
  code?: 'not_playing' | 'no_songs' | 'queue_full' | 'no_match';
  message: string;
  /** The command did something (a refusal or "already ..." did not). */
  changed: boolean;
  /** A paused room plays again because of this command. */
  resumed: boolean;
  /** Async work for the caller: `open` joins the room and starts the player. */
  effect?: 'open';
  state: PlaybackState;
  /** The song playing, or about to play, after the command. */
  song: Song | undefined;
  /** The song a queue command added or removed. */
  affected?: Song;
}

const ACTIVE: readonly PlaybackState[] = ['starting', 'playing', 'paused'];

/**
 * The per-room playlist state machine: which command is allowed in which state, what it does to
 * the playlist, and what it answers. Pure and synchronous: no timers, no I/O; the shuffle comes from
 * the injected `rng`. The room session performs the `open` effect and reports back with
 * `started`/`stopped`.
 */
export class PlaybackMachine {
  private current: PlaybackState = 'idle';
  private list: Playlist | undefined;
  private deck: Deck | undefined;
  private query: SongQuery = {};
  /** A pause that arrived while starting: the player starts paused. */
  private startPaused = false;
  private lastError: string | undefined;

  constructor(private readonly rng: () => number) {}

  get state(): PlaybackState {
    return this.current;
  }

  /** True while a run is on (starting, playing or paused). */
  get active(): boolean {
    return ACTIVE.includes(this.current);
  }

  get playlist(): Playlist | undefined {
    return this.list;
  }

  /** What the current (or last) start asked for. */
  get request(): SongQuery {
    return this.query;
  }

  /** Why the last run ended badly, while in `error`. */
  get error(): string | undefined {
    return this.current === 'error' ? this.lastError : undefined;
  }

  /** Hands the moves to the room's player once it exists. */
  attach(deck: Deck): void {
    this.deck = deck;
  }

  dispatch(cmd: PlaybackCommand): Transition {
    switch (cmd.type) {
      case 'start':
        return this.start(cmd.query, cmd.pool, cmd.note);
      case 'started':
        return this.started();
      case 'stop':
        return this.stop();
      case 'stopped':
        return this.stopped(cmd.error);
      case 'skip':
        return this.move(() => this.deck!.skip(), 'Skipped to next song');
      case 'previous':
        return this.move(() => this.deck!.previous(), 'Went back to the previous song');
      case 'playSong':
        return this.move(() => this.deck!.playNow(cmd.song), `Playing ${cmd.song.title}`);
      case 'pause':
        return this.pause();
      case 'resume':
        return this.resume();
      case 'enqueue':
        return this.editQueue((list) =>
          list.enqueue(cmd.song, cmd.position)
            ? { message: `Queued ${cmd.song.title} ${cmd.position === 'next' ? 'to play next' : 'at the end of the queue'}`, affected: cmd.song }
            : { refused: 'queue_full', message: 'the queue is full' },
        );
      case 'dequeue':
        return this.editQueue((list) => {
          const removed = cmd.songId !== undefined ? list.removeSong(cmd.songId) : list.removeAt(cmd.index ?? -1);
          return removed ? { message: `Removed ${removed.title} from the queue`, affected: removed } : { refused: 'no_match', message: 'no such song in the queue' };
        });
      case 'clearQueue':
        return this.editQueue((list) => {
          const n = list.clearQueue();
          return { message: `Cleared ${n} queued song${n === 1 ? '' : 's'}`, changed: n > 0 };
        });
      case 'setRepeat':
        return this.editQueue((list) => {
          const changed = list.repeat !== cmd.mode;
          list.setRepeat(cmd.mode);
          return { message: `Repeat ${cmd.mode}`, changed };
        });
      case 'setShuffle':
        return this.editQueue((list) => {
          const changed = list.shuffle !== cmd.on;
          list.setShuffle(cmd.on);
          return { message: `Shuffle ${cmd.on ? 'on' : 'off'}`, changed };
        });
    }
  }

  /**
   * Queue, repeat and shuffle: change what plays next, never what plays now (the player picks the
   * change up when the song ends), and do not resume a paused room.
   */
  private editQueue(edit: (list: Playlist) => { message: string; refused?: 'queue_full' | 'no_match'; changed?: boolean; affected?: Song }): Transition {
    if (!this.active || !this.list) return this.refuse();
    const r = edit(this.list);
    if (r.refused) return this.refuse(r.message, r.refused);
    return { ...this.result({ message: r.message, changed: r.changed ?? true }), affected: r.affected };
  }

  private start(query: SongQuery, pool: readonly Song[], note: string | undefined): Transition {
    const suffix = `${describeQuery(query)}${note ? `; ${note}` : ''}`;
    if (this.current === 'stopping') return this.refuse('Music streaming is stopping');
    if (this.active && sameQuery(query, this.query)) {
      const resumed = this.unpause();
      return this.result({ message: 'Music streaming is already active', changed: resumed, resumed });
    }
    if (pool.length === 0) return this.refuse('the catalog has no songs', 'no_songs');
    this.query = query;
    if (this.active) {
      this.list!.setPool(pool);
      this.deck!.skip();
      const resumed = this.unpause();
      return this.result({ message: `Switched continuous music${suffix}`, changed: true, resumed });
    }
    this.list = new Playlist(pool, this.rng);
    this.deck = playlistDeck(this.list);
    this.startPaused = false;
    this.lastError = undefined;
    this.current = 'starting';
    return this.result({ message: `Started continuous music streaming${suffix}`, changed: true, effect: 'open' });
  }

  private started(): Transition {
    if (this.current !== 'starting') return this.result({ message: '', changed: false });
    this.current = this.startPaused ? 'paused' : 'playing';
    if (this.startPaused) this.deck!.pause();
    this.startPaused = false;
    return this.result({ message: `Music is ${this.current}`, changed: true });
  }

  private stop(): Transition {
    const message = 'Stopped continuous music streaming';
    if (this.current === 'stopping') return this.result({ message, changed: false });
    if (!this.active) return this.result({ message: 'Music streaming is not active', changed: false });
    this.current = 'stopping';
    return this.result({ message, changed: true });
  }

  private stopped(error: string | undefined): Transition {
    this.current = error ? 'error' : 'idle';
    this.lastError = error;
    this.list = undefined;
    this.deck = undefined;
    this.startPaused = false;
    return this.result({ message: error ? `Music stopped: ${error}` : 'Stopped continuous music streaming', changed: true });
  }

  /** Skip, previous and play-a-song: move the playlist; a paused room plays again. */
  private move(act: () => unknown, message: string): Transition {
    if (!this.active) return this.refuse();
    act();
    const resumed = this.unpause();
    return this.result({ message, changed: true, resumed });
  }

  private pause(): Transition {
    if (!this.active) return this.refuse();
    if (this.current === 'paused' || this.startPaused) return this.result({ message: 'Music is already paused', changed: false });
    if (this.current === 'starting') this.startPaused = true;
    else {
      this.deck!.pause();
      this.current = 'paused';
    }
    return this.result({ message: 'Music paused', changed: true });
  }

  private resume(): Transition {
    if (!this.active) return this.refuse();
    if (!this.unpause()) return this.result({ message: 'Music is already playing', changed: false });
    return this.result({ message: 'Music resumed', changed: true, resumed: true });
  }

  /** Leaves `paused` (or a pending start-paused); true when it did. */
  private unpause(): boolean {
    if (this.current === 'starting' && this.startPaused) {
      this.startPaused = false;
      return true;
    }
    if (this.current !== 'paused') return false;
    this.deck!.resume();
    this.current = 'playing';
    return true;
  }

  private refuse(message = 'No music is currently playing', code: Transition['code'] = 'not_playing'): Transition {
    return { ...this.result({ message, changed: false }), ok: false, code };
  }

  private result(r: { message: string; changed: boolean; resumed?: boolean; effect?: 'open' }): Transition {
    return { ok: true, resumed: false, ...r, state: this.current, song: this.list?.current() };
  }
}

/** Moves the playlist directly: nothing plays yet, so there is nothing to interrupt. */
function playlistDeck(list: Playlist): Deck {
  return {
    skip: () => list.advance(),
    previous: () => list.previous(),
    playNow: (song) => {
      list.playNext(song);
      list.advance();
    },
    pause: () => undefined,
    resume: () => undefined,
  };
}

export function describeQuery(q: SongQuery): string {
  const parts = [q.language, q.genre].filter((p): p is string => !!p);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function sameQuery(a: SongQuery, b: SongQuery): boolean {
  const norm = (s?: string) => (s ?? '').toLowerCase();
  return norm(a.language) === norm(b.language) && norm(a.genre) === norm(b.genre);
}
