import { loadConfig } from '../config/load';
import { normaliseDeviceId } from '../mqtt/device-id';
import type { DeviceStatus } from '../session/status';
import { readRetainedStatuses } from './retained-statuses';

export interface StatusOptions {
  device?: string;
  json: boolean;
  timeoutMs: number;
  configFile?: string;
}

/** Prints the retained statuses as a table (or JSON lines); exit 1 when an asked-for device has none. */
export async function runStatus(o: StatusOptions): Promise<number> {
  const { config } = loadConfig({ file: o.configFile });
  let device: string | undefined;
  if (o.device) {
    const id = normaliseDeviceId(o.device);
    if (!id.ok) throw new Error(id.reason);
    device = id.id;
  }
  const statuses = await readRetainedStatuses(config, device, o.timeoutMs);
  if (o.json) {
    for (const s of statuses) process.stdout.write(`${JSON.stringify(s)}\n`);
  } else {
    process.stdout.write(statusTable(statuses));
  }
  if (device && statuses.length === 0) {
    process.stderr.write(`no status for ${device}\n`);
    return 1;
  }
  return 0;
}

export function statusTable(statuses: DeviceStatus[]): string {
  const rows = statuses.map((s) => [s.device, s.state, s.room ?? '-', s.song?.title ?? '-', String(s.volume), s.error ?? s.reason ?? '', s.updated_at]);
  const header = ['DEVICE', 'STATE', 'ROOM', 'SONG', 'VOL', 'NOTE', 'UPDATED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}
