import { EventEmitter } from 'eventemitter3';
import type { Catalog } from '../catalog/catalog';
import type { Song, SongQuery } from '../catalog/song';
import { Ducker, type DuckerOptions } from '../audio/ducker';
import { failureFields } from '../audio/failure';
import { errorFields, type Logger } from '../ops/logger';
import { redactUrl } from '../ops/redact';
import { startTimings } from '../ops/start-timings';
import { PlaybackMachine, sameQuery, type PlaybackCommand, type PlaybackState, type Transition } from '../player/playback-machine';
import { Player, type OutageOptions } from '../player/player';
import type { QueuePosition, RepeatMode } from '../player/playlist';
import type { Decoder, DecoderFactory } from '../player/types';
import { settleWithin, TEARDOWN_BOUNDS, type TeardownBounds } from './bounded';
import { IDENTITY_TAKEN, ResilientRoom } from './resilient-room';
import type { RoomJoiner } from './room-link';
import { RESUME_LIST_LIMIT, type ResumePoint } from './session-state';
import { songInfo, type DeviceStatus, type QueueView, type SessionState, type SongFailure } from './status';

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
  /** Overrides of the teardown bounds (tests); default TEARDOWN_BOUNDS. */
  bounds?: Partial<TeardownBounds>;
  /** Jitter source of the rejoin back-off, in [0, 1); default Math.random. */
  jitter?: () => number;
  /** Source outages: fallback and retry back-off (see OutageOptions). */
  outage?: OutageOptions;
  /** Continuity: the owning bridge instance, written in every status. */
  instance?: string;
  /** While playing, the status (with the position) is published again this often, ms; 0 = never. */
  positionIntervalMs?: number;
  /** The device's last status sequence number; this session's statuses continue after it. */
  seq?: number;
  /** Continuity: whether another instance of the fleet now owns the device (a DUPLICATE_IDENTITY is then a handover). */
  handedOver?: () => boolean;
  /** Linear gain per song (loudness normalisation); absent: unity. */
  songGain?: (song: Song) => number;
  /** A song's measured length, when its catalog entry has none. */
  durationOf?: (song: Song) => number | undefined;
  /** Sample rate of the track, for positions; default 48000. */
  sampleRate?: number;
  /** Ducking under speech (audio.duck "speech"); absent: never ducked, set_ducking refused. */
  duck?: DuckerOptions;
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
  /**
   * The session must end (its room is gone, playback failed). The session does not end itself: its
   * owner (the registry) runs `end` through the device's command queue, like every other end.
   */
  endRequested: (reason: string, error?: string) => void;
  /** The session is over (stop, room gone, failure, shutdown); `error` is set when it ended badly. */
  ended: (reason: string, error?: string) => void;
}

/**
 * Where a session is in its life, the one place that says so:
 * `new` → `joining` (the room is being joined) → `running` (playing, paused or reconnecting, see
 * the status) → `ending` (its signal is aborted, the player fades out, the room is left) → `ended`.
 * A failed join goes from `joining` to `ending` too.
 */
export type SessionPhase = 'new' | 'joining' | 'running' | 'ending' | 'ended';

/** Stable codes for commands that could not be done; replies carry them as `error`. */
export type OutcomeCode =
  | 'not_playing'
  | 'no_songs'
  | 'no_match'
  | 'session_limit'
  | 'join_failed'
  | 'room_not_found'
  | 'room_not_allowed'
  | 'invalid_field'
  | 'room_busy'
  | 'queue_full'
  | 'shutting_down'
  | 'internal_error';

export interface Outcome {
  ok: boolean;
  message: string;
  code?: OutcomeCode;
}

/**
 * One device's music in one room: joins, plays, obeys commands, leaves. The session is the one
 * cancellation owner of everything it starts: its AbortSignal goes to the join (and every rejoin),
 * the presence and the sink; aborting it cancels what is awaited, and `end` tears down in order,
 * each step bounded in time.
 */
export class RoomSession extends EventEmitter<SessionEvents> {
  /** Playback state, playlist and command rules; the session does the async work around it. */
  private readonly machine: PlaybackMachine;
  private readonly aborter = new AbortController();
  private readonly bounds: TeardownBounds;
  private current: SessionPhase = 'new';
  private presence: ResilientRoom | undefined;
  private player: Player | undefined;
  private song: Song | undefined;
  private endReason: string | null = null;
  private lastFailure: SongFailure | null = null;
  /** Why the session must end, reported by its room or player and not yet run by its owner. */
  private requested: { reason: string; error?: string } | undefined;
  private ending: Promise<void> | undefined;
  // Continuity (src/session/session-state.ts): status sequence, resume in progress, position refresh.
  private seq: number;
  /** A resume in progress: its saved point, which the status says until the player exists (a shutdown meanwhile keeps it resumable). */
  private pendingResume: ResumePoint | undefined;
  private positionTimer: NodeJS.Timeout | undefined;
  /** Lowers the music while others speak; on for the device unless set_ducking turned it off. */
  private readonly ducker: Ducker | undefined;
  private duckingOn: boolean;
  private othersSpeaking = false;

  constructor(private readonly deps: SessionDeps) {
    super();
    this.ducker = deps.duck && new Ducker(deps.duck);
    this.duckingOn = this.ducker !== undefined;
    this.machine = new PlaybackMachine(deps.rng);
    this.bounds = { ...TEARDOWN_BOUNDS, ...deps.bounds };
    this.seq = deps.seq ?? 0;
  }

  get room(): string {
    return this.deps.room;
  }

  get phase(): SessionPhase {
    return this.current;
  }

  /** Cancels everything this session awaits or runs (join, rejoin, sink waits). */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** True once the session ends or must end: a command for it waits for `end`, then starts afresh. */
  get over(): boolean {
    return this.requested !== undefined || this.current === 'ending' || this.current === 'ended';
  }

  /**
   * Continuity: the session ended because another bot joined its room with the same identity (an
   * instance that took the room over). The room and its status are the other's now.
   */
  get displaced(): boolean {
    return this.endReason === IDENTITY_TAKEN;
  }

  /** Publishes the status now (a drain hands over the freshest position). */
  publishStatus(): void {
    this.emitStatus();
  }

  /** Cancels what the session awaits (a join in flight rejects at once); its owner then calls `end`. */
  abort(reason: string): void {
    if (!this.aborter.signal.aborted) this.aborter.abort(new Error(reason));
  }

  status(): DeviceStatus {
    const query = this.machine.request;
    const list = this.machine.playlist;
    const song = this.song ?? list?.current();
    const pending = this.player ? undefined : this.pendingResume;
    const position = song && this.player ? this.player.positionMs : pending ? pending.positionMs : null;
    const now = new Date().toISOString();
    return {
      device: this.deps.device,
      room: this.deps.room,
      // While the LiveKit connection is re-established, that is shown instead of the playback state.
      state: this.presence?.reconnecting && this.machine.active ? 'reconnecting' : this.player?.degradedCause && this.machine.state === 'playing' ? 'degraded' : sessionState(this.machine.state, this.pendingResume !== undefined),
      song: pending ? songInfo(pending.song, this.deps.durationOf?.(pending.song)) : songInfo(this.song, this.song && this.deps.durationOf?.(this.song)),
      volume: this.player?.volume ?? pending?.volume ?? 100,
      queue_length: this.machine.playlist?.queueLength ?? 0,
      queued: this.machine.playlist?.queuedCount ?? 0,
      repeat: this.machine.playlist?.repeat ?? 'off',
      shuffle: this.machine.playlist?.shuffle ?? true,
      language: query.language ?? null,
      genre: query.genre ?? null,
      error: this.machine.error ?? this.player?.degradedCause ?? null,
      last_failure: this.lastFailure,
      reason: this.endReason,
      position_ms: position,
      position_at: position === null ? null : now,
      queue: list?.upcomingIds(RESUME_LIST_LIMIT) ?? [],
      history: list?.historyIds(RESUME_LIST_LIMIT) ?? [],
      instance: this.deps.instance ?? null,
      seq: this.seq,
      ducking: this.duckingOn,
      ducked: this.ducker?.ducked ?? false,
      updated_at: now,
    };
  }

  /**
   * Joins and plays. Throws when the join fails or the signal aborts it; the owner then calls `end`.
   * With `resume` (continuity), the saved playlist, song position, volume and pause come back.
   */
  async start(query: SongQuery, resume?: ResumePoint, receivedAt?: number): Promise<Outcome> {
    if (this.over) return { ok: false, code: 'not_playing', message: 'Music streaming is stopping' };
    const selection = this.deps.catalog().select(query);
    const switching = this.machine.active && !sameQuery(query, this.machine.request);
    const t = this.machine.dispatch({ type: 'start', query, pool: selection.songs, note: selection.note });
    if (t.effect !== 'open') return this.restarted(t, switching);
    startTimings.begin(this.deps.room, receivedAt);
    startTimings.mark(this.deps.room, 'room_check');
    if (resume) {
      this.pendingResume = resume;
      this.machine.playlist!.restore(resume.song, resume.upcoming, resume.history);
      if (resume.paused) this.machine.dispatch({ type: 'pause' });
    }
    // The first song starts decoding while the room is joined, so its first frame is ready when the
    // track is published (spawning ffmpeg is off the path from the join to the first sound; for a
    // resume or handover, so is the seek). A join that fails kills it.
    // A paused resume keeps its position for when it plays, but decodes nothing before then.
    const first = resume ? { song: resume.song, ms: resume.positionMs } : this.firstSong();
    const early = first && !resume?.paused ? this.openEarly(first.song, first.ms) : undefined;
    this.current = 'joining';
    this.emitStatus();
    const presence = await ResilientRoom.open({
      room: this.deps.room,
      join: this.deps.join,
      log: this.deps.log,
      signal: this.aborter.signal,
      bounds: this.deps.bounds,
      random: this.deps.jitter,
      rejoinTimeoutMs: this.deps.rejoinTimeoutMs,
      emptyRoomTimeoutMs: this.deps.emptyRoomTimeoutMs,
      onFrame: () => this.deps.counters?.framesSent.inc(),
      onUnderrun: (ms) => this.deps.counters?.underrunSeconds.inc(ms / 1000),
    }).catch((err: unknown) => {
      early?.kill('join failed');
      throw err;
    });
    this.presence = presence;
    presence.on('reconnecting', () => this.emitStatus());
    presence.on('reconnected', () => {
      this.deps.counters?.rejoins.inc();
      this.emitStatus();
    });
    presence.on('ended', (reason, error) => this.requestEnd(reason, error));
    presence.on('speaking', (active) => {
      this.othersSpeaking = active;
      this.applyDucking();
    });

    // `decoder` times the first song's decoder only when it was not opened early (a prefetch is not it).
    const openDecoder = early ? this.deps.openDecoder : startTimings.marking(this.deps.room, 'decoder', this.deps.openDecoder);
    const player = new Player(this.machine.playlist!, presence.sink, openDecoder, {
      frameSamples: this.deps.frameSamples,
      channels: this.deps.channels,
      fadeSamples: this.deps.fadeSamples,
      crossfadeFrames: this.deps.crossfadeFrames,
      maxFailuresInRow: this.deps.maxFailuresInRow,
      outage: this.deps.outage,
      volume: resume?.volume,
      startAt: first ? { songId: first.song.id, ms: first.ms, decoder: early } : undefined,
      ducker: this.ducker,
      songGain: this.deps.songGain,
      sampleRate: this.deps.sampleRate,
    });
    this.player = player;
    player.on('songStarted', (song) => this.onSongStarted(song));
    player.on('songFailed', (song, err) => {
      this.deps.counters?.songFailures.inc();
      this.deps.log.warn('song failed; playing the next one', { song: song.id, url: redactUrl(song.url), ...failureFields(err) });
      this.notify({ type: 'music_song_failed', song_id: song.id, title: song.title, error: err.message });
      this.lastFailure = { id: song.id, title: song.title, error: err.message, at: new Date().toISOString() };
      this.emitStatus();
    });
    player.on('outputError', (err) => {
      this.deps.counters?.outputErrors.inc();
      this.deps.log.error('audio output failed; track rebuilt', errorFields(err));
    });
    player.on('failed', (err) => this.requestEnd('playback failed', err.message));
    // Source outage: the session stays; the room hears the fallback (or silence) until a retry plays.
    player.on('degraded', (cause) => {
      this.deps.log.warn('song source down; retrying with back-off', { cause, fallback: this.deps.outage?.fallback?.length ?? 0 });
      this.notify({ type: 'music_degraded', error: cause });
      this.emitStatus();
    });
    player.on('recovered', () => {
      this.deps.log.info('song source back; playlist resumed');
      this.notify({ type: 'music_recovered', message: 'Music resumed' });
      this.emitStatus();
    });
    this.machine.attach(player);
    this.current = 'running';
    player.start();
    this.song = this.machine.dispatch({ type: 'started' }).song;
    this.pendingResume = undefined;
    this.watchPosition();
    this.emitStatus();

    if (resume) {
      const message = `Music resumed after a bridge restart: ${resume.song.title}`;
      this.notify({ type: 'music_resumed', message, song_id: resume.song.id, position_ms: resume.positionMs, language: query.language ?? null, genre: query.genre ?? null });
      this.deps.log.info('music resumed', { song: resume.song.id, position_ms: resume.positionMs, paused: resume.paused, volume: resume.volume });
      return { ok: true, message };
    }
    const message = t.message;
    this.notify({ type: 'continuous_music_started', message, language: query.language ?? null, genre: query.genre ?? null });
    this.deps.log.info('music started', { language: query.language, genre: query.genre, pool: selection.songs.length });
    return { ok: true, message };
  }

  /** Opens the resumed song's decode now; a decoder that cannot even start is retried by the player. */
  private firstSong(): { song: Song; ms: number } | undefined {
    const song = this.machine.playlist?.current();
    return song && { song, ms: 0 };
  }

  /** The first song's decoder, opened before the player exists; undefined when opening fails (the player then opens it and meets the failure). */
  private openEarly(song: Song, ms: number): Decoder | undefined {
    try {
      return this.deps.openDecoder(song, ms);
    } catch {
      return undefined;
    }
  }

  /** A start while music runs: same request (resumes when paused), or a switch to another pool. */
  private restarted(t: Transition, switching: boolean): Outcome {
    const query = this.machine.request;
    const started = t.ok && switching ? { type: 'continuous_music_started', message: t.message, language: query.language ?? null, genre: query.genre ?? null } : undefined;
    this.afterMove(t, started);
    return outcome(t);
  }

  skip(): Outcome {
    return this.move({ type: 'skip' }, 'music_skipped');
  }

  previous(): Outcome {
    return this.move({ type: 'previous' }, 'music_previous');
  }

  pause(): Outcome {
    const t = this.machine.dispatch({ type: 'pause' });
    if (t.changed) {
      this.notify({ type: 'music_paused', message: t.message });
      this.emitStatus();
    }
    return outcome(t);
  }

  resume(): Outcome {
    const t = this.machine.dispatch({ type: 'resume' });
    this.afterMove(t);
    return outcome(t);
  }

  setVolume(volume: number): Outcome {
    const player = this.player;
    if (!player) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    player.volume = volume;
    this.notify({ type: 'music_volume_changed', message: `Volume set to ${volume}`, volume });
    this.emitStatus();
    return { ok: true, message: `Volume set to ${volume}` };
  }

  /** Plays the best match for `query` now, then the playlist carries on. */
  playSong(query: string, language?: string): Outcome {
    if (!this.machine.active) return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
    const found = this.deps.catalog().search(query, language)[0];
    if (!found) return { ok: false, code: 'no_match', message: `No song matches "${query}"` };
    return this.move({ type: 'playSong', song: found });
  }

  /** Plays the current song from `positionMs` (click-free: a fade-out, then a fade-in there); refused beyond the song. */
  seek(positionMs: number): Outcome {
    const player = this.player;
    if (!this.machine.active || !player || !this.song) return notPlaying();
    const duration = this.song.durationMs ?? this.deps.durationOf?.(this.song);
    if (duration !== undefined && positionMs >= duration) return { ok: false, code: 'invalid_field', message: `"position_ms" is beyond the song (${duration} ms)` };
    player.seek(positionMs);
    const message = `Seeked to ${formatMs(positionMs)}`;
    this.notify({ type: 'music_seeked', message, song_id: this.song.id, position_ms: positionMs });
    this.emitStatus();
    return { ok: true, message };
  }

  /** Turns ducking under speech on or off for this device's session. */
  setDucking(on: boolean): Outcome {
    if (!this.ducker) return { ok: false, code: 'invalid_field', message: 'ducking is off on this bridge (audio.duck)' };
    if (!this.machine.active) return notPlaying();
    const message = `Ducking under speech ${on ? 'on' : 'off'}`;
    if (on !== this.duckingOn) {
      this.duckingOn = on;
      this.notify({ type: 'music_ducking_changed', on, message });
      if (!this.applyDucking()) this.emitStatus();
    }
    return { ok: true, message };
  }

  /** The music goes down while others speak and ducking is on; the status says so when it changes (true). */
  private applyDucking(): boolean {
    if (!this.ducker) return false;
    const down = this.duckingOn && this.othersSpeaking;
    if (down === this.ducker.ducked) return false;
    this.ducker.ducked = down;
    this.deps.log.debug(down ? 'speech: music ducked' : 'speech over: music restored');
    this.emitStatus();
    return true;
  }

  /** Queues a song (by catalog id, or the best match for `query`) after the current one or at the end of the queue. */
  enqueue(pick: { query?: string; songId?: string; language?: string }, position: QueuePosition): Outcome {
    if (!this.machine.active) return notPlaying();
    const catalog = this.deps.catalog();
    const found = pick.songId !== undefined ? catalog.all().find((s) => s.id === pick.songId) : catalog.search(pick.query ?? '', pick.language)[0];
    if (!found) return { ok: false, code: 'no_match', message: pick.songId !== undefined ? 'No song has that id' : `No song matches "${pick.query}"` };
    return this.editQueue({ type: 'enqueue', song: found, position }, (t) => ({ type: 'music_queue_changed', action: 'enqueued', song_id: t.affected?.id, title: t.affected?.title, position }));
  }

  removeFromQueue(at: { index?: number; songId?: string }): Outcome {
    return this.editQueue({ type: 'dequeue', index: at.index, songId: at.songId }, (t) => ({ type: 'music_queue_changed', action: 'removed', song_id: t.affected?.id, title: t.affected?.title }));
  }

  clearQueue(): Outcome {
    return this.editQueue({ type: 'clearQueue' }, () => ({ type: 'music_queue_changed', action: 'cleared' }));
  }

  setRepeat(mode: RepeatMode): Outcome {
    return this.editQueue({ type: 'setRepeat', mode }, () => ({ type: 'music_repeat_changed', mode }));
  }

  setShuffle(on: boolean): Outcome {
    return this.editQueue({ type: 'setShuffle', on }, () => ({ type: 'music_shuffle_changed', on }));
  }

  /** The current song, the next `limit` and the last `limit` played; undefined when nothing plays. */
  queue(limit: number): QueueView | undefined {
    const list = this.machine.playlist;
    if (!list || !this.machine.active) return undefined;
    return {
      current: songInfo(this.song ?? list.current()),
      up_next: list.upNext(limit).map((e) => ({ id: e.song.id, title: e.song.title, queued: e.queued })),
      history: list.recent(limit).map((s) => ({ id: s.id, title: s.title })),
      queued: list.queuedCount,
      repeat: list.repeat,
      shuffle: list.shuffle,
    };
  }

  /** A queue, repeat or shuffle change: tells the room (with the queue's new length) and publishes the status. */
  private editQueue(cmd: PlaybackCommand, notice: (t: Transition) => Record<string, unknown>): Outcome {
    const t = this.machine.dispatch(cmd);
    if (t.ok && t.changed) {
      this.notify({ ...notice(t), message: t.message, queued: this.machine.playlist?.queuedCount ?? 0 });
      this.emitStatus();
    }
    return outcome(t);
  }

  /** Stops the music and leaves the room. A session already ending is awaited, not ended twice. */
  async stop(reason = 'stopped by command'): Promise<Outcome> {
    await this.end(reason);
    return { ok: true, message: 'Stopped continuous music streaming' };
  }

  /**
   * Ends the session: aborts its signal, fades the player out, tells the room, leaves it. Every
   * call gets the same ending; a cause the room or player reported first wins over `reason`.
   * Never rejects, and every await in it is bounded.
   */
  end(reason: string, error?: string): Promise<void> {
    const cause = this.requested ?? { reason, error };
    this.ending ??= this.teardown(cause.reason, cause.error);
    return this.ending;
  }

  private requestEnd(reason: string, error?: string): void {
    if (this.over) return;
    this.requested = { reason, error };
    this.emit('endRequested', reason, error);
  }

  private async teardown(reason: string, error?: string): Promise<void> {
    // Continuity: losing the identity to another instance of this fleet is a handover, not a failure
    // (to anyone else it is: the status says so).
    if (reason === IDENTITY_TAKEN && this.deps.handedOver?.()) error = undefined;
    this.current = 'ending';
    clearInterval(this.positionTimer);
    // Cancels a join or rejoin in flight; a sink without a track stops waiting, so the fade-out
    // goes into the room when there is one and ends at once when there is none.
    this.abort(reason);
    const { player, presence } = this;
    this.player = undefined;
    this.machine.dispatch({ type: 'stop' });
    const warn = (msg: string, fields: Record<string, unknown>) => this.deps.log.warn(msg, fields);
    if (player) await settleWithin(player.stop(), this.bounds.playerStopMs, 'stopping the player', warn);
    if (presence) {
      // Tell the room before leaving it; a room that is already gone simply misses the message.
      await this.send({ type: 'music_playback_stopped', message: reason });
      await this.send({ type: 'continuous_music_stopped', message: error ? `Music stopped: ${error}` : 'Stopped continuous music streaming' });
      await presence.close();
    }
    this.song = undefined;
    this.endReason = reason;
    this.machine.dispatch({ type: 'stopped', error });
    this.current = 'ended';
    this.deps.log[error ? 'error' : 'info']('session ended', { reason, ...(error ? { error } : {}) });
    try {
      this.emit('ended', reason, error);
    } catch (err) {
      this.deps.log.error('a listener of the session end failed', errorFields(err));
    }
  }

  private onSongStarted(song: Song): void {
    this.deps.counters?.songsStarted.inc();
    this.song = song;
    this.deps.log.info('song started', { song: song.id, title: song.title });
    const timings = startTimings.finish(this.deps.room, 'first_frame');
    if (timings) this.deps.log.debug('start timings', timings);
    this.notify({ type: 'music_playback_started', title: song.title, language: song.language, song_id: song.id });
    this.emitStatus();
  }

  /** Skip, previous, play a song: the machine moves the playlist (through the player). */
  private move(cmd: PlaybackCommand, notice?: string): Outcome {
    const t = this.machine.dispatch(cmd);
    this.afterMove(t, notice ? { type: notice, message: t.message } : undefined);
    return outcome(t);
  }

  /** Tells the room what changed (a paused session playing again first) and publishes the status. */
  private afterMove(t: Transition, notice?: Record<string, unknown>): void {
    if (!t.changed) return;
    if (t.song) this.song = t.song;
    if (t.resumed) this.notify({ type: 'music_resumed', message: 'Music resumed' });
    if (notice) this.notify(notice);
    this.emitStatus();
  }

  private emitStatus(): void {
    this.seq++;
    this.emit('status', this.status());
  }

  /** Continuity: while playing, the position is published again every `positionIntervalMs`. */
  private watchPosition(): void {
    const ms = this.deps.positionIntervalMs ?? 0;
    if (ms <= 0) return;
    this.positionTimer = setInterval(() => {
      if (this.current === 'running' && this.machine.state === 'playing') this.emitStatus();
    }, ms);
    this.positionTimer.unref?.();
  }

  /** Fire-and-forget data message: a slow data channel must never hold up a command. */
  private notify(message: Record<string, unknown>): void {
    void this.send(message);
  }

  /** One data message, bounded: a slow or dead data channel costs at most `messageMs`. */
  private async send(message: Record<string, unknown>): Promise<void> {
    const presence = this.presence;
    if (!presence) return;
    await settleWithin(presence.send(MUSIC_CONTROL_TOPIC, message), this.bounds.messageMs, `data message ${String(message.type)}`, (msg, fields) =>
      this.deps.log.warn(msg, { type: message.type, ...fields }),
    );
  }
}

function formatMs(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
}

function notPlaying(): Outcome {
  return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
}

function outcome(t: Transition): Outcome {
  return t.code ? { ok: t.ok, code: t.code, message: t.message } : { ok: t.ok, message: t.message };
}

/** The machine's state as the status shows it: a stopping room is on its way to idle. */
function sessionState(state: PlaybackState, resuming: boolean): SessionState {
  if (state === 'starting' && resuming) return 'resuming';
  return state === 'stopping' ? 'idle' : state;
}
