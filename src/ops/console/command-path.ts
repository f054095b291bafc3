import type { CommandEnvelope } from '../../session/commands';
import { parseCommand } from '../../mqtt/commands';
import type { ControlPlaneMetrics, Reply } from '../../mqtt/control-plane';
import { normaliseDeviceId } from '../../mqtt/device-id';
import type { CommandResult } from '../../session/registry';
import type { DeviceStatus } from '../../session/status';
import { errorFields, type Logger } from '../logger';

/** The part of the session registry a command needs (the one the MQTT control plane calls). */
export interface CommandTarget {
  execute(device: string, envelope: CommandEnvelope): Promise<CommandResult>;
  status(device: string): DeviceStatus;
}

/**
 * The console's commands take the MQTT path: the device id normalised and checked against
 * mqtt.allowedDevices, the payload size-limited and parsed by parseCommand, executed by the
 * registry, counted in the same metrics, and answered with the same Reply an app gets.
 */
export function commandPath(o: {
  target: CommandTarget;
  allowedDevices: string[];
  maxPayloadBytes: number;
  metrics: Pick<ControlPlaneMetrics, 'commands' | 'refused'>;
  log: Logger;
}): (rawDevice: string, payload: string) => Promise<Reply> {
  const allowed = o.allowedDevices.length ? new Set(o.allowedDevices.map((d) => normaliseDeviceId(d)).flatMap((r) => (r.ok ? [r.id] : []))) : undefined;
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
    const { envelope } = parsed;
    const started = process.hrtime.bigint();
    o.log.info('command received', { device, command: envelope.command.type, session_id: envelope.sessionId, via: 'console' });
    let result: CommandResult;
    try {
      result = await o.target.execute(device, envelope);
    } catch (err) {
      o.log.error('command failed', { device, command: envelope.command.type, ...errorFields(err) });
      result = { ok: false, code: 'internal_error', message: `internal error: ${errorFields(err).error}`, status: o.target.status(device) };
    }
    o.metrics.commands.observe({ command: envelope.command.type, ok: String(result.ok) }, Number(process.hrtime.bigint() - started) / 1e9);
    return {
      ok: result.ok,
      error: result.ok ? null : (result.code ?? 'internal_error'),
      command: envelope.command.type,
      message: result.message,
      device,
      session_id: envelope.sessionId ?? null,
      request_id: envelope.requestId ?? null,
      state: result.status,
      ...(result.queue ? { queue: result.queue } : {}),
    };
  };
}
