/**
 * The topic layout, after zigbee2mqtt's conventions:
 *   <base>/<device>/command   in: JSON commands from the app
 *   <base>/<device>/reply     out: one reply per command
 *   <base>/<device>/status    out, retained: the device's playback state
 *   <base>/bridge/state       out, retained: "online" / "offline" (the last will)
 *   <base>/bridge/info        out, retained: version, config summary, session count
 *   <base>/bridge/status      out, retained: every active session of the live instances
 *   <base>/bridge/instances/<id>/status|info   out, retained: one instance's own view
 *   <base>/bridge/errors      out: replies to commands whose device id was refused
 */
/** The two retained reports each instance keeps under `<base>/bridge/instances/<id>/`. */
export type ReportKind = 'status' | 'info';

export class Topics {
  constructor(readonly base: string) {}

  get commandFilter(): string {
    return `${this.base}/+/command`;
  }
  get statusFilter(): string {
    return `${this.base}/+/status`;
  }
  command(device: string): string {
    return `${this.base}/${device}/command`;
  }
  reply(device: string): string {
    return `${this.base}/${device}/reply`;
  }
  status(device: string): string {
    return `${this.base}/${device}/status`;
  }
  get availability(): string {
    return `${this.base}/bridge/state`;
  }
  get info(): string {
    return `${this.base}/bridge/info`;
  }
  get bridgeStatus(): string {
    return `${this.base}/bridge/status`;
  }
  get errors(): string {
    return `${this.base}/bridge/errors`;
  }
  /** One instance's own report: `status` (its active sessions) or `info` (version, config, count). */
  instanceReport(instance: string, kind: ReportKind): string {
    return `${this.base}/bridge/instances/${instance}/${kind}`;
  }
  instanceReportFilter(kind: ReportKind): string {
    return this.instanceReport('+', kind);
  }

  /** The raw instance segment of `<base>/bridge/instances/<id>/<kind>`, or undefined. */
  instanceOfReport(topic: string, kind: ReportKind): string | undefined {
    return segmentBetween(topic, `${this.base}/bridge/instances/`, `/${kind}`);
  }

  /** The raw device segment of a command topic, or undefined when the topic is not a command topic. */
  deviceOfCommand(topic: string): string | undefined {
    return this.deviceSegment(topic, '/command');
  }

  /** The raw device segment of a status topic, or undefined when the topic is not a status topic. */
  deviceOfStatus(topic: string): string | undefined {
    return this.deviceSegment(topic, '/status');
  }

  private deviceSegment(topic: string, leaf: string): string | undefined {
    return segmentBetween(topic, `${this.base}/`, leaf);
  }
}

/** The one topic level between `prefix` and `leaf` (possibly empty), or undefined. */
function segmentBetween(topic: string, prefix: string, leaf: string): string | undefined {
  // The length check stops "<base>/command" from matching with the "/" shared by prefix and suffix.
  if (!topic.startsWith(prefix) || !topic.endsWith(leaf) || topic.length < prefix.length + leaf.length) return undefined;
  const segment = topic.slice(prefix.length, -leaf.length);
  return segment.includes('/') ? undefined : segment;
}
