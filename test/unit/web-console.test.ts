import { EventEmitter } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../../src/config/load';
import { createWebConsole } from '../../src/ops/console/create';
import type { Reply } from '../../src/mqtt/control-plane';
import { checkConsoleExposure, cookieValue, isLoopbackHost } from '../../src/ops/console/access';
import { SessionFeed } from '../../src/ops/console/session-feed';
import { type ConsolePorts, WebConsole } from '../../src/ops/console/web-console';
import { createLogger } from '../../src/ops/logger';
import type { DeviceStatus } from '../../src/session/status';

const TOKEN = 'console-token-0123456789';
const SECRET = 'livekit-secret-never-in-a-page-0123456789';
const log = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));

function status(device: string, o: Partial<DeviceStatus> = {}): DeviceStatus {
  return {
    device,
    room: `room-${device}`,
    state: 'playing',
    song: { id: 'english/pop-one', title: 'Pop One', language: 'English', genre: 'pop', duration_ms: 4000 },
    volume: 100,
    queue_length: 2,
    queued: 0,
    repeat: 'off',
    shuffle: true,
    position_ms: 1200,
    position_at: '2026-11-25T05:23:11.293Z',
    ducking: true,
    ducked: false,
    language: 'English',
    genre: 'pop',
    error: null,
    last_failure: null,
    reason: null,
    queue: [],
    history: [],
    instance: null,
    seq: 0,
    updated_at: new Date(1_000_000).toISOString(),
    ...o,
  };
}

class FakeSessions extends EventEmitter {
  list: DeviceStatus[] = [status('aabbccddeeff')];
  statuses(): DeviceStatus[] {
    return this.list;
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so Host and Origin can be whatever an attacker sends. */
function send(port: number, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: { host: `127.0.0.1:${port}`, ...o.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

async function serve(consoleOpts: { host: string; token: string }, sessions = new FakeSessions()) {
  const executed: Array<{ device: string; payload: string }> = [];
  const ports: ConsolePorts = {
    async execute(device, payload): Promise<Reply> {
      executed.push({ device, payload });
      return { ok: true, error: null, command: 'skip_music', message: 'Skipped', device, session_id: null, request_id: null, state: null };
    },
    search: (q) => (q === 'pop' ? [{ id: 'english/pop-one', title: 'Pop One', language: 'English', genre: 'pop', duration_ms: 4000 }] : []),
    languages: () => ['English'],
    health: async () => ({ ok: true }),
    sessions,
  };
  const web = new WebConsole(ports, { ...consoleOpts, livekit: { url: 'ws://127.0.0.1:7880', apiKey: 'devkey', apiSecret: SECRET }, maxPayloadBytes: 4096, log });
  const server: Server = createServer((req, res) => void web.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    executed,
    sessions,
    close: async () => {
      web.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('console exposure', () => {
  test('loopback hosts are recognised', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '127.0.0.1.evil.com'].some(isLoopbackHost)).toBe(false);
  });

  test('beyond loopback the console refuses to start without a token', () => {
    expect(() => checkConsoleExposure({ host: '0.0.0.0', token: '' })).toThrow(ConfigError);
    expect(() => checkConsoleExposure({ host: '10.1.2.3', token: '' })).toThrow(/consoleToken/);
    expect(() => checkConsoleExposure({ host: '10.1.2.3', token: TOKEN })).not.toThrow();
    expect(() => checkConsoleExposure({ host: '127.0.0.1', token: '' })).not.toThrow();
  });

  test('the daemon\'s console: off by default, needs http.port, needs a token beyond loopback', () => {
    const deps = { registry: Object.assign(new FakeSessions(), { execute: async () => ({ ok: true, message: '', status: status('x') }), status: (d: string) => status(d) }), catalog: () => { throw new Error('unused'); }, metrics: { commands: { observe: () => undefined }, refused: { inc: () => undefined } }, health: { ready: async () => ({ ok: true, checks: {} }) }, instances: () => ({ instance: 'host-a', live: ['host-a'] }), log };
    const make = (env: Record<string, string>) => createWebConsole(loadConfig({ env }).config, deps);
    expect(make({})).toBeUndefined();
    expect(() => make({ HTTP_CONSOLE: 'true' })).toThrow(/needs http.port/);
    expect(() => make({ HTTP_CONSOLE: 'true', HTTP_PORT: '9464', HTTP_HOST: '0.0.0.0' })).toThrow(ConfigError);
    make({ HTTP_CONSOLE: 'true', HTTP_PORT: '9464', HTTP_HOST: '0.0.0.0', HTTP_CONSOLE_TOKEN: TOKEN })!.close();
    make({ HTTP_CONSOLE: 'true', HTTP_PORT: '9464' })!.close();
  });

  test('cookie values are taken only when well-formed', () => {
    expect(cookieValue('a=1; mb_console=abc_DEF-9', 'mb_console')).toBe('abc_DEF-9');
    expect(cookieValue('mb_console=<script>', 'mb_console')).toBeUndefined();
    expect(cookieValue(undefined, 'mb_console')).toBeUndefined();
  });
});

describe('web console with a token (bound beyond loopback)', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeEach(async () => {
    s = await serve({ host: '0.0.0.0', token: TOKEN });
  });
  afterEach(() => s.close());

  const login = async (): Promise<{ cookie: string; csrf: string }> => {
    const res = await send(s.port, '/console/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
    expect(res.status).toBe(303);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    const me = await send(s.port, '/console/api/me', { headers: { cookie } });
    return { cookie, csrf: (JSON.parse(me.body) as { csrf: string }).csrf };
  };

  test('without the token: the login form, and every API refused', async () => {
    const page = await send(s.port, '/console');
    expect(page.body).toContain('name="token"');
    expect(page.body).not.toContain('console.js');
    for (const path of ['/console/api/me', '/console/api/events', '/console/api/catalog?q=pop']) {
      const res = await send(s.port, path);
      expect([res.status, JSON.parse(res.body).error]).toEqual([401, 'unauthorized']);
    }
    const post = await send(s.port, '/console/api/devices/aabbccddeeff/command', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-0123456789' }, body: '{"type":"skip_music"}' });
    expect(post.status).toBe(401);
    expect(s.executed).toEqual([]);
  });

  test('a wrong login is refused, and repeated failures are throttled', async () => {
    const attempt = () => send(s.port, '/console/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=guess' });
    const first = await attempt();
    expect(first.status).toBe(401);
    expect(first.headers['set-cookie']).toBeUndefined();
    for (let i = 0; i < 9; i++) await attempt();
    expect((await attempt()).status).toBe(429);
  });

  test('a bearer token runs a command; the device id goes to the command path as sent', async () => {
    const res = await send(s.port, '/console/api/devices/AA%3ABB%3ACC%3ADD%3AEE%3AFF/command', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{"type":"skip_music"}' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ ok: true, command: 'skip_music' });
    expect(s.executed).toEqual([{ device: 'AA:BB:CC:DD:EE:FF', payload: '{"type":"skip_music"}' }]);
  });

  test('a cookie session needs its CSRF token and a matching Origin to change anything', async () => {
    const { cookie, csrf } = await login();
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const post = (headers: Record<string, string>) => send(s.port, '/console/api/devices/aabbccddeeff/command', { method: 'POST', headers: { 'content-type': 'application/json', cookie, ...headers }, body: '{"type":"skip_music"}' });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect(s.executed).toEqual([]);
    expect((await post({ 'x-csrf-token': csrf, origin: `http://127.0.0.1:${s.port}` })).status).toBe(200);
    expect(s.executed).toHaveLength(1);
    // A form post (the only cross-site POST without a preflight) is refused by its media type.
    const form = await send(s.port, '/console/api/devices/aabbccddeeff/command', { method: 'POST', headers: { 'content-type': 'text/plain', cookie, 'x-csrf-token': csrf }, body: '{"type":"skip_music"}' });
    expect([form.status, JSON.parse(form.body).error]).toEqual([415, 'unsupported_media_type']);
    const logout = await send(s.port, '/console/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: '{}' });
    expect(logout.status).toBe(303);
    expect((await send(s.port, '/console/api/me', { headers: { cookie } })).status).toBe(401);
  });

  test('hostile requests get coded errors', async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const big = await send(s.port, '/console/api/devices/aabbccddeeff/command', { method: 'POST', headers: auth, body: JSON.stringify({ type: 'play_song', query: 'x'.repeat(5000) }) });
    expect([big.status, JSON.parse(big.body).error]).toEqual([413, 'payload_too_large']);
    const get = await send(s.port, '/console/api/devices/aabbccddeeff/command', { headers: auth });
    expect([get.status, JSON.parse(get.body).error]).toEqual([405, 'method_not_allowed']);
    const badEscape = await send(s.port, '/console/api/devices/%E0%A4%A/listen', { method: 'POST', headers: auth, body: '{}' });
    expect([badEscape.status, JSON.parse(badEscape.body).error]).toEqual([400, 'invalid_device_id']);
    const badDevice = await send(s.port, '/console/api/devices/a%2Fb%23/listen', { method: 'POST', headers: auth, body: '{}' });
    expect([badDevice.status, JSON.parse(badDevice.body).error]).toEqual([400, 'invalid_device_id']);
    const notJson = await send(s.port, '/console/api/devices/aabbccddeeff/listen', { method: 'POST', headers: auth, body: '{"__proto__":' });
    expect([notJson.status, JSON.parse(notJson.body).error]).toEqual([400, 'invalid_json']);
    const longQuery = await send(s.port, `/console/api/catalog?q=${'a'.repeat(300)}`, { headers: auth });
    expect([longQuery.status, JSON.parse(longQuery.body).error]).toEqual([400, 'invalid_field']);
    for (const path of ['/console/assets/..%2F..%2F..%2Fpackage.json', '/console/assets/../../package.json', '/console/assets/constructor', '/console/nope']) {
      expect((await send(s.port, path, { headers: auth })).status).toBe(404);
    }
  });

  test('listen: a subscribe-only, short-lived token for the device\'s own room; no secret anywhere', async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const idle = await send(s.port, '/console/api/devices/001122334455/listen', { method: 'POST', headers: auth, body: '{}' });
    expect([idle.status, JSON.parse(idle.body).error]).toEqual([409, 'not_playing']);
    const res = await send(s.port, '/console/api/devices/AA-BB-CC-DD-EE-FF/listen', { method: 'POST', headers: auth, body: '{"room":"someone-elses-room"}' });
    expect(res.status).toBe(200);
    expect(res.body).not.toContain(SECRET);
    const grant = JSON.parse(res.body) as { token: string; room: string; url: string };
    expect(grant.room).toBe('room-aabbccddeeff');
    const claims = JSON.parse(Buffer.from(grant.token.split('.')[1]!, 'base64url').toString()) as { exp: number; nbf?: number; iat?: number; video: Record<string, unknown>; sub: string };
    expect(claims.video).toMatchObject({ roomJoin: true, room: 'room-aabbccddeeff', canSubscribe: true, canPublish: false, canPublishData: false });
    expect(claims.sub).toMatch(/^console-listener-/);
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(600);

    const { cookie } = await login();
    for (const path of ['/console', '/console/assets/console.js', '/console/api/me']) {
      const body = (await send(s.port, path, { headers: { cookie } })).body;
      expect(body).not.toContain(SECRET);
      expect(body).not.toContain(TOKEN);
    }
    const page = await send(s.port, '/console', { headers: { cookie } });
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
  });

  test('server-sent events: a snapshot, then every status change', async () => {
    const { cookie } = await login();
    const got: string[] = [];
    const stream = request({ host: '127.0.0.1', port: s.port, path: '/console/api/events', headers: { cookie } });
    const done = new Promise<void>((resolve, reject) => {
      stream.on('response', (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.on('data', (c: Buffer) => {
          got.push(c.toString());
          const text = got.join('');
          if (text.includes('event: snapshot') && !text.includes('event: session')) s.sessions.emit('status', status('aabbccddeeff', { state: 'paused' }));
          if (text.includes('event: session')) resolve();
        });
      });
      stream.on('error', reject);
    });
    stream.end();
    await done;
    stream.destroy();
    const text = got.join('');
    expect(text).toMatch(/event: snapshot\ndata: \{"sessions":\[\{"device":"aabbccddeeff"/);
    expect(text).toMatch(/event: session\ndata: \{"device":"aabbccddeeff".*"state":"paused"/);
  });
});

describe('event stream bound', () => {
  test('at most 32 streams at once; the next is refused with a code', async () => {
    const s = await serve({ host: '0.0.0.0', token: TOKEN });
    const streams = await Promise.all(
      Array.from({ length: 32 }, () => new Promise<ReturnType<typeof request>>((resolve) => {
        const r = request({ host: '127.0.0.1', port: s.port, path: '/console/api/events', headers: { authorization: `Bearer ${TOKEN}` } });
        r.on('response', (res) => {
          expect(res.statusCode).toBe(200);
          resolve(r);
        });
        r.end();
      })),
    );
    const extra = await send(s.port, '/console/api/events', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([extra.status, JSON.parse(extra.body).error]).toEqual([503, 'too_many_streams']);
    streams.forEach((r) => r.destroy());
    await s.close();
  });
});

describe('open web console (loopback, no token)', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeEach(async () => {
    s = await serve({ host: '127.0.0.1', token: '' });
  });
  afterEach(() => s.close());

  test('the page opens a session; POSTs still need its CSRF token', async () => {
    const page = await send(s.port, '/console');
    expect(page.status).toBe(200);
    expect(page.body).toContain('console.js');
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    const post = (headers: Record<string, string>) => send(s.port, '/console/api/devices/aabbccddeeff/command', { method: 'POST', headers: { 'content-type': 'application/json', cookie, ...headers }, body: '{"type":"skip_music"}' });
    expect((await post({})).status).toBe(403);
    const { csrf } = JSON.parse((await send(s.port, '/console/api/me', { headers: { cookie } })).body) as { csrf: string };
    expect((await post({ 'x-csrf-token': csrf })).status).toBe(200);
  });

  test('a request addressed to another name (DNS rebinding) is refused', async () => {
    const res = await send(s.port, '/console', { headers: { host: `evil.example:${s.port}` } });
    expect([res.status, JSON.parse(res.body).error]).toEqual([421, 'host_not_allowed']);
  });
});

describe('session feed progress', () => {
  test('elapsed time counts from the status that named the song, without paused time', () => {
    let now = 1_000_000;
    const sessions = new FakeSessions();
    const feed = new SessionFeed({ source: sessions, health: async () => ({}), now: () => now });
    sessions.list = [status('d1', { updated_at: new Date(now).toISOString() })];
    expect(feed.sessions()[0]!.progress).toEqual({ elapsed_ms: 0, at: now, running: true });
    now += 1500;
    sessions.list = [status('d1', { state: 'paused', updated_at: new Date(now).toISOString() })];
    now += 5000;
    expect(feed.sessions()[0]!.progress).toMatchObject({ elapsed_ms: 1500, running: false });
    sessions.list = [status('d1', { updated_at: new Date(now).toISOString() })];
    now += 500;
    expect(feed.sessions()[0]!.progress).toMatchObject({ elapsed_ms: 2000, running: true });
    sessions.list = [status('d1', { song: { id: 'english/pop-two', title: 'Pop Two', language: 'English', genre: 'pop', duration_ms: 4000 }, updated_at: new Date(now).toISOString() })];
    expect(feed.sessions()[0]!.progress).toMatchObject({ elapsed_ms: 0 });
    feed.close();
  });
});
