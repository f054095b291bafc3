import type { Logger } from '../ops/logger';

/**
 * Warnings that a hostile client can trigger at will (a flood, a refused publish) are logged at
 * most once per interval and key; the next line says how many were left out. Keys are codes, not
 * device ids, so the map stays small.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = this.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    if (!seen && this.last.size >= 1000) this.last.clear();
    this.log.warn(message, seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}
