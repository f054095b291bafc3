import type { Logger } from '../ops/logger';
import { aggregate, aggregateWriter, INSTANCE_ID, parseInfoReport, parseStatusReport, type InstanceReports, type OwnInfo, type ReportedSession } from './fleet-status';
import type { ReportKind, Topics } from './topics';

/** Most instances whose reports are kept (presence tracks as many); beyond it only live ones displace gone ones. */
export const MAX_TRACKED_INSTANCES = 1000;
/** Reports arriving within this window make one aggregate: the writer reads every instance's changes. */
const COALESCE_MS = 100;

export interface FleetViewOptions {
  /** This instance's id. */
  me: string;
  topics: Topics;
  /** The live instances (presence online), this one included. */
  live: () => readonly string[];
  /** This instance drains or stops: it no longer speaks for the fleet. */
  leaving: () => boolean;
  coalesceMs?: number;
  now?: () => Date;
  log: Logger;
}

/** How the view publishes (the control plane's checked, retained publish). */
export interface FleetSink {
  publish(topic: string, payload: string): void;
  /** Publishes this instance's own reports again: a writer cleared them while it runs. */
  republishOwn(): void;
}

/**
 * The fleet's `bridge/status` and `bridge/info`: keeps every instance's retained report (read on
 * the presence connection, so an instance's `online` is always read before its reports), and when
 * this instance is the writer (fleet-status.ts aggregateWriter) publishes the aggregate of the live
 * ones and clears the reports of instances that are gone, so dead ones do not linger.
 */
export class FleetView {
  private readonly reports = new Map<string, InstanceReports>();
  private ownInfo: OwnInfo = {};
  private sink: FleetSink | undefined;
  /** The presence start-up read is done: the live set is complete. */
  private ready = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: FleetViewOptions) {}

  get me(): string {
    return this.o.me;
  }

  connect(sink: FleetSink): void {
    this.sink = sink;
  }

  markReady(): void {
    this.ready = true;
    this.changed();
  }

  /** This instance's own reports, as just published on its per-instance topics. */
  own(sessions: ReportedSession[], sessionCount: number, info: OwnInfo): void {
    this.ownInfo = info;
    this.reports.set(this.o.me, { status: { sessions }, info: { version: typeof info.version === 'string' ? info.version : null, sessions: sessionCount } });
    this.changed();
  }

  /** A retained report from `<base>/bridge/instances/<instance>/<kind>`; `payload` is unchecked. */
  noteReport(instance: string, kind: ReportKind, payload: Buffer): void {
    if (!INSTANCE_ID.test(instance)) return;
    if (instance === this.o.me) {
      // The local copy is the truth; an empty one means a writer took this instance for gone.
      if (payload.length === 0 && this.ready && !this.stopped && !this.o.leaving()) this.sink?.republishOwn();
      return;
    }
    let r = this.reports.get(instance);
    if (payload.length === 0) {
      if (!r) return;
      delete r[kind];
      if (r.status === undefined && r.info === undefined) this.reports.delete(instance);
    } else {
      if (!r) {
        if (this.reports.size >= MAX_TRACKED_INSTANCES && !this.evictGoneFor(instance)) return;
        r = {};
        this.reports.set(instance, r);
      }
      if (kind === 'status') r.status = parseStatusReport(payload);
      else r.info = parseInfoReport(payload);
    }
    this.changed();
  }

  /** An instance joined or went. */
  liveChanged(): void {
    this.changed();
  }

  /** Instances whose reports are kept (tests, bounds). */
  get tracked(): number {
    return this.reports.size;
  }

  /** When this instance is the writer: clears the reports of gone instances and publishes the aggregate. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const sink = this.sink;
    if (!sink || !this.ready || this.stopped) return;
    const live = this.o.live();
    if (aggregateWriter(live, this.o.me, this.o.leaving()) !== this.o.me) return;
    const alive = new Set(live);
    for (const [id, r] of this.reports) {
      if (alive.has(id) || id === this.o.me) continue;
      this.o.log.info('instance gone: its status and info cleared', { instance: id });
      for (const kind of ['status', 'info'] as const) if (r[kind] !== undefined) sink.publish(this.o.topics.instanceReport(id, kind), '');
      this.reports.delete(id);
    }
    this.publishAggregate(live);
  }

  /**
   * A clean stop: this instance's reports are cleared (its presence says offline; a report of a
   * process that no longer runs would be a stale claim, and ids that never return would pile up).
   * Without peers it is the last writer: it leaves the aggregate of no live instance.
   */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const sink = this.sink;
    if (!sink || this.stopped) return;
    this.stopped = true;
    if (this.ready && this.o.live().every((i) => i === this.o.me)) this.publishAggregate([]);
    for (const kind of ['status', 'info'] as const) sink.publish(this.o.topics.instanceReport(this.o.me, kind), '');
  }

  private publishAggregate(live: readonly string[]): void {
    const a = aggregate(this.reports, live, this.ownInfo, (this.o.now ?? (() => new Date()))());
    this.sink?.publish(this.o.topics.bridgeStatus, JSON.stringify(a.status));
    this.sink?.publish(this.o.topics.info, JSON.stringify(a.info));
  }

  private changed(): void {
    if (!this.ready || this.stopped || this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.o.coalesceMs ?? COALESCE_MS);
    this.timer.unref();
  }

  /** Makes room for a live instance's reports by forgetting one of a gone instance; false when none. */
  private evictGoneFor(instance: string): boolean {
    const live = new Set(this.o.live());
    if (!live.has(instance)) return false;
    for (const id of this.reports.keys()) {
      if (!live.has(id) && id !== this.o.me) return this.reports.delete(id);
    }
    return false;
  }
}
