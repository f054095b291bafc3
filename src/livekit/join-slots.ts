/** What the slots report their occupancy to (a prom-client Gauge fits). */
export interface InFlightGauge {
  set(value: number): void;
}

/**
 * A counting semaphore for room joins. After a LiveKit restart every session rejoins at once;
 * capping the joins in flight keeps the burst from starving the event loop (each join is a
 * WebSocket, a WebRTC negotiation and FFI traffic) and from timing itself out. A waiter whose
 * signal aborts leaves the queue at once and never takes a slot.
 */
export class JoinSlots {
  private used = 0;
  private readonly waiting: Array<{ grant: () => void; signal: AbortSignal; drop: () => void }> = [];

  constructor(readonly capacity: number, private readonly gauge: InFlightGauge = { set: () => undefined }) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`join slots: capacity must be a positive integer, got ${capacity}`);
    gauge.set(0);
  }

  get inFlight(): number {
    return this.used;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function once a slot is free; rejects with the signal's reason if it
   * aborts first. Call the release exactly once (further calls do nothing).
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.used < this.capacity) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const entry = {
        signal,
        grant: () => {
          signal.removeEventListener('abort', entry.drop);
          resolve(this.take());
        },
        drop: () => {
          const at = this.waiting.indexOf(entry);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(abortReason(signal));
        },
      };
      signal.addEventListener('abort', entry.drop, { once: true });
      this.waiting.push(entry);
    });
  }

  private take(): () => void {
    this.used++;
    this.gauge.set(this.used);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
      const next = this.waiting.shift();
      // The freed slot passes straight to the next waiter, so the count never dips and refills.
      if (next) next.grant();
      else this.gauge.set(this.used);
    };
  }
}

export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('join aborted');
}
