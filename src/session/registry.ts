import { EventEmitter } from 'eventemitter3';
import { errorFields, type Logger } from '../ops/logger';
import { startTimings } from '../ops/start-timings';
import { settleWithin, SHUTDOWN_SESSIONS_MS } from './bounded';
import type { CommandEnvelope } from './commands';
import { RoomNotFoundError, RoomRefusedError, type RoomResolver } from './room-resolver';
import type { Outcome, OutcomeCode, RoomSession } from './room-session';
import type { ResumePoint } from './session-state';
import { idleStatus, type DeviceStatus, type QueueView } from './status';

export interface CommandResult extends Outcome {
  status: DeviceStatus;
  /** The answer of `get_queue`. */
  queue?: QueueView;
}

export interface RegistryOptions {
  rooms: RoomResolver;
  maxSessions: number;
  /** Commands one device may have waiting or running; more are answered `queue_full` at once. */
  queueLimit: number;
  /** Devices whose last status is remembered without a session (least recently used forgotten first). */
  maxRememberedDevices: number;
  /** `seq`: the device's last status sequence number, which the new session's statuses continue. */
  createSession: (device: string, room: string, seq?: number) => RoomSession;
  log: Logger;
  /** Longest a shutdown waits for every session to end; default SHUTDOWN_SESSIONS_MS. */
  shutdownTimeoutMs?: number;
  /**
   * Continuity (sessions.resume): a shutdown leaves each session's last status saying what played
   * (with reason "bridge shutting down"), so the next start resumes it; a stop still says idle.
   */
  keepOnShutdown?: boolean;
  /**
   * Continuity: whether another live instance of the fleet owns the device now. A session displaced
   * from its room (DUPLICATE_IDENTITY) by such an instance publishes no final status: it is theirs.
   */
  takenOver?: (device: string) => boolean;
}

/** Why a resume was not done; the device's status then says idle with this reason. */
export type ResumeCheck = () => Promise<string | undefined>;

export interface RegistryEvents {
  /** A device's status changed; publish it. */
  status: (status: DeviceStatus) => void;
}

/** One device's commands in arrival order; `length` counts those waiting or running. */
interface DeviceQueue {
  tail: Promise<void>;
  length: number;
}

/**
 * The one place that knows what runs: one session per device, one music session per room.
 * Everything that changes a session goes through its device's queue in arrival order: commands,
 * and also the ends a session asks for (room gone, playback failed) and the shutdown, so no end
 * ever races a start. Different devices run in parallel. Every map here is bounded.
 */
export class SessionRegistry extends EventEmitter<RegistryEvents> {
  private readonly sessions = new Map<string, RoomSession>();
  /** room → device whose session plays (or joins, or is ending) there. */
  private readonly rooms = new Map<string, string>();
  /** Present only while a device has commands waiting or running. */
  private readonly queues = new Map<string, DeviceQueue>();
  /** Last status of devices without a session (idle, or the error that ended it); an LRU. */
  private readonly lastStatus = new Map<string, DeviceStatus>();
  private closing: Promise<void> | undefined;
  /** Continuity: each session's status as the shutdown began, published as its last word. */
  private readonly suspended = new Map<string, DeviceStatus>();
  /** Continuity: a drain hands the sessions to peers; their final statuses are not published. */
  private handingOver = false;

  constructor(private readonly opts: RegistryOptions) {
    super();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Devices with commands waiting or running (bounded by the devices that sent any). */
  get queuedDevices(): number {
    return this.queues.size;
  }

  /** True while the device has a session or queued work here (continuity: this instance owns it). */
  holds(device: string): boolean {
    return this.sessions.has(device) || this.queues.has(device);
  }

  /**
   * Continuity: a drain. Publishes every session's status now (the freshest position for the peers
   * that take over), and from now on a session's end publishes nothing: the status is the peer's.
   */
  get handingOverNow(): boolean {
    return this.handingOver;
  }

  handOver(): DeviceStatus[] {
    this.handingOver = true;
    for (const session of this.sessions.values()) session.publishStatus();
    return [...this.sessions.values()].map((s) => s.status());
  }

  get rememberedDevices(): number {
    return this.lastStatus.size;
  }

  statuses(): DeviceStatus[] {
    const out = new Map(this.lastStatus);
    for (const [device, s] of this.sessions) out.set(device, s.status());
    return [...out.values()];
  }

  status(device: string): DeviceStatus {
    return this.sessions.get(device)?.status() ?? this.lastStatus.get(device) ?? idleStatus(device);
  }

  /** Runs a device's command after those before it. Never rejects for a refusal; answers at once when refused. */
  execute(device: string, envelope: CommandEnvelope): Promise<CommandResult> {
    if (this.closing) return Promise.resolve(this.refusal(device, 'shutting_down'));
    const queued = this.queues.get(device)?.length ?? 0;
    if (queued >= this.opts.queueLimit) {
      return Promise.resolve(this.refusal(device, 'queue_full', `too many commands waiting for this device: the limit is ${this.opts.queueLimit}`));
    }
    return this.enqueue(device, () => this.dispatch(device, envelope));
  }

  /**
   * Ends every session and refuses every command from now on. Each session's signal is aborted
   * first (joins in flight give up at once), then each ends through its device's queue; the whole
   * is bounded by `shutdownTimeoutMs`. Safe to call twice.
   */
  shutdown(reason = 'bridge shutting down'): Promise<void> {
    this.closing ??= (async () => {
      const sessions = [...this.sessions.entries()];
      this.opts.log.info('ending every session', { sessions: sessions.length });
      if (this.opts.keepOnShutdown) for (const [device, session] of sessions) this.suspended.set(device, session.status());
      for (const [, session] of sessions) session.abort(reason);
      const endings = sessions.map(([device, session]) => this.enqueue(device, () => session.end(reason)));
      const ms = this.opts.shutdownTimeoutMs ?? SHUTDOWN_SESSIONS_MS;
      await settleWithin(Promise.all(endings), ms, 'ending every session', (msg, fields) => this.opts.log.warn(msg, fields));
    })();
    return this.closing;
  }

  /**
   * Continuity: resumes a device's session from its saved state, in the device's queue like a
   * command (so commands that arrive meanwhile run after it). `check` runs first, in the queue: a
   * reason from it ends the saved session instead (its status says idle with that reason).
   */
  resume(device: string, room: string, point: ResumePoint, check: ResumeCheck): Promise<CommandResult> {
    if (this.closing) return Promise.resolve(this.refusal(device, 'shutting_down'));
    return this.enqueue(device, async (): Promise<CommandResult> => {
      if (this.closing) return this.refusal(device, 'shutting_down');
      if (this.sessions.has(device)) return { ok: false, code: 'room_busy', message: 'the device already has a session', status: this.status(device) };
      const problem = (this.rooms.has(room) ? `another device's music plays in room "${room}"` : undefined) ??
        (this.sessions.size >= this.opts.maxSessions ? `too many sessions: the limit is ${this.opts.maxSessions}` : undefined) ??
        (await check());
      if (problem !== undefined) {
        const idle = { ...idleStatus(device, null, `not resumed: ${problem}`, point.seq + 1) };
        this.remember(idle);
        this.emit('status', idle);
        return { ok: false, code: 'not_playing', message: idle.reason!, status: idle };
      }
      if (this.closing) return this.refusal(device, 'shutting_down');
      return this.startNew(device, room, point.query, point);
    });
  }

  /** Appends `task` to the device's queue; the queue is removed once empty. */
  private enqueue<T>(device: string, task: () => Promise<T>): Promise<T> {
    let q = this.queues.get(device);
    if (!q) {
      q = { tail: Promise.resolve(), length: 0 };
      this.queues.set(device, q);
    }
    const queue = q;
    queue.length++;
    const run = queue.tail.then(task);
    queue.tail = run.then(noop, noop).then(() => {
      if (--queue.length === 0 && this.queues.get(device) === queue) this.queues.delete(device);
    });
    return run;
  }

  private refusal(device: string, code: OutcomeCode, message?: string): CommandResult {
    const text = message ?? (code === 'shutting_down' ? 'the bridge is shutting down' : code);
    return { ok: false, code, message: text, status: this.status(device) };
  }

  private async dispatch(device: string, { command, sessionId }: CommandEnvelope): Promise<CommandResult> {
    if (this.closing) return this.refusal(device, 'shutting_down');
    const session = this.sessions.get(device);
    const result = (o: Outcome): CommandResult => ({ ...o, status: this.status(device) });
    switch (command.type) {
      case 'start_continuous_music': {
        const receivedAt = startTimings.now(); // a start's timings begin with the room check
        let room: string;
        try {
          room = await this.opts.rooms.resolve(device, sessionId);
        } catch (err) {
          if (err instanceof RoomRefusedError) return result({ ok: false, code: err.code, message: err.message });
          if (!(err instanceof RoomNotFoundError)) throw err;
          return result({ ok: false, code: 'room_not_found', message: err.message });
        }
        if (this.closing) return this.refusal(device, 'shutting_down');
        const busy = this.busyRoom(device, room);
        if (busy) return busy;
        // A session in another room, or one whose room or player is gone, ends first (the same
        // ending when it is under way), then the start begins afresh.
        if (session && (session.room !== room || session.over)) await session.end(`moving to room ${room}`);
        if (this.closing) return this.refusal(device, 'shutting_down');
        const current = this.sessions.get(device);
        if (current) return result(await current.start(command));
        if (this.sessions.size >= this.opts.maxSessions) {
          return result({ ok: false, code: 'session_limit', message: `too many sessions: the limit is ${this.opts.maxSessions}` });
        }
        return this.busyRoom(device, room) ?? this.startNew(device, room, command, undefined, receivedAt);
      }
      case 'stop_continuous_music':
        if (!session) return result({ ok: true, message: 'Music streaming is not active' });
        return result(await session.stop());
      case 'skip_music':
        return result(session ? session.skip() : notPlaying());
      case 'previous_music':
        return result(session ? session.previous() : notPlaying());
      case 'pause_music':
        return result(session ? session.pause() : notPlaying());
      case 'resume_music':
        return result(session ? session.resume() : notPlaying());
      case 'set_volume':
        return result(session ? session.setVolume(command.volume) : notPlaying());
      case 'play_song':
        return result(session ? session.playSong(command.query, command.language) : notPlaying());
      case 'enqueue_music':
        return result(session ? session.enqueue(command, command.position) : notPlaying());
      case 'remove_from_queue':
        return result(session ? session.removeFromQueue(command) : notPlaying());
      case 'clear_queue':
        return result(session ? session.clearQueue() : notPlaying());
      case 'set_repeat':
        return result(session ? session.setRepeat(command.mode) : notPlaying());
      case 'set_shuffle':
        return result(session ? session.setShuffle(command.on) : notPlaying());
      case 'seek_music':
        return result(session ? session.seek(command.positionMs) : notPlaying());
      case 'set_ducking':
        return result(session ? session.setDucking(command.on) : notPlaying());
      case 'get_queue': {
        const queue = session?.queue(command.limit);
        return queue ? { ...result({ ok: true, message: `${queue.queued} queued` }), queue } : result(notPlaying());
      }
      case 'get_status':
        return result({ ok: true, message: session ? `Music is ${session.status().state}` : 'Music streaming is not active' });
    }
  }

  /** One music session per room: another device's music there is left alone. */
  private busyRoom(device: string, room: string): CommandResult | undefined {
    const owner = this.rooms.get(room);
    if (owner === undefined || owner === device) return undefined;
    this.opts.log.warn('start refused: another device plays in the room', { device, room });
    return this.refusal(device, 'room_busy', `another device's music plays in room "${room}"`);
  }

  private async startNew(device: string, room: string, query: { language?: string; genre?: string }, resume?: ResumePoint, receivedAt?: number): Promise<CommandResult> {
    const session = this.opts.createSession(device, room, this.lastStatus.get(device)?.seq ?? resume?.seq);
    this.sessions.set(device, session);
    this.rooms.set(room, device);
    this.lastStatus.delete(device);
    session.on('status', (s) => this.emit('status', s));
    // The room or player asked to end: that end runs in the device's queue like a stop.
    session.on('endRequested', (reason, error) => {
      this.opts.log.info('session must end; queued', { device, room, reason, ...(error ? { error } : {}) });
      this.enqueue(device, () => session.end(reason, error)).catch((err: unknown) => this.opts.log.error('session end failed', { device, ...errorFields(err) }));
    });
    session.on('ended', () => this.forget(device, session));
    try {
      const outcome = await session.start({ language: query.language, genre: query.genre }, resume, receivedAt);
      if (!outcome.ok) await session.end(outcome.message);
      return { ...outcome, status: this.status(device) };
    } catch (err) {
      const aborted = session.signal.aborted;
      const message = aborted ? `start of music in room "${room}" cancelled` : `could not start music in room "${room}": ${errorFields(err).error}`;
      if (!aborted) this.opts.log.error('start failed', { device, room, ...errorFields(err) });
      await session.end('start failed', message);
      return { ok: false, code: this.closing ? 'shutting_down' : 'join_failed', message, status: this.status(device) };
    }
  }

  /** A session ended: its device and room are free; its last status is remembered (bounded). */
  private forget(device: string, session: RoomSession): void {
    if (this.sessions.get(device) === session) this.sessions.delete(device);
    if (this.rooms.get(session.room) === device) this.rooms.delete(session.room);
    const last = session.status();
    const suspended = this.suspended.get(device);
    this.suspended.delete(device);
    session.removeAllListeners();
    if (this.handingOver || (session.displaced && this.opts.takenOver?.(device))) {
      // Another instance plays in the room now (or will): its status must not be overwritten.
      this.opts.log.info('session handed over', { device, room: session.room, displaced: session.displaced });
      return;
    }
    if (suspended && suspended.state !== 'idle' && suspended.state !== 'error' && suspended.position_ms !== null) {
      // Shut down while music was on: the retained status keeps saying so, for the next start.
      this.emit('status', { ...suspended, reason: 'bridge shutting down', seq: last.seq + 1, updated_at: new Date().toISOString() });
      return;
    }
    const final = { ...last, room: null, seq: last.seq + 1 };
    this.remember(final);
    this.emit('status', final);
  }

  private remember(status: DeviceStatus): void {
    this.lastStatus.delete(status.device);
    this.lastStatus.set(status.device, status);
    while (this.lastStatus.size > this.opts.maxRememberedDevices) {
      const oldest = this.lastStatus.keys().next().value as string;
      this.lastStatus.delete(oldest);
    }
  }
}

function notPlaying(): Outcome {
  return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
}

function noop(): void {}
