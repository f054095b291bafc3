import { errorFields, type Logger } from '../ops/logger';
import type { CommandEnvelope } from '../session/commands';
import type { CommandResult } from '../session/registry';
import type { DeviceStatus, QueueView } from '../session/status';
import { normaliseDeviceId } from './device-id';

/** The part of the session registry a command needs. */
export interface CommandTarget {
  execute(device: string, envelope: CommandEnvelope): Promise<CommandResult>;
  status(device: string): DeviceStatus;
}

export interface CommandMetrics {
  commands: { observe(labels: { command: string; ok: string }, seconds: number): void };
}

/** A reply without its device (the caller adds the device it checked). */
export interface ReplyBody {
  ok: boolean;
  /** Stable error code when `ok` is false (see docs/mqtt-api.md), else null. */
  error: string | null;
  command: string | null;
  message: string;
  session_id: string | null;
  request_id: string | null;
  state: DeviceStatus | null;
  /** get_queue: the current song, what plays next and what played. */
  queue?: QueueView;
}

/**
 * Runs a parsed command of a checked device through the registry: logged, timed, never throwing
 * (a bug becomes `internal_error`), answered with the reply an app gets. The one path for MQTT
 * and the web console, so both count, log and answer alike.
 */
export async function runCommand(
  target: CommandTarget,
  device: string,
  envelope: CommandEnvelope,
  deps: { log: Logger; metrics?: CommandMetrics; via?: string },
): Promise<ReplyBody> {
  const { type } = envelope.command;
  const started = process.hrtime.bigint();
  deps.log.info('command received', { device, command: type, session_id: envelope.sessionId, ...(deps.via ? { via: deps.via } : {}) });
  let result: CommandResult;
  try {
    result = await target.execute(device, envelope);
  } catch (err) {
    deps.log.error('command failed', { device, command: type, ...errorFields(err) });
    result = { ok: false, code: 'internal_error', message: `internal error: ${errorFields(err).error}`, status: target.status(device) };
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  deps.metrics?.commands.observe({ command: type, ok: String(result.ok) }, seconds);
  deps.log.debug('command handled', { device, command: type, ok: result.ok, ms: seconds * 1000 });
  return {
    ok: result.ok,
    error: result.ok ? null : (result.code ?? 'internal_error'),
    command: type,
    message: result.message,
    session_id: envelope.sessionId ?? null,
    request_id: envelope.requestId ?? null,
    state: result.status,
    ...(result.queue ? { queue: result.queue } : {}),
  };
}

/** `mqtt.allowedDevices` as canonical ids; undefined when any device may command. */
export function allowedDeviceSet(devices: string[]): Set<string> | undefined {
  if (devices.length === 0) return undefined;
  return new Set(
    devices.map((device) => {
      const id = normaliseDeviceId(device);
      if (!id.ok) throw new Error(`mqtt.allowedDevices: ${device}: ${id.reason}`);
      return id.id;
    }),
  );
}
