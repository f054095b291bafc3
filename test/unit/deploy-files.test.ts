import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';

const ROOT = join(__dirname, '..', '..');

describe('shipped deployment files', () => {
  test.each(['production.example.json', 'dev.example.json'])('config/%s is a valid configuration', (file) => {
    expect(() => loadConfig({ file: join(ROOT, 'config', file), env: {} })).not.toThrow();
  });

  test('the systemd unit passes systemd-analyze verify', () => {
    // verify prints problems (unknown keys, bad values) on stderr and exits non-zero on errors.
    const out = execFileSync('systemd-analyze', ['verify', join(ROOT, 'deploy', 'music-bridge.service')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });
});
