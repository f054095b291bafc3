import { allowedDeviceSet, type CommandMetrics, type CommandTarget, runCommand } from '../../mqtt/command-runner';
import { parseCommand } from '../../mqtt/commands';
import type { Reply } from '../../mqtt/control-plane';
import { normaliseDeviceId } from '../../mqtt/device-id';
import type { Logger } from '../logger';

export type { CommandTarget } from '../../mqtt/command-runner';

/**
 * The console's commands take the MQTT path: the device id normalised and checked against
 * mqtt.allowedDevices, the payload size-limited and parsed by parseCommand, and run by the same
 * `runCommand` as the control plane (same registry, metrics, log lines and Reply).
 */
export function commandPath(o: {
  target: CommandTarget;
  allowedDevices: string[];
  maxPayloadBytes: number;
  metrics: CommandMetrics & { refused: { inc(labels: { error: string }): void } };
  log: Logger;
}): (rawDevice: string, payload: string) => Promise<Reply> {
  const allowed = allowedDeviceSet(o.allowedDevices);
  const refuse = (device: string | null, error: string, message: string, ids: { command?: string | null; session_id?: string | null; request_id?: string | null } = {}): Reply => {
    o.log.warn('console command refused', { device: device ?? undefined, error, reason: message });
    o.metrics.refused.inc({ error });
    return { ok: false, error, command: ids.command ?? null, message, device, session_id: ids.session_id ?? null, request_id: ids.request_id ?? null, state: device && error !== 'device_not_allowed' ? o.target.status(device) : null };
  };
  return async (rawDevice, payload) => {
    const id = normaliseDeviceId(rawDevice);
    if (!id.ok) return refuse(null, 'invalid_device_id', id.reason);
    const device = id.id;
    if (allowed && !allowed.has(device)) return refuse(device, 'device_not_allowed', `device ${device} is not allowed`);
    const size = Buffer.byteLength(payload);
    if (size > o.maxPayloadBytes) return refuse(device, 'payload_too_large', `payload is ${size} bytes; the limit is ${o.maxPayloadBytes}`);
    const parsed = parseCommand(payload);
    if (!parsed.ok) return refuse(device, parsed.code, parsed.error, { command: parsed.type?.slice(0, 64), session_id: parsed.sessionId, request_id: parsed.requestId });
    return { ...(await runCommand(o.target, device, parsed.envelope, { log: o.log, metrics: o.metrics, via: 'console' })), device };
  };
}
