import { Buffer } from 'node:buffer';

/** Longest response topic a command may name, in UTF-8 bytes. */
export const MAX_RESPONSE_TOPIC_BYTES = 256;
/** Longest topic the bridge publishes to at all, in UTF-8 bytes (the base topic is operator config). */
export const MAX_OUTGOING_TOPIC_BYTES = 1024;

/** Wildcards, NUL, C0/C1 control characters, non-characters and lone surrogates: never in a topic we publish. */
const FORBIDDEN = /[+#\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The one place that decides where the bridge may publish. The broker disconnects a client that
 * publishes to a wildcard or empty topic, and the ACL cannot stop the bridge from writing onto
 * another device's topics, so both checks live here:
 * - `refusal(topic)`: every outgoing publish; the topic must be under `<base>/` or under one of the
 *   configured response prefixes (with `{device}` standing for one topic level);
 * - `responseTopicProblem(topic, device)`: a command's MQTT 5 response topic, which must be under
 *   that device's own `<base>/<device>/` (or a response prefix with `{device}` = that device).
 */
export class OutgoingTopics {
  private readonly anyPrefix: RegExp[];

  constructor(
    private readonly base: string,
    /** Extra subtrees a response topic may be under; `{device}` is the canonical device id. */
    private readonly responsePrefixes: readonly string[] = [],
  ) {
    for (const p of responsePrefixes) {
      const problem = wellFormedProblem(p.replaceAll('{device}', 'x'), MAX_RESPONSE_TOPIC_BYTES);
      if (problem) throw new Error(`mqtt.responseTopicPrefixes: ${JSON.stringify(p)}: ${problem}`);
    }
    this.anyPrefix = responsePrefixes.map((p) => new RegExp(`^${withSlash(p).split('{device}').map(escapeRegExp).join('[^/]+')}.`, 's'));
  }

  /** Why the bridge must not publish to `topic`, or undefined when it may. */
  refusal(topic: string): string | undefined {
    const problem = wellFormedProblem(topic, MAX_OUTGOING_TOPIC_BYTES);
    if (problem) return problem;
    if (topic.startsWith(`${this.base}/`) && topic.length > this.base.length + 1) return undefined;
    if (this.anyPrefix.some((re) => re.test(topic))) return undefined;
    return 'the topic is not under the base topic or a response topic prefix';
  }

  /** Why a command's response topic is refused for `device` (canonical id), or undefined when it is fine. */
  responseTopicProblem(topic: unknown, device: string): string | undefined {
    if (typeof topic !== 'string') return 'the response topic is not a string';
    const problem = wellFormedProblem(topic, MAX_RESPONSE_TOPIC_BYTES);
    if (problem) return problem;
    const own = `${this.base}/${device}/`;
    // The device's command and status topics have a meaning of their own: a reply there would be
    // read as a command by the bridge or as a status by the apps.
    if (topic === `${own}command` || topic === `${own}status`) return `the response topic may not be the device's ${topic.slice(own.length)} topic`;
    const prefixes = [own, ...this.responsePrefixes.map((p) => withSlash(p.replaceAll('{device}', device)))];
    if (prefixes.some((p) => topic.startsWith(p) && topic.length > p.length)) return undefined;
    return `the response topic must be under ${own}`;
  }
}

/** Why `topic` is not a topic name one may publish to, or undefined. */
function wellFormedProblem(topic: string, maxBytes: number): string | undefined {
  if (topic.length === 0) return 'the topic is empty';
  if (FORBIDDEN.test(topic)) return 'the topic contains a wildcard (+, #), NUL, a control character or invalid UTF-16';
  const bytes = Buffer.byteLength(topic, 'utf8');
  if (bytes > maxBytes) return `the topic is ${bytes} bytes long; the limit is ${maxBytes}`;
  return undefined;
}

function withSlash(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
