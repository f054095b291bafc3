import { EventEmitter } from 'eventemitter3';
import type { CommandEnvelope } from '../mqtt/commands';
import { errorFields, type Logger } from '../ops/logger';
import { RoomNotFoundError, RoomRefusedError, type RoomResolver } from './room-resolver';
import type { Outcome, RoomSession } from './room-session';
import { idleStatus, type DeviceStatus } from './status';

export interface CommandResult extends Outcome {
  status: DeviceStatus;
}

export interface RegistryOptions {
  rooms: RoomResolver;
  maxSessions: number;
  createSession: (device: string, room: string) => RoomSession;
  log: Logger;
}

export interface RegistryEvents {
  /** A device's status changed; publish it. */
  status: (status: DeviceStatus) => void;
}

/**
 * The one place that knows what runs: one session per device. Commands for one device run in
 * arrival order (a per-device promise chain); different devices run in parallel.
 */
export class SessionRegistry extends EventEmitter<RegistryEvents> {
  private readonly sessions = new Map<string, RoomSession>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Last status of devices without a session (idle, or the error that ended it). */
  private readonly lastStatus = new Map<string, DeviceStatus>();

  constructor(private readonly opts: RegistryOptions) {
    super();
  }

  get size(): number {
    return this.sessions.size;
  }

  statuses(): DeviceStatus[] {
    const out = new Map(this.lastStatus);
    for (const [device, s] of this.sessions) out.set(device, s.status());
    return [...out.values()];
  }

  status(device: string): DeviceStatus {
    return this.sessions.get(device)?.status() ?? this.lastStatus.get(device) ?? idleStatus(device);
  }

  execute(device: string, envelope: CommandEnvelope): Promise<CommandResult> {
    const run = (this.queues.get(device) ?? Promise.resolve()).then(() => this.dispatch(device, envelope));
    const tail = run.catch(() => undefined);
    this.queues.set(device, tail);
    void tail.then(() => {
      if (this.queues.get(device) === tail) this.queues.delete(device);
    });
    return run;
  }

  /** Stops every session (shutdown). */
  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.stop(reason)));
  }

  private async dispatch(device: string, { command, sessionId }: CommandEnvelope): Promise<CommandResult> {
    const session = this.sessions.get(device);
    const result = (o: Outcome): CommandResult => ({ ...o, status: this.status(device) });
    switch (command.type) {
      case 'start_continuous_music': {
        let room: string;
        try {
          room = await this.opts.rooms.resolve(device, sessionId);
        } catch (err) {
          if (err instanceof RoomRefusedError) return result({ ok: false, code: err.code, message: err.message });
          if (!(err instanceof RoomNotFoundError)) throw err;
          return result({ ok: false, code: 'room_not_found', message: err.message });
        }
        if (session && session.room !== room) await session.stop(`moving to room ${room}`);
        const current = this.sessions.get(device);
        if (current) return result(await current.start(command));
        if (this.sessions.size >= this.opts.maxSessions) {
          return result({ ok: false, code: 'session_limit', message: `too many sessions: the limit is ${this.opts.maxSessions}` });
        }
        return this.startNew(device, room, command);
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
      case 'get_status':
        return result({ ok: true, message: session ? `Music is ${session.status().state}` : 'Music streaming is not active' });
    }
  }

  private async startNew(device: string, room: string, query: { language?: string; genre?: string }): Promise<CommandResult> {
    const session = this.opts.createSession(device, room);
    this.sessions.set(device, session);
    this.lastStatus.delete(device);
    session.on('status', (s) => this.emit('status', s));
    session.on('ended', () => {
      if (this.sessions.get(device) === session) this.sessions.delete(device);
      const final = session.status();
      this.lastStatus.set(device, { ...final, room: null });
      this.emit('status', { ...final, room: null });
    });
    try {
      const outcome = await session.start({ language: query.language, genre: query.genre });
      if (!outcome.ok) await session.stop(outcome.message);
      return { ...outcome, status: this.status(device) };
    } catch (err) {
      const message = `could not start music in room "${room}": ${errorFields(err).error}`;
      this.opts.log.error('start failed', { device, room, ...errorFields(err) });
      this.sessions.delete(device);
      session.removeAllListeners();
      const status = idleStatus(device, message);
      this.lastStatus.set(device, status);
      this.emit('status', status);
      void session.stop('start failed');
      return { ok: false, code: 'join_failed', message, status };
    }
  }
}

function notPlaying(): Outcome {
  return { ok: false, code: 'not_playing', message: 'No music is currently playing' };
}
