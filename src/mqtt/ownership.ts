import { createHash } from 'node:crypto';

/** Most devices whose owner is tracked (active sessions across the fleet); beyond it new ones fall back to the hash. */
export const MAX_TRACKED_DEVICES = 100_000;

const ACTIVE = new Set(['starting', 'resuming', 'playing', 'paused', 'reconnecting']);

/** What the fleet's retained statuses say about one active device. */
export interface Owned {
  instance: string;
  /** The retained status as read (unchecked JSON), for a takeover's resume. */
  raw: unknown;
}

/**
 * Rendezvous (highest random weight) hashing: the instance with the highest hash of
 * (instance, device). Deterministic, needs no coordination, and when an instance goes only its
 * devices move (each to the next-highest instance).
 */
export function rendezvous(device: string, instances: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const instance of instances) {
    const score = createHash('sha256').update(instance).update('\n').update(device).digest().readBigUInt64BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && instance < best)) [best, bestScore] = [instance, score];
  }
  return best;
}

/**
 * Which instance owns which device, from the retained device statuses every instance reads:
 * an owned device (an active session whose status names a live instance) stays with its owner; a
 * new or orphaned device goes to the rendezvous pick among the live instances. Every instance sees
 * every command and acts only on its own devices, so each command is answered once.
 */
export class Ownership {
  private readonly owners = new Map<string, Owned>();

  constructor(
    private readonly me: string,
    private readonly live: () => readonly string[],
    private readonly isLive: (instance: string) => boolean,
    /** True while this instance has a session (or queued work) for the device. */
    private readonly holds: (device: string) => boolean,
  ) {}

  get tracked(): number {
    return this.owners.size;
  }

  /** A retained status arrived (`raw` unchecked JSON from `<base>/<device>/status`). */
  noteStatus(device: string, raw: unknown): void {
    const r = raw as { state?: unknown; instance?: unknown } | null;
    const active = typeof r === 'object' && r !== null && typeof r.state === 'string' && ACTIVE.has(r.state) && typeof r.instance === 'string';
    if (!active) {
      this.owners.delete(device);
      return;
    }
    if (!this.owners.has(device) && this.owners.size >= MAX_TRACKED_DEVICES) return;
    this.owners.set(device, { instance: r.instance as string, raw });
  }

  /** The instance that must act on `device` now. */
  ownerOf(device: string): string | undefined {
    if (this.holds(device)) return this.me;
    const owned = this.owners.get(device);
    if (owned && (owned.instance === this.me || this.isLive(owned.instance))) return owned.instance;
    return rendezvous(device, this.live());
  }

  /** Another live instance's status names it as the device's owner (it took the device over). */
  takenOver(device: string): boolean {
    const owned = this.owners.get(device);
    return owned !== undefined && owned.instance !== this.me && this.isLive(owned.instance);
  }

  owns(device: string): boolean {
    return this.ownerOf(device) === this.me;
  }

  /** The active devices `gone` owned that now fall to this instance, with their last statuses. */
  orphansOf(gone: string): Map<string, unknown> {
    const mine = new Map<string, unknown>();
    for (const [device, owned] of this.owners) {
      if (owned.instance === gone && !this.holds(device) && rendezvous(device, this.live()) === this.me) mine.set(device, owned.raw);
    }
    return mine;
  }
}
