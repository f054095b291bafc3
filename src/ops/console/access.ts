import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError } from '../../config/load';

/** Loopback addresses and names: only there may the console be open without a token. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Throws when the console would be reachable beyond loopback without a token. */
export function checkConsoleExposure(o: { host: string; token: string }): void {
  if (!o.token && !isLoopbackHost(o.host)) {
    throw new ConfigError(`http.console: bound to ${o.host}, beyond loopback, the console needs http.consoleToken (HTTP_CONSOLE_TOKEN)`);
  }
}

export const COOKIE = 'mb_console';
const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 256;
const MAX_FAILED_LOGINS_PER_MINUTE = 10;

interface ConsoleSession {
  csrf: string;
  expires: number;
}

/** Who a request is, as far as the console is concerned. */
export type Caller =
  | { kind: 'bearer' }
  | { kind: 'session'; id: string; csrf: string }
  | { kind: 'none' };

/**
 * Console access: the token (compared in constant time), browser sessions (an HttpOnly
 * SameSite=Strict cookie naming a random session id, each with its own CSRF token) and the checks
 * a state-changing request must pass. Sessions live in memory, bounded in number and age.
 */
export class ConsoleAccess {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly tokenDigest: Buffer | undefined;
  private failedLogins: number[] = [];

  constructor(private readonly o: { token: string; now?: () => number }) {
    this.tokenDigest = o.token ? digest(o.token) : undefined;
  }

  /** Open means no token is configured (loopback only, checked at start). */
  get open(): boolean {
    return this.tokenDigest === undefined;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  tokenMatches(candidate: string): boolean {
    if (!this.tokenDigest) return false;
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** A login attempt; false when the token is wrong or too many attempts failed this minute. */
  login(candidate: string): { ok: true; cookie: string } | { ok: false; code: 'bad_token' | 'too_many_attempts' } {
    const now = this.now();
    this.failedLogins = this.failedLogins.filter((t) => now - t < 60_000);
    if (this.failedLogins.length >= MAX_FAILED_LOGINS_PER_MINUTE) return { ok: false, code: 'too_many_attempts' };
    if (!this.tokenMatches(candidate)) {
      this.failedLogins.push(now);
      return { ok: false, code: 'bad_token' };
    }
    return { ok: true, cookie: this.newSession() };
  }

  /** Creates a browser session; returns its Set-Cookie value. */
  newSession(): string {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id);
    // Oldest first (insertion order): the bound drops the oldest session.
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, { csrf: randomBytes(24).toString('base64url'), expires: now + SESSION_TTL_MS });
    return `${COOKIE}=${id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}`;
  }

  logout(caller: Caller): string {
    if (caller.kind === 'session') this.sessions.delete(caller.id);
    return `${COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  /** Identifies a request from its Authorization header or its session cookie. */
  identify(headers: { authorization?: string; cookie?: string }): Caller {
    const auth = headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer (\S{1,512})$/.exec(auth);
      return m && this.tokenMatches(m[1]!) ? { kind: 'bearer' } : { kind: 'none' };
    }
    const id = cookieValue(headers.cookie, COOKIE);
    const s = id ? this.sessions.get(id) : undefined;
    if (!id || !s) return { kind: 'none' };
    if (s.expires <= this.now()) {
      this.sessions.delete(id);
      return { kind: 'none' };
    }
    return { kind: 'session', id, csrf: s.csrf };
  }

  /**
   * May a request with these headers change state? A bearer caller always (browsers never attach
   * it on their own); a cookie session only with its CSRF token in X-CSRF-Token and, when the
   * browser says where it comes from, an Origin equal to this host.
   */
  mayChange(caller: Caller, headers: { host?: string; origin?: string; 'x-csrf-token'?: string }): boolean {
    if (caller.kind === 'bearer') return true;
    if (caller.kind !== 'session') return false;
    const sent = headers['x-csrf-token'];
    if (typeof sent !== 'string' || !safeEqual(sent, caller.csrf)) return false;
    return headers.origin === undefined || originMatchesHost(headers.origin, headers.host);
  }

  /**
   * Open (loopback) consoles answer only requests addressed to a loopback name, so a web page
   * whose DNS name was rebound to 127.0.0.1 cannot drive the console from the operator's browser.
   */
  hostAllowed(host: string | undefined): boolean {
    if (!this.open) return true;
    if (!host) return false;
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    return isLoopbackHost(name);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function originMatchesHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** One cookie's value from a Cookie header; undefined when absent or malformed. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{1,64}$/.test(v) ? v : undefined;
    }
  }
  return undefined;
}
