import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { Reply } from '../../mqtt/control-plane';
import { normaliseDeviceId } from '../../mqtt/device-id';
import { errorFields, type Logger } from '../logger';
import { ConsoleAccess, checkConsoleExposure } from './access';
import { BASE_HEADERS, HttpError, parseJsonObject, readBody, sendError, sendJson } from './http-io';
import { listenToken } from './listen-token';
import { SessionFeed, type StatusSource } from './session-feed';

/** A song as the console's search shows it. */
export interface SongHit {
  id: string;
  title: string;
  language: string;
  genre: string | null;
  duration_ms: number | null;
}

/** What the console needs from the daemon; app.ts implements it. */
export interface ConsolePorts {
  /**
   * Runs one command for a device exactly as if it had arrived over MQTT (same parsing,
   * validation, session path and reply). `device` is as the browser sent it.
   */
  execute(device: string, payload: string): Promise<Reply>;
  search(query: string, language: string | undefined, limit: number): SongHit[];
  languages(): string[];
  health(): Promise<Record<string, unknown>>;
  sessions: StatusSource;
}

export interface WebConsoleOptions {
  host: string;
  token: string;
  /** The LiveKit server as the browser reaches it, and the credentials listen tokens are signed with. */
  livekit: { url: string; apiKey: string; apiSecret: string };
  /** Largest command body, as for MQTT payloads. */
  maxPayloadBytes: number;
  log: Logger;
}

/** src/ops/console/web, or its copy in dist/ops/console/web made by `npm run build`. */
const WEB_DIR = join(__dirname, 'web');
/** The only files served: a fixed list, so no path from the browser ever reaches the file system. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'console.js': { file: join(WEB_DIR, 'console.js'), type: 'text/javascript; charset=utf-8' },
  'console.css': { file: join(WEB_DIR, 'console.css'), type: 'text/css; charset=utf-8' },
  'livekit-client.mjs': { file: livekitClientBundle(), type: 'text/javascript; charset=utf-8' },
};
const SEARCH_LIMIT = 20;
const MAX_QUERY = 200;

/**
 * The web console under /console on the ops HTTP endpoint: a page, its assets, a server-sent
 * event stream of every session, commands through the MQTT command path, catalog search and
 * subscribe-only listen tokens. Refuses to exist beyond loopback without a token.
 */
export class WebConsole {
  private readonly access: ConsoleAccess;
  private readonly feed: SessionFeed;
  private readonly files = new Map<string, Buffer>();
  private readonly csp: string;

  constructor(
    private readonly ports: ConsolePorts,
    private readonly o: WebConsoleOptions,
  ) {
    checkConsoleExposure({ host: o.host, token: o.token });
    this.access = new ConsoleAccess({ token: o.token });
    this.feed = new SessionFeed({ source: ports.sessions, health: ports.health });
    const lk = new URL(o.livekit.url);
    const lkHosts = ['ws', 'wss', 'http', 'https'].map((scheme) => `${scheme}://${lk.host}`).join(' ');
    this.csp = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; connect-src 'self' ${lkHosts}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
  }

  /** Ends the event streams (the HTTP server closes the sockets). */
  close(): void {
    this.feed.close();
  }

  handles(url: string | undefined): boolean {
    return url === '/console' || (url?.startsWith('/console/') ?? false) || (url?.startsWith('/console?') ?? false);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return sendError(res, err);
      this.o.log.error('console request failed', { path: pathOf(req), ...errorFields(err) });
      sendError(res, new HttpError(500, 'internal_error', 'internal error'));
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (!this.access.hostAllowed(req.headers.host)) throw new HttpError(421, 'host_not_allowed', 'an open console answers only on a loopback name');

    const asset = /^\/console\/assets\/([a-z.-]+)$/.exec(path);
    if (asset) {
      allow(method, 'GET');
      return this.sendAsset(res, asset[1]!);
    }
    if (path === '/console' || path === '/console/') {
      allow(method, 'GET');
      return this.page(req, res);
    }
    if (path === '/console/login') {
      allow(method, 'POST');
      return this.login(req, res);
    }

    const caller = this.access.identify(req.headers);
    if (caller.kind === 'none') throw new HttpError(401, 'unauthorized', 'log in, or send Authorization: Bearer <http.consoleToken>');
    if (method === 'POST' && !this.access.mayChange(caller, req.headers as Record<string, string | undefined>)) {
      throw new HttpError(403, 'csrf', 'a state-changing request needs its X-CSRF-Token and a matching Origin');
    }

    if (path === '/console/logout') {
      allow(method, 'POST');
      res.writeHead(303, { ...BASE_HEADERS, location: '/console', 'set-cookie': this.access.logout(caller) });
      res.end();
      return;
    }
    if (path === '/console/api/me') {
      allow(method, 'GET');
      return sendJson(res, 200, { csrf: caller.kind === 'session' ? caller.csrf : null, open: this.access.open, languages: this.ports.languages() });
    }
    if (path === '/console/api/events') {
      allow(method, 'GET');
      if (!this.feed.subscribe(res)) throw new HttpError(503, 'too_many_streams', 'too many consoles are open');
      return;
    }
    if (path === '/console/api/catalog') {
      allow(method, 'GET');
      return this.search(req, res);
    }
    const device = /^\/console\/api\/devices\/([^/]{1,200})\/(command|listen)$/.exec(path);
    if (device) {
      allow(method, 'POST');
      const id = decodeDevice(device[1]!);
      return device[2] === 'command' ? this.command(req, res, id) : this.listen(req, res, id);
    }
    throw new HttpError(404, 'not_found', 'no such console resource');
  }

  /** The console, or the login form when a token is configured and the caller has no session. */
  private page(req: IncomingMessage, res: ServerResponse): void {
    const caller = this.access.identify(req.headers);
    const headers: Record<string, string> = { ...BASE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': this.csp };
    if (caller.kind === 'none' && !this.access.open) {
      res.writeHead(200, headers);
      res.end(this.file(join(WEB_DIR, 'login.html')));
      return;
    }
    // Open (loopback) console: a session is created on sight, so its POSTs still carry a CSRF token.
    if (caller.kind !== 'session') headers['set-cookie'] = this.access.newSession();
    res.writeHead(200, headers);
    res.end(this.file(join(WEB_DIR, 'index.html')));
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) {
      throw new HttpError(403, 'csrf', 'login from another origin');
    }
    const form = new URLSearchParams(await readBody(req, { limit: 1024, type: 'application/x-www-form-urlencoded' }));
    const result = this.access.open ? { ok: true as const, cookie: this.access.newSession() } : this.access.login(form.get('token') ?? '');
    if (!result.ok) {
      this.o.log.warn('console login refused', { error: result.code });
      res.writeHead(result.code === 'too_many_attempts' ? 429 : 401, { ...BASE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': this.csp });
      res.end(this.file(join(WEB_DIR, 'login.html')).toString().replace('<p id="error" hidden>', '<p id="error">'));
      return;
    }
    res.writeHead(303, { ...BASE_HEADERS, location: '/console', 'set-cookie': result.cookie });
    res.end();
  }

  private search(req: IncomingMessage, res: ServerResponse): void {
    const params = new URL(req.url ?? '', 'http://console').searchParams;
    const q = params.get('q') ?? '';
    const language = params.get('language') || undefined;
    if (q.length > MAX_QUERY || (language?.length ?? 0) > MAX_QUERY) throw new HttpError(400, 'invalid_field', `q and language are limited to ${MAX_QUERY} characters`);
    sendJson(res, 200, { songs: this.ports.search(q, language, SEARCH_LIMIT) });
  }

  private async command(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    const payload = await readBody(req, { limit: this.o.maxPayloadBytes, type: 'application/json' });
    const reply = await this.ports.execute(device, payload);
    sendJson(res, 200, reply);
  }

  /** A subscribe-only token for the room the device's session plays in (never any other room). */
  private async listen(req: IncomingMessage, res: ServerResponse, device: string): Promise<void> {
    parseJsonObject(await readBody(req, { limit: 256, type: 'application/json' }));
    const id = normaliseDeviceId(device);
    if (!id.ok) throw new HttpError(400, 'invalid_device_id', id.reason);
    const session = this.ports.sessions.statuses().find((s) => s.device === id.id && s.room !== null && s.state !== 'idle');
    if (!session?.room) throw new HttpError(409, 'not_playing', `no room is playing for ${id.id}`);
    const { apiKey, apiSecret, url } = this.o.livekit;
    const minted = await listenToken({ apiKey, apiSecret, room: session.room });
    this.o.log.info('console listen token issued', { device: id.id, room: session.room, identity: minted.identity });
    sendJson(res, 200, { url, room: session.room, token: minted.token, identity: minted.identity, ttl_seconds: minted.ttlSeconds });
  }

  private sendAsset(res: ServerResponse, name: string): void {
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) throw new HttpError(404, 'not_found', 'no such asset');
    const body = this.file(asset.file);
    res.writeHead(200, { ...BASE_HEADERS, 'content-type': asset.type, 'cache-control': 'no-cache' });
    res.end(body);
  }

  /** Read once, then from memory. */
  private file(path: string): Buffer {
    let body = this.files.get(path);
    if (!body) {
      try {
        body = readFileSync(path);
      } catch {
        throw new HttpError(404, 'not_found', 'asset missing from this installation');
      }
      this.files.set(path, body);
    }
    return body;
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

function allow(method: string, allowed: 'GET' | 'POST'): void {
  if (method !== allowed) throw new HttpError(405, 'method_not_allowed', `use ${allowed}`);
}

function decodeDevice(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'invalid_device_id', 'the device id is not valid percent-encoding');
  }
}

/** livekit-client's self-contained ES module build: the copy `npm run build` made, else node_modules. */
function livekitClientBundle(): string {
  const copied = join(WEB_DIR, 'livekit-client.mjs');
  if (existsSync(copied)) return copied;
  try {
    return join(dirname(require.resolve('livekit-client')), 'livekit-client.esm.mjs');
  } catch {
    return copied; // answered 404 "asset missing"
  }
}
