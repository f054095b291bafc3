import type { ServerResponse } from 'node:http';
import type { DeviceStatus } from '../../session/status';

/** Where the feed reads sessions from (the session registry, structurally). */
export interface StatusSource {
  statuses(): DeviceStatus[];
  on(event: 'status', listener: (s: DeviceStatus) => void): unknown;
  off(event: 'status', listener: (s: DeviceStatus) => void): unknown;
}

/** Where the current song is: elapsed ms at `at`, advancing while `running`. */
export interface Progress {
  elapsed_ms: number;
  at: number;
  running: boolean;
}

/** A session as the console shows it: its status plus the progress of its song. */
export interface ConsoleSession extends DeviceStatus {
  progress: Progress | null;
}

interface SongClock {
  songId: string;
  startedAt: number;
  pausedAt: number | null;
  pausedMs: number;
}

const MAX_CLIENTS = 32;
const KEEPALIVE_MS = 15_000;

/**
 * Pushes every session change to the console's browsers as server-sent events: a `snapshot` on
 * connect, then one `session` event per status change, and `health` now and then. The status has
 * no playback position, so the song's start (the status that first named it) and pauses are
 * tracked here. Bounded: at most MAX_CLIENTS streams; clocks only for live sessions.
 */
export class SessionFeed {
  private readonly clients = new Set<ServerResponse>();
  private readonly clocks = new Map<string, SongClock>();
  private readonly onStatus = (s: DeviceStatus): void => this.publish(s);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: { source: StatusSource; health: () => Promise<Record<string, unknown>>; now?: () => number; keepaliveMs?: number },
  ) {
    o.source.on('status', this.onStatus);
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  sessions(): ConsoleSession[] {
    return this.o.source.statuses().filter(live).map((s) => this.view(s));
  }

  /** Starts a stream on `res`; false when too many are open (the caller answers 503). */
  subscribe(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopTimer();
    });
    send(res, 'snapshot', { sessions: this.sessions() });
    void this.pushHealth([res]);
    this.timer ??= setInterval(() => {
      for (const c of this.clients) c.write(': keepalive\n\n');
      void this.pushHealth([...this.clients]);
    }, this.o.keepaliveMs ?? KEEPALIVE_MS).unref();
    return true;
  }

  /** Ends every stream (daemon shutdown) and stops listening. */
  close(): void {
    this.o.source.off('status', this.onStatus);
    this.stopTimer();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async pushHealth(to: ServerResponse[]): Promise<void> {
    const health = await this.o.health().catch((err: unknown) => ({ ok: false, error: String(err) }));
    for (const c of to) if (this.clients.has(c)) send(c, 'health', health);
  }

  private publish(s: DeviceStatus): void {
    const view = this.view(s);
    if (!live(s)) this.clocks.delete(s.device);
    const event = format('session', view);
    for (const c of this.clients) c.write(event);
  }

  private view(s: DeviceStatus): ConsoleSession {
    return { ...s, progress: live(s) ? this.progress(s) : null };
  }

  private progress(s: DeviceStatus): Progress | null {
    if (!s.song) {
      this.clocks.delete(s.device);
      return null;
    }
    const at = Date.parse(s.updated_at) || this.now();
    let clock = this.clocks.get(s.device);
    if (!clock || clock.songId !== s.song.id) {
      clock = { songId: s.song.id, startedAt: at, pausedAt: null, pausedMs: 0 };
      this.clocks.set(s.device, clock);
    }
    const paused = s.state !== 'playing';
    if (paused && clock.pausedAt === null) clock.pausedAt = at;
    if (!paused && clock.pausedAt !== null) {
      clock.pausedMs += Math.max(0, at - clock.pausedAt);
      clock.pausedAt = null;
    }
    const now = this.now();
    const until = clock.pausedAt ?? now;
    return { elapsed_ms: Math.max(0, until - clock.startedAt - clock.pausedMs), at: now, running: !paused };
  }
}

function live(s: DeviceStatus): boolean {
  return s.room !== null && s.state !== 'idle';
}

function format(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(format(event, data));
}
