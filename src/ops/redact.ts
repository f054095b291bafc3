/**
 * What may be shown of a URL (logs, statuses, replies, room messages, bridge/info): no user info,
 * query or fragment, where credentials and signed-URL tokens live. Anything that does not parse as
 * a URL is treated as a path and loses only a query-like tail.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/[?#].*$/s, '');
  }
  u.username = '';
  u.password = '';
  u.search = '';
  u.hash = '';
  return u.toString();
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi;

/** Free text (an error message, a line of ffmpeg's output) with every URL in it redacted. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (m) => redactUrl(m));
}
