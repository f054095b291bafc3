/** Catalog documents over HTTP: one place for the URL test and for conditional refreshes. */

export function isHttpUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/**
 * One document at a URL, fetched conditionally (ETag / If-Modified-Since) so refreshes are cheap.
 * The validators are kept only once `parse` accepted the body, so a bad body is fetched in full
 * the next time instead of being answered with 304.
 */
export class ConditionalFetch {
  private etag: string | undefined;
  private lastModified: string | undefined;

  /** @param label names the document in an HTTP error ("<label>: HTTP 500"); none: "HTTP 500". */
  constructor(readonly url: string, private readonly timeoutMs = 10_000, private readonly label?: string) {}

  /** The parsed body, or 'unchanged' when the server says it has not changed since the last parse. */
  async fetch<T>(parse: (body: string) => T): Promise<T | 'unchanged'> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.etag) headers['if-none-match'] = this.etag;
    if (this.lastModified) headers['if-modified-since'] = this.lastModified;
    const res = await fetch(this.url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    if (res.status === 304) return 'unchanged';
    if (!res.ok) throw new Error(this.label ? `${this.label}: HTTP ${res.status}` : `HTTP ${res.status}`);
    const parsed = parse(await res.text());
    this.etag = res.headers.get('etag') ?? undefined;
    this.lastModified = res.headers.get('last-modified') ?? undefined;
    return parsed;
  }
}
