import { normaliseDeviceId } from './device-id';

/**
 * The fleet-wide `bridge/status` and `bridge/info`, computed from each live instance's own retained
 * report (`<base>/bridge/instances/<id>/status|info`). Pure: the reports are read as hostile input
 * (another client could write them if the broker's ACL let it), so each is bounded and checked
 * field by field, and a report that does not check out counts as absent.
 */

/** Largest report read, bytes: sessions.max (at most 10,000) statuses of about 600 bytes, with room to spare. */
export const MAX_REPORT_BYTES = 8 * 1024 * 1024;
/** Most sessions taken from one instance's report (sessions.max's upper bound). */
export const MAX_SESSIONS_PER_REPORT = 10_000;
/** Most sessions in the aggregate (the ownership map's bound). */
export const MAX_AGGREGATE_SESSIONS = 100_000;
/** An instance id as the bridge accepts one in a topic (presence uses the same rule). */
export const INSTANCE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_VERSION_CHARS = 64;

/** A session as an instance reports it: a device status (docs/mqtt-api.md), its other fields passed through as read. */
export interface ReportedSession {
  device: string;
  seq?: unknown;
}

export interface StatusReport {
  sessions: ReportedSession[];
}

export interface InfoReport {
  version: string | null;
  /** Sessions the instance holds (its registry's size, as bridge/info has always said). */
  sessions: number;
}

/** What is retained for one instance; null: a message is there but unusable. */
export interface InstanceReports {
  status?: StatusReport | null;
  info?: InfoReport | null;
}

/** The writer's own `bridge/info` fields that are not per fleet: version, ffmpeg, config, instance. */
export type OwnInfo = Record<string, unknown>;

export interface FleetAggregate {
  status: { sessions: ReportedSession[]; count: number; updated_at: string };
  info: Record<string, unknown> & { sessions: number; instances: InstanceSummary[] };
}

export interface InstanceSummary {
  id: string;
  state: 'online';
  version: string | null;
  sessions: number;
}

/** The reports of `<base>/bridge/instances/<id>/status`, or null when it is not one. */
export function parseStatusReport(payload: Buffer): StatusReport | null {
  const m = parseObject(payload);
  if (!m || !Array.isArray(m.sessions)) return null;
  const sessions: ReportedSession[] = [];
  for (const s of m.sessions.slice(0, MAX_SESSIONS_PER_REPORT)) if (isSession(s)) sessions.push(s);
  return { sessions };
}

/** The report of `<base>/bridge/instances/<id>/info`, or null when it is not one. */
export function parseInfoReport(payload: Buffer): InfoReport | null {
  const m = parseObject(payload);
  if (!m) return null;
  const version = typeof m.version === 'string' ? m.version.slice(0, MAX_VERSION_CHARS) : null;
  const sessions = Number.isSafeInteger(m.sessions) && (m.sessions as number) >= 0 ? (m.sessions as number) : 0;
  return { version, sessions };
}

/**
 * The one instance that writes the aggregate: the lowest live id (sort order) that is not leaving.
 * Every instance computes it from the same presence messages; while views differ (a join or a
 * departure in flight) two may write, each the aggregate of the same retained reports.
 */
export function aggregateWriter(live: readonly string[], me: string, leaving: boolean): string | undefined {
  return [...live].filter((i) => !(leaving && i === me)).sort()[0];
}

/**
 * `bridge/status` and `bridge/info` of the live instances: every session once (a device reported
 * by two instances during a handover counts once, the newer status by `seq`), the total session
 * count, and one summary per live instance. Reports of instances not live are ignored.
 */
export function aggregate(reports: ReadonlyMap<string, InstanceReports>, live: readonly string[], own: OwnInfo, now: Date): FleetAggregate {
  const byDevice = new Map<string, ReportedSession>();
  const instances: InstanceSummary[] = [];
  let total = 0;
  for (const id of [...new Set(live)].sort()) {
    const r = reports.get(id);
    for (const s of r?.status?.sessions ?? []) {
      const seen = byDevice.get(s.device);
      if (seen ? seqOf(s) > seqOf(seen) : byDevice.size < MAX_AGGREGATE_SESSIONS) byDevice.set(s.device, s);
    }
    const sessions = r?.info?.sessions ?? r?.status?.sessions.length ?? 0;
    total += sessions;
    instances.push({ id, state: 'online', version: r?.info?.version ?? null, sessions });
  }
  const sessions = [...byDevice.values()];
  return {
    status: { sessions, count: sessions.length, updated_at: now.toISOString() },
    info: { ...own, sessions: total, instances },
  };
}

function seqOf(s: ReportedSession): number {
  return typeof s.seq === 'number' && Number.isFinite(s.seq) ? s.seq : -1;
}

/** An object naming a canonical device id; its other fields are the status's, passed through. */
function isSession(s: unknown): s is ReportedSession {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
  const device = (s as { device?: unknown }).device;
  if (typeof device !== 'string') return false;
  const id = normaliseDeviceId(device);
  return id.ok && id.id === device;
}

function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  if (payload.length === 0 || payload.length > MAX_REPORT_BYTES) return undefined;
  try {
    const m = JSON.parse(payload.toString()) as unknown;
    return typeof m === 'object' && m !== null && !Array.isArray(m) ? (m as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
