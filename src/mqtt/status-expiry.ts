/**
 * When the bridge last published the retained status of each idle device, so statuses of devices
 * idle longer than `mqtt.statusTtlSeconds` can be cleared from the broker. Bounded: past
 * `maxDevices`, the device idle longest is forgotten (its status then stays retained, the
 * pre-TTL behaviour, rather than growing the map without end).
 */
export class StatusExpiry {
  private readonly idleSince = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxDevices = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** Records a published status: idle ones start (or restart) the clock, active ones stop it. */
  published(device: string, idle: boolean): void {
    this.idleSince.delete(device);
    if (!idle || !this.enabled) return;
    if (this.idleSince.size >= this.maxDevices) this.idleSince.delete(this.idleSince.keys().next().value as string);
    this.idleSince.set(device, this.now());
  }

  /**
   * A retained status found on the broker (published by an earlier run) for a device without a
   * session: its clock starts at its `updated_at`. Ignored when this run already tracks the device.
   */
  foundRetained(device: string, updatedAtMs: number): void {
    if (!this.enabled || this.idleSince.has(device)) return;
    if (this.idleSince.size >= this.maxDevices) return; // the map is full: keep what this run published
    this.idleSince.set(device, Math.min(updatedAtMs, this.now()));
  }

  /** True while the device's idle status is still within its TTL (or TTLs are off). */
  current(device: string): boolean {
    return !this.enabled || this.idleSince.has(device);
  }

  /** Devices whose idle status outlived the TTL; they are forgotten here, the caller clears them. */
  takeExpired(): string[] {
    const limit = this.now() - this.ttlMs;
    const out: string[] = [];
    // A full scan: statuses found on the broker are not in time order (bounded by maxDevices).
    for (const [device, at] of this.idleSince) if (at <= limit) out.push(device);
    for (const d of out) this.idleSince.delete(d);
    return out;
  }

  get size(): number {
    return this.idleSince.size;
  }
}
