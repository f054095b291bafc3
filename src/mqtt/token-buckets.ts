/**
 * One token bucket per key (a device id), for rate limits. The map is bounded: when full, the key
 * used least recently goes. Forgetting a bucket only ever refills it, so eviction can loosen a
 * limit for a device unseen for a while, never block one wrongly.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`: true when there was one. */
  take(key: string): boolean {
    const now = this.now();
    const b = this.buckets.get(key);
    let tokens = this.burst;
    if (b) {
      tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      this.buckets.delete(key); // re-inserted below: Map order is recency order
    } else if (this.buckets.size >= this.maxKeys) {
      this.buckets.delete(this.buckets.keys().next().value as string);
    }
    const ok = tokens >= 1;
    this.buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: now });
    return ok;
  }

  get size(): number {
    return this.buckets.size;
  }
}
