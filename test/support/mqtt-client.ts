import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { normaliseDeviceId } from '../../src/mqtt/device-id';
import { stackInfo } from './stack';
import { Observations } from './waiter';

export interface Message {
  topic: string;
  text: string;
  json: Record<string, unknown> | undefined;
  retain: boolean;
}

/** A phone app stand-in: publishes commands and records everything under the base topic. */
export class AppClient {
  readonly messages = new Observations<Message>();

  private constructor(private readonly client: MqttClient, readonly base: string) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString();
      this.messages.push({ topic, text, json: jsonOrUndefined(text), retain: packet.retain });
    });
  }

  static connect(base: string): Promise<AppClient> {
    return AppClient.connectTo(stackInfo().mqttUrl, base);
  }

  static async connectTo(url: string, base: string): Promise<AppClient> {
    const client = await mqtt.connectAsync(url, { clientId: `app-${randomBytes(4).toString('hex')}`, protocolVersion: 5 });
    await client.subscribeAsync(`${base}/#`, { qos: 1 });
    return new AppClient(client, base);
  }

  /** Publishes a command and resolves with its reply (matched by request_id). */
  async command(device: string, body: Record<string, unknown>, timeoutMs = 20000): Promise<Record<string, unknown>> {
    const requestId = randomBytes(6).toString('hex');
    const from = this.messages.items.length;
    await this.publish(`${this.base}/${device}/command`, JSON.stringify({ ...body, request_id: requestId }));
    const reply = await this.messages.next((m) => m.topic.endsWith('/reply') && m.json?.request_id === requestId, `reply to ${String(body.type)}`, timeoutMs, from);
    return reply.json!;
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  /** Waits for a status of `device` satisfying `pred`, looking at messages from index `from`. */
  status(device: string, pred: (s: Record<string, unknown>) => boolean, what: string, from = 0, timeoutMs = 15000): Promise<Message> {
    const topic = `${this.base}/${canonical(device)}/status`;
    return this.messages.next((m) => m.topic === topic && !!m.json && pred(m.json), what, timeoutMs, from);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** A payload's JSON object, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The device id as the daemon writes it in topics and replies. */
export function canonical(device: string): string {
  const id = normaliseDeviceId(device);
  if (!id.ok) throw new Error(id.reason);
  return id.id;
}
