import type { IncomingMessage, ServerResponse } from 'node:http';

/** Headers on every console response: nothing cached, sniffed, framed or referred. */
export const BASE_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts.
  'referrer-policy': 'same-origin',
};

/** An HTTP-level refusal with a stable code, answered as JSON. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { ok: false, error: err.code, message: err.message });
}

/**
 * The request body as text, at most `limit` bytes (413 beyond, without reading the rest) and
 * only of the expected media type (415 otherwise: a form cannot post JSON cross-site unnoticed).
 */
export async function readBody(req: IncomingMessage, o: { limit: number; type: 'application/json' | 'application/x-www-form-urlencoded'; timeoutMs?: number }): Promise<string> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== o.type) throw new HttpError(415, 'unsupported_media_type', `the body must be ${o.type}`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > o.limit) throw new HttpError(413, 'payload_too_large', `the body is limited to ${o.limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new HttpError(408, 'request_timeout', 'the body did not arrive in time')), o.timeoutMs ?? 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      req.resume();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > o.limit) return fail(new HttpError(413, 'payload_too_large', `the body is limited to ${o.limit} bytes`));
      chunks.push(chunk);
    });
    req.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    req.once('error', fail);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\uFFFD')) throw new HttpError(400, 'invalid_body', 'the body is not valid UTF-8');
  return text;
}

/** A JSON object from text, or a coded 400; never a prototype surprise (plain data only). */
export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'not_an_object', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}
