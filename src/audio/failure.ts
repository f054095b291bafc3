import { redactUrlsIn } from '../ops/redact';

/**
 * `source`: the place songs come from looks down (network errors, timeouts, 5xx, stalls): the next
 * song will most likely fail the same way, so the player backs off instead of burning the playlist.
 * `song`: this one song is bad (404, corrupt, unsupported, refused): skip it.
 */
export type FailureKind = 'source' | 'song';

/**
 * Why a song could not be played, reduced to a short cause (`http 404`, `timeout`, `invalid data`,
 * ...) that is safe to show anywhere: the message is the cause alone, never a URL or ffmpeg's text.
 * `detail` is the redacted last line of ffmpeg's output, for the daemon's own log only.
 */
export class SongFailure extends Error {
  constructor(readonly reason: string, readonly kind: FailureKind, readonly detail?: string) {
    super(reason);
    this.name = 'SongFailure';
  }
}

/** Any error as a SongFailure: an unclassified one becomes `ffmpeg failed` (kind `song`), its text kept as redacted detail. */
export function asSongFailure(err: unknown): SongFailure {
  if (err instanceof SongFailure) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new SongFailure('ffmpeg failed', 'song', redactUrlsIn(text));
}

const HTTP_STATUS = /HTTP error (\d{3})|Server returned (\d{3})\b/;

/** Patterns of ffmpeg's stderr (checked against the 2018 bundled build and Debian's 5.1), first match wins. */
const CAUSES: ReadonlyArray<[RegExp, string, FailureKind]> = [
  [/not on whitelist|Protocol not found/i, 'protocol not allowed', 'song'],
  [/Failed to resolve hostname|Name or service not known|Temporary failure in name resolution|No address associated/i, 'dns', 'source'],
  [/Connection refused/i, 'connection refused', 'source'],
  [/timed out|Timeout/i, 'timeout', 'source'],
  [/\b(tls|ssl|gnutls|openssl)\b|certificate|handshake/i, 'tls', 'source'],
  [/Connection reset|Network is unreachable|No route to host|Broken pipe|End of file/i, 'network error', 'source'],
  [/No such file or directory/i, 'not found', 'song'],
  [/Invalid data found|Invalid argument|misdetection|could not find codec parameters|Failed to read frame|Header missing|Invalid frame/i, 'invalid data', 'song'],
  [/does not contain any stream|Output file .* does not contain|no audio/i, 'no audio', 'song'],
];

/**
 * Classifies a failed ffmpeg run from its stderr (`stderr`) and how it ended (`message`: its exit code or signal). An
 * HTTP status wins (5xx, 408 and 429 mean the source is down or overloaded; other 4xx: this song).
 */
export function classifyFfmpegFailure(stderr: string, message: string): SongFailure {
  // A signal (a crash, or a kill from outside) says more than what ffmpeg printed before it.
  if (/killed with signal/.test(message)) return new SongFailure('ffmpeg failed', 'song', redactUrlsIn(message));
  const detail = lastLine(stderr) ?? message;
  const redacted = redactUrlsIn(detail);
  const status = HTTP_STATUS.exec(stderr) ?? HTTP_STATUS.exec(message);
  if (status) {
    const code = Number(status[1] ?? status[2]);
    const down = code >= 500 || code === 408 || code === 429;
    return new SongFailure(`http ${code}`, down ? 'source' : 'song', redacted);
  }
  if (/5XX Server Error/.test(stderr)) return new SongFailure('http 5xx', 'source', redacted);
  const text = `${stderr}\n${message}`;
  for (const [pattern, cause, kind] of CAUSES) if (pattern.test(text)) return new SongFailure(cause, kind, redacted);
  return new SongFailure('ffmpeg failed', 'song', redacted);
}

/** The last line of ffmpeg's stderr that says something (not the banner, not progress). */
function lastLine(stderr: string): string | undefined {
  return stderr
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('ffmpeg version') && !/^(built with|configuration:|lib\w+ |size=)/.test(l))
    .at(-1);
}

/** The kind of any error the player sees; unclassified errors are one bad song. */
export function failureKind(err: unknown): FailureKind {
  return err instanceof SongFailure ? err.kind : 'song';
}

/** Log fields for a failure: the short cause, and ffmpeg's redacted last line when there is one. */
export function failureFields(err: unknown): { error: string; detail?: string } {
  const f = asSongFailure(err);
  return f.detail ? { error: f.reason, detail: f.detail } : { error: f.reason };
}
