import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLoopbackUrl, loadConfig } from '../../src/config/load';
import { DEV_LIVEKIT_API_SECRET } from '../../src/config/schema';

const ROOT = join(__dirname, '..', '..');
const read = (...path: string[]) => readFileSync(join(ROOT, ...path), 'utf8');

/** KEY=value lines of an environment file. */
function envFile(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('shipped deployment files', () => {
  test.each(['production.example.json', 'dev.example.json'])('config/%s is a valid configuration', (file) => {
    expect(() => loadConfig({ file: join(ROOT, 'config', file), env: {} })).not.toThrow();
  });

  test('production: the example config with the example environment file is valid, has no development secret and keeps the member policy', () => {
    const env = envFile(read('deploy', 'music-bridge.env'));
    const { config } = loadConfig({ file: join(ROOT, 'config', 'production.example.json'), env });
    expect(config.livekit.roomPolicy).toBe('member');
    expect(isLoopbackUrl(config.livekit.url)).toBe(false);
    expect(read('config', 'production.example.json') + read('deploy', 'music-bridge.env')).not.toMatch(/devkey|music-bridge-dev-secret/);
    // Forgetting the secrets of a remote LiveKit stops start-up, naming the keys.
    const { LIVEKIT_API_KEY: _k, LIVEKIT_API_SECRET: _s, ...withoutSecrets } = env;
    expect(() => loadConfig({ file: join(ROOT, 'config', 'production.example.json'), env: withoutSecrets })).toThrow(/livekit\.apiKey and livekit\.apiSecret are the development default/);
  });

  test('the systemd unit passes systemd-analyze verify', () => {
    // verify prints problems (unknown keys, bad values) on stderr and exits non-zero on errors.
    const out = execFileSync('systemd-analyze', ['verify', join(ROOT, 'deploy', 'music-bridge.service')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  test('the systemd template unit (many instances) passes systemd-analyze verify and gives each instance its own id', () => {
    const out = execFileSync('systemd-analyze', ['verify', join(ROOT, 'deploy', 'music-bridge@.service')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
    expect(read('deploy', 'music-bridge@.service')).toMatch(/^Environment=MUSIC_BRIDGE_INSTANCE_ID=%H-%i$/m);
  });

  test('mosquitto-secure.conf: logins and the ACL everywhere, TLS on every listener but a loopback one', () => {
    const lines = read('mosquitto', 'mosquitto-secure.conf').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(lines).toEqual(expect.arrayContaining(['per_listener_settings false', 'allow_anonymous false', 'password_file /mosquitto/config/passwd', 'acl_file /mosquitto/config/acl']));
    const listeners: string[][] = [];
    for (const line of lines) {
      if (line.startsWith('listener ')) listeners.push([line]);
      else listeners.at(-1)?.push(line);
    }
    expect(listeners.length).toBeGreaterThanOrEqual(2);
    for (const [listener, ...settings] of listeners) {
      const tls = settings.some((s) => s.startsWith('certfile ')) && settings.some((s) => s.startsWith('keyfile '));
      const bind = listener!.split(/\s+/)[2];
      if (!tls) expect([listener, bind]).toEqual([listener, expect.stringMatching(/^(127\.0\.0\.1|::1|localhost)$/)]);
    }
    expect(listeners.some(([, ...settings]) => settings.some((s) => s.startsWith('certfile ')))).toBe(true);
  });

  test('docker-compose.yml says it is a local development stack and keeps its development secret on loopback', () => {
    const compose = read('docker-compose.yml');
    expect(compose.split('\n')[0]).toMatch(/^# LOCAL DEVELOPMENT STACK/);
    expect(compose).toMatch(/LIVEKIT_API_SECRET=/); // how to set a real one
    // Every published port on loopback only.
    const ports = [...compose.matchAll(/^\s+- "([^"]+)"$/gm)].map((m) => m[1]!).filter((p) => /^[\d.:]+(\/udp)?$/.test(p));
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^127\.0\.0\.1:/);
    // The bridge would refuse the development secret for a LiveKit it reaches over a network.
    const livekitUrl = /LIVEKIT_URL: (\S+)/.exec(compose)![1]!;
    expect(compose).toContain(DEV_LIVEKIT_API_SECRET);
    expect(isLoopbackUrl(livekitUrl)).toBe(true);
    expect(compose).toContain('network_mode: "service:livekit"');
  });
});
