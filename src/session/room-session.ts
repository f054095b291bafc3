import { EventEmitter } from 'eventemitter3';
import type { Catalog } from '../catalog/catalog';
import type { Song, SongQuery } from '../catalog/song';
import { errorFields, type Logger } from '../ops/logger';
import { Player } from '../player/player';
import { Playlist } from '../player/playlist';
import type { DecoderFactory } from '../player/types';
import { ResilientRoom } from './resilient-room';
import type { RoomJoiner } from './room-link';
import { songInfo, type DeviceStatus, type SessionState } from './status';

/** Data-channel topic the devices and the existing gateway listen on. */
export const MUSIC_CONTROL_TOPIC = 'music_control';

export interface SessionDeps {
  device: string;
  room: string;
  log: Logger;
  join: RoomJoiner;
  openDecoder: DecoderFactory;
  catalog: () => Catalog;
  rng: () => number;
  frameSamples: number;
  /** Channels, fade and crossfade lengths of the player (see PlayerOptions). */
  channels?: number;
  fadeSamples?: number;
  crossfadeFrames?: number;
  maxFailuresInRow: number;
  rejoinTimeoutMs: number;
  emptyRoomTimeoutMs: number;
  counters?: SessionCounters;
}

interface Countable {
  inc(by?: number): void;
}

/** What a session counts for the metrics endpoint. */
export interface SessionCounters {
  songsStarted: Countable;
  songFailures: Countable;
  framesSent: Countable;
  outputErrors: Countable;
  rejoins: Countable;
  underrunSeconds: Countable;
}

export interface SessionEvents {
  status: (status: DeviceStatus) => void;
  /** The session is over (stop, room gone, failure); `error` is set when it ended badly. */
  ended: (reason: string, error?: string) => void;
}

/** Stable codes for commands that could not be done; replies carry them as `error`. */
export type OutcomeCode = 'not_playing' | 'no_songs' | 'no_match' | 'session_limit' | 'join_failed' | 'room_not_found' | 'internal_error';

export interface Outcome {
  ok: boolean;
  message: string;
  code?: OutcomeCode;
}

/** One device's music in one room: joins, plays, obeys commands, leaves. */
export class RoomSession extends EventEmitter<SessionEvents> {
  private state: SessionState = 'idle';
  private presence: ResilientRoom | undefined;
  private player: Player | undefined;
  private query: SongQuery = {};
  private song: Song | undefined;
  private error: string | null = null;
  private endReason: string | null = null;
  private ending = false;

  constructor(private readonly deps: SessionDeps) {
    super();
  }

  get room(): string {
    return this.deps.room;
  }

  status(): DeviceStatus {
    return {
      device: this.deps.device,
      room: this.deps.room,
      state: this.state,
      song: songInfo(this.song),
      volume: this.player?.volume ?? 100,
      queue_length: this.player?.playlist.queueLength ?? 0,
      language: this.query.language ?? null,
      genre: this.query.genre ?? null,
      error: this.error,
      reason: this.endReason,
      updated_at: new Date().toISOString(),
    };
  }

  async start(query: SongQuery): Promise<Outcome> {
    if (this.player) return this.restart(query);
    const selection = this.deps.catalog().select(query);
    if (selection.songs.length === 0) return { ok: false, code: 'no_songs', message: 'the catalog has no songs' };
    this.query = query;
    this.setState('starting');
    const presence = await ResilientRoom.open({
      room: this.deps.room,
      join: this.deps.join,
      log: this.deps.log,
      rejoinTimeoutMs: this.deps.rejoinTimeoutMs,
      emptyRoomTimeoutMs: this.deps.emptyRoomTimeoutMs,
      onFrame: () => this.deps.counters?.framesSent.inc(),
      onUnderrun: (ms) => this.deps.counters?.underrunSeconds.inc(ms / 1000),
    });
    this.presence = presence;
    presence.on('reconnecting', () => this.setState('reconnecting'));
    presence.on('reconnected', () => {
      this.deps.counters?.rejoins.inc();
      this.setState(this.player?.isPaused ? 'paused' : 'playing');
    });
    presence.on('ended', (reason, error) => void this.end(reason, error));

    const player = new Player(new Playlist(selection.songs, this.deps.rng), presence.sink, this.deps.openDecoder, {
      frameSamples: this.deps.frameSamples,
      channels: this.deps.channels,
      fadeSamples: this.deps.fadeSamples,
      crossfadeFrames: this.deps.crossfadeFrames,
      maxFailuresInRow: this.deps.maxFailuresInRow,
    });
    this.player = player;
    player.on('songStarted', (song) => this.onSongStarted(song));
    player.on('songFailed', (song, err) => {
      this.deps.counters?.songFailures.inc();
      this.deps.log.warn('song failed; playing the next one', { song: song.id, url: song.url, ...errorFields(err) });
      this.notify({ type: 'music_song_failed', song_id: song.id, title: song.title, error: err.message });
    });
    player.on('outputError', (err) => {
      this.deps.counters?.outputErrors.inc();
      this.deps.log.error('audio output failed; track rebuilt', errorFields(err));
    });
    player.on('failed', (err) => void this.end('playback failed', err.message));
    player.start();
    this.song = player.playlist.current();
    this.setState('playing');

    const message = `Started continuous music streaming${describeQuery(query)}${selection.note ? `; ${selection.note}` : ''}`;
    this.notify({ type: 'continuous_music_started', message, language: query.language ?? null, genre: query.genre ?? null });
    this.deps.log.info('music started', { language: query.language, genre: query.genre, pool: selection.songs.length });
    return { ok: true, message };
  }

  private restart(query: SongQuery): Outcome {
    const player = this.player!;
    if (sameQuery(query, this.query)) {
      if (player.isPaused) this.resume();
      return { ok: true, message: 'Music streaming is already active' };
    }
    const selection = this.deps.catalog().select(query);
    if (selection.songs.length === 0) return { ok: false, code: 'no_songs', message: 'the catalog has no songs' };
    this.query = query;
    player.playlist.setPool(selection.songs);
    this.song = player.skip();
    const message = `Switched continuous music${describeQuery(query)}${selection.note ? `; ${selection.note}` : ''}`;
    this.notify({ type: 'continuous_music_started', message, language: query.language ?? null, genre: query.genre ?? null });
    this.emitStatus();
    return { ok: true, message };
  }

  skip(): Outcome {
    const player = this.player;
    if (!player) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    this.song = player.skip();
    if (player.isPaused) this.resume();
    this.notify({ type: 'music_skipped', message: 'Skipped to next song' });
    this.emitStatus();
    return { ok: true, message: 'Skipped to next song' };
  }

  previous(): Outcome {
    const player = this.player;
    if (!player) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    this.song = player.previous();
    if (player.isPaused) this.resume();
    this.notify({ type: 'music_previous', message: 'Went back to the previous song' });
    this.emitStatus();
    return { ok: true, message: 'Went back to the previous song' };
  }

  pause(): Outcome {
    const player = this.player;
    if (!player) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    if (player.isPaused) return { ok: true, message: 'Music is already paused' };
    player.pause();
    this.setState('paused');
    this.notify({ type: 'music_paused', message: 'Music paused' });
    return { ok: true, message: 'Music paused' };
  }

  resume(): Outcome {
    const player = this.player;
    if (!player) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    if (!player.isPaused) return { ok: true, message: 'Music is already playing' };
    player.resume();
    this.setState('playing');
    this.notify({ type: 'music_resumed', message: 'Music resumed' });
    return { ok: true, message: 'Music resumed' };
  }

  setVolume(volume: number): Outcome {
    const player = this.player;
    if (!player) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    player.volume = volume;
    this.notify({ type: 'music_volume_changed', message: `Volume set to ${volume}`, volume });
    this.emitStatus();
    return { ok: true, message: `Volume set to ${volume}` };
  }

  playSong(query: string, language?: string): Outcome {
    const player = this.player;
    if (!player) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    const found = this.deps.catalog().search(query, language)[0];
    if (!found) return { ok: false, code: 'no_match', message: `No song matches "${query}"` };
    player.playNow(found);
    this.song = found;
    if (player.isPaused) this.resume();
    this.emitStatus();
    return { ok: true, message: `Playing ${found.title}` };
  }

  /** Stops the music and leaves the room. Idempotent. */
  async stop(reason = 'stopped by command'): Promise<Outcome> {
    await this.end(reason);
    return { ok: true, message: 'Stopped continuous music streaming' };
  }

  private async end(reason: string, error?: string): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    const { player, presence } = this;
    this.player = undefined;
    // Without a room there is nothing to fade into: let the player stop at once.
    if (presence?.reconnecting) presence.sink.close();
    await player?.stop();
    if (presence) {
      // Tell the room before leaving it; a room that is already gone simply misses the message.
      await this.send({ type: 'music_playback_stopped', message: reason });
      await this.send({ type: 'continuous_music_stopped', message: error ? `Music stopped: ${error}` : 'Stopped continuous music streaming' });
      await presence.close();
    }
    this.song = undefined;
    this.error = error ?? null;
    this.endReason = reason;
    this.state = error ? 'error' : 'idle';
    this.deps.log[error ? 'error' : 'info']('session ended', { reason, ...(error ? { error } : {}) });
    this.emit('ended', reason, error);
  }

  private onSongStarted(song: Song): void {
    this.deps.counters?.songsStarted.inc();
    this.song = song;
    if (this.state === 'starting') this.state = 'playing';
    this.deps.log.info('song started', { song: song.id, title: song.title });
    this.notify({ type: 'music_playback_started', title: song.title, language: song.language, song_id: song.id });
    this.emitStatus();
  }

  private setState(state: SessionState): void {
    this.state = state;
    this.emitStatus();
  }

  private emitStatus(): void {
    this.emit('status', this.status());
  }

  /** Fire-and-forget data message: a slow data channel must never hold up a command. */
  private notify(message: Record<string, unknown>): void {
    void this.send(message);
  }

  private async send(message: Record<string, unknown>): Promise<void> {
    try {
      await this.presence?.send(MUSIC_CONTROL_TOPIC, message);
    } catch (err) {
      this.deps.log.warn('data message not delivered', { type: message.type, ...errorFields(err) });
    }
  }
}

function describeQuery(q: SongQuery): string {
  const parts = [q.language, q.genre].filter((p): p is string => !!p);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function sameQuery(a: SongQuery, b: SongQuery): boolean {
  const norm = (s?: string) => (s ?? '').toLowerCase();
  return norm(a.language) === norm(b.language) && norm(a.genre) === norm(b.genre);
}
