import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions } from 'mqtt';
import { deviceOfStatus } from './instances';
import { Topics } from './topics';

export interface SavedStatusesOptions {
  url: string;
  username: string;
  password: string;
  /** The daemon's client id; the reader connects as "<clientId>-resume" (a different session). */
  clientId: string;
  baseTopic: string;
  tls: Partial<IClientOptions>;
  maxPayloadBytes: number;
  timeoutMs: number;
}

export interface SavedStatuses {
  /** canonical device id → the JSON of its retained status (unchecked: see session-state.ts). */
  statuses: Map<string, unknown>;
  /** The retained bridge availability ("online", "offline"), undefined when none. */
  availability: string | undefined;
  /** False when the wait ended on the timeout instead of the end marker. */
  complete: boolean;
}

/** Most retained statuses read at start-up; beyond it the rest are not resumed (and logged). */
export const MAX_SAVED_STATUSES = 100_000;

/**
 * Reads the retained device statuses under the base topic, and the bridge availability, before the
 * daemon takes commands. Retained messages of a subscription are sent before anything published
 * after it: after subscribing, the reader publishes a marker to a topic of its own and stops
 * reading when the marker comes back (`timeoutMs` bounds the wait). A status whose topic is not a
 * canonical device id, or whose payload is too large or not JSON, is skipped.
 */
export async function readSavedStatuses(o: SavedStatusesOptions): Promise<SavedStatuses> {
  const topics = new Topics(o.baseTopic);
  const marker = `${o.baseTopic}/bridge/resume-marker/${randomBytes(6).toString('hex')}`;
  const client = await mqtt.connectAsync(o.url, {
    ...o.tls,
    clientId: `${o.clientId}-resume-${randomBytes(4).toString('hex')}`.slice(0, 128),
    username: o.username || undefined,
    password: o.password || undefined,
    clean: true,
    connectTimeout: o.timeoutMs,
    reconnectPeriod: 0,
  });
  const statuses = new Map<string, unknown>();
  let availability: string | undefined;
  let complete = false;
  try {
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, o.timeoutMs);
      client.on('message', (topic, payload) => {
        if (topic === marker) {
          complete = true;
          resolve();
        } else if (topic === topics.availability) availability = payload.toString().slice(0, 32);
        else {
          const device = deviceOfStatus(topics, topic);
          if (device === undefined || payload.length === 0 || payload.length > o.maxPayloadBytes || statuses.size >= MAX_SAVED_STATUSES) return;
          try {
            statuses.set(device, JSON.parse(payload.toString()) as unknown);
          } catch {
            /* not JSON: nothing to resume */
          }
        }
      });
    });
    await client.subscribeAsync([topics.status('+'), topics.availability, marker], { qos: 1 });
    await client.publishAsync(marker, '', { qos: 1 });
    await done;
    clearTimeout(timer);
    return { statuses, availability, complete };
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

