import type { Catalog } from '../catalog/catalog';
import { errorFields, type Logger } from '../ops/logger';
import type { SessionRegistry } from '../session/registry';
import { resumeSessions, type ResumeOptions } from '../session/resume';
import type { FleetView } from './fleet-view';
import { InstancePresence, type PresenceOptions } from './instances';
import { Ownership, rendezvous } from './ownership';
import { readSavedStatuses, type SavedStatusesOptions } from './saved-statuses';

export interface ContinuityOptions {
  instance: string;
  /** sessions.resume: resume saved sessions at start-up (and take over those of gone instances). */
  resume: boolean;
  presence: Omit<PresenceOptions, 'instance' | 'log'>;
  saved: Omit<SavedStatusesOptions, 'timeoutMs'> & { timeoutMs: number };
  resumeOptions: Omit<ResumeOptions, 'instance' | 'ownerGone' | 'mine' | 'log' | 'catalog'> & { catalog: () => Catalog };
  log: Logger;
  /** Longest a drain waits for the peers to take the sessions over before ending the rest, ms. */
  drainMs?: number;
  /** The fleet's aggregate bridge/status and bridge/info, fed from the presence connection. */
  fleet?: FleetView;
}

const DRAIN_MS = 1500;
const DRAIN_POLL_MS = 50;

/**
 * Continuity across processes, over the broker and LiveKit only: this instance's presence (and
 * the refusal of a second process with its id), who owns which device, the resume of saved
 * sessions at start-up, the takeover of a gone instance's rooms, and the drain on SIGTERM.
 * LiveKit's one-identity-per-room rule is the fence: a takeover's join kicks the old bot, which
 * ends as handed over (RoomSession.displaced), publishing nothing.
 */
export class Continuity {
  private readonly presence: InstancePresence;
  readonly ownership: Ownership;

  constructor(
    private readonly o: ContinuityOptions,
    private readonly registry: SessionRegistry,
  ) {
    this.presence = new InstancePresence({ ...o.presence, instance: o.instance, log: o.log });
    this.ownership = new Ownership(
      o.instance,
      () => this.presence.instances(),
      (i) => this.presence.isLive(i),
      (d) => registry.holds(d),
    );
    this.presence.on('status', (device, raw) => this.ownership.noteStatus(device, raw));
    this.presence.on('gone', (instance) => this.takeOver(instance));
    const fleet = o.fleet;
    if (fleet) {
      this.presence.on('report', (instance, kind, payload) => fleet.noteReport(instance, kind, payload));
      this.presence.on('joined', () => fleet.liveChanged());
      this.presence.on('gone', () => fleet.liveChanged());
    }
  }

  /** This instance drains or stops. */
  get leaving(): boolean {
    return this.presence.isLeaving;
  }

  /** The live instances of the fleet, this one included. */
  instances(): string[] {
    return this.presence.instances();
  }

  owns(device: string): boolean {
    return this.ownership.owns(device);
  }

  /** Presence first (a duplicate id rejects here), then the saved sessions are queued. */
  async start(): Promise<void> {
    await this.presence.start();
    this.o.fleet?.markReady();
    if (!this.o.resume) return;
    let saved;
    try {
      saved = await readSavedStatuses(this.o.saved);
    } catch (err) {
      this.o.log.warn('could not read the saved sessions; nothing resumed', errorFields(err));
      return;
    }
    this.o.log.info('saved sessions read', { statuses: saved.statuses.size, complete: saved.complete });
    this.resume(saved.statuses);
  }

  /**
   * SIGTERM with peers: publish every session's freshest status, say "draining" (peers take the
   * sessions as from a gone instance; each new owner's join kicks this bot), and wait, bounded, for
   * the sessions to be taken. Without peers nothing happens here: the shutdown keeps the statuses
   * for the next start.
   */
  async drain(): Promise<void> {
    const peers = this.presence.instances().filter((i) => i !== this.o.instance);
    if (peers.length === 0 || this.registry.size === 0 || !this.o.resume) return;
    this.o.log.info('draining: handing the sessions over', { sessions: this.registry.size, peers });
    try {
      await this.presence.publishStatuses(this.registry.handOver());
      await this.presence.drain();
    } catch (err) {
      this.o.log.warn('drain failed', errorFields(err));
      return;
    }
    const until = Date.now() + (this.o.drainMs ?? DRAIN_MS);
    while (this.registry.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    this.o.log.info('drain over', { left: this.registry.size });
  }

  stop(): Promise<void> {
    return this.presence.stop();
  }

  private takeOver(gone: string): void {
    if (!this.o.resume) return;
    const orphans = this.ownership.orphansOf(gone);
    this.o.log.info('instance gone', { instance: gone, taking: orphans.size });
    if (orphans.size > 0) this.resume(orphans);
  }

  private resume(statuses: ReadonlyMap<string, unknown>): void {
    void resumeSessions(this.registry, statuses, {
      ...this.o.resumeOptions,
      instance: this.o.instance,
      ownerGone: (i) => !this.presence.isLive(i),
      mine: (device) => rendezvous(device, this.presence.instances()) === this.o.instance,
      log: this.o.log,
    }).catch((err: unknown) => this.o.log.error('resume failed', errorFields(err)));
  }
}
