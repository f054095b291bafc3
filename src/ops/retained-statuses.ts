import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { AppConfig } from '../config/schema';
import { Topics } from '../mqtt/topics';
import type { DeviceStatus } from '../session/status';

/**
 * Reads the retained device statuses (all, or one device's) from the broker. Retained messages are
 * delivered in subscription order, so once the retained bridge state of the later subscription
 * arrives, every status has; `timeoutMs` bounds the wait when the bridge never ran.
 */
export async function readRetainedStatuses(config: AppConfig, device: string | undefined, timeoutMs: number): Promise<DeviceStatus[]> {
  const topics = new Topics(config.mqtt.baseTopic);
  const client = await mqtt.connectAsync(config.mqtt.url, {
    clientId: `music-bridge-cli-${randomBytes(4).toString('hex')}`,
    username: config.mqtt.username || undefined,
    password: config.mqtt.password || undefined,
    connectTimeout: timeoutMs,
    reconnectPeriod: 0,
  });
  try {
    const found = new Map<string, DeviceStatus>();
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      client.on('message', (topic, payload) => {
        if (topic === topics.availability) {
          clearTimeout(timer);
          resolve();
          return;
        }
        try {
          const s = JSON.parse(payload.toString()) as DeviceStatus;
          if (typeof s.device === 'string') found.set(s.device, s);
        } catch {
          /* not a status */
        }
      });
    });
    await client.subscribeAsync(topics.status(device ?? '+'), { qos: 1 });
    await client.subscribeAsync(topics.availability, { qos: 1 });
    await done;
    return [...found.values()].sort((a, b) => a.device.localeCompare(b.device));
  } finally {
    await client.endAsync();
  }
}
