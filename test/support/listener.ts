import { JsonProcess } from './processes';
import { LIVEKIT_KEY, LIVEKIT_SECRET, stackInfo } from './stack';

/** One line of `music-bridge listen --json`: a 10 ms frame, or an event. */
export interface Heard {
  t: number;
  /** The participant whose track a frame came from. */
  from?: string;
  rms?: number;
  hz?: number;
  event?: string;
  topic?: string | null;
  identity?: string;
  message?: Record<string, unknown>;
}

export const AUDIBLE_RMS = 0.02;
export const HZ_TOLERANCE = 12;

/**
 * A real participant in the room (rtc-node AudioStream, in its own process) that reports, per
 * 10 ms frame, the level and the dominant frequency it heard.
 */
export class Listener extends JsonProcess<Heard> {
  static async join(room: string, opts: { identity?: string; url?: string; timeoutMs?: number } = {}): Promise<Listener> {
    const stack = stackInfo();
    const identity = opts.identity ? ['--identity', opts.identity] : [];
    const l = new Listener(['listen', '--room', room, '--json', '--url', opts.url ?? stack.livekitUrl, ...identity], { LIVEKIT_API_KEY: LIVEKIT_KEY, LIVEKIT_API_SECRET: LIVEKIT_SECRET, LOG_LEVEL: 'warn' });
    try {
      await l.lines.next((h) => h.event === 'joined', `listener joined ${room}`, opts.timeoutMs ?? 20000);
    } catch (err) {
      await l.stop('SIGKILL'); // a listener that never joined is not left running
      throw err;
    }
    return l;
  }

  /**
   * One listener per room, at most `concurrency` starting at once: twenty Node processes loading
   * rtc-node together on a loaded 2-core machine take longer to join than any one of them should.
   */
  static async joinAll(rooms: string[], opts: { url?: string; concurrency?: number } = {}): Promise<Listener[]> {
    const out = new Array<Listener>(rooms.length);
    let next = 0;
    const started: Listener[] = [];
    const worker = async (): Promise<void> => {
      while (next < rooms.length) {
        const i = next++;
        out[i] = await Listener.join(rooms[i]!, { url: opts.url, timeoutMs: 30000 });
        started.push(out[i]!);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, rooms.length) }, worker));
    } catch (err) {
      await Promise.all(started.map((l) => l.stop()));
      throw err;
    }
    return out;
  }

  get frames(): Heard[] {
    return this.lines.items.filter((h) => h.rms !== undefined);
  }

  /** Index to pass as `from` so a wait only considers what is heard after now. */
  get mark(): number {
    return this.lines.items.length;
  }

  /** Waits for `frames` consecutive audible frames of one of `hzs`; returns the frequency heard. */
  async hearTone(hzs: number[], what: string, from = 0, timeoutMs = 15000, frames = 10): Promise<number> {
    let run = 0;
    let runHz = 0;
    let heard = 0;
    let checked = from;
    await this.lines.until(
      (items) => {
        for (; checked < items.length; checked++) {
          const h = items[checked]!;
          if (h.rms === undefined) continue;
          const match = h.rms >= AUDIBLE_RMS ? hzs.find((hz) => Math.abs(hz - (h.hz ?? 0)) <= HZ_TOLERANCE) : undefined;
          if (match !== undefined && match === runHz) run++;
          else [run, runHz] = match !== undefined ? [1, match] : [0, 0];
          if (run >= frames) {
            heard = runHz;
            return true;
          }
        }
        return false;
      },
      what,
      timeoutMs,
    );
    return heard;
  }

  /** Waits for `frames` consecutive silent frames (50 = half a second). */
  async hearSilence(what: string, from = 0, timeoutMs = 15000, frames = 50): Promise<void> {
    let run = 0;
    let checked = from;
    await this.lines.until(
      (items) => {
        for (; checked < items.length; checked++) {
          const h = items[checked]!;
          if (h.rms === undefined) continue;
          run = h.rms < AUDIBLE_RMS / 4 ? run + 1 : 0;
          if (run >= frames) return true;
        }
        return false;
      },
      what,
      timeoutMs,
    );
  }

  /** Waits for a data message on `topic` whose `type` is `type`. */
  async data(topic: string, type: string, from = 0, timeoutMs = 15000): Promise<Record<string, unknown>> {
    const h = await this.lines.next((x) => x.event === 'data' && x.topic === topic && x.message?.type === type, `data message ${type}`, timeoutMs, from);
    return h.message!;
  }
}
