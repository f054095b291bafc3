import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, startMosquittoOnFreePort } from '../../src/ops/local-stack';

/** A real Mosquitto with logins (user → password) and the shipped ACL (mosquitto/acl), on loopback. */
export async function startAclBroker(users: Record<string, string>): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  // Mosquitto started as root drops to its own user, which must be able to read the password file.
  const dir = mkdtempSync(join(tmpdir(), 'music-bridge-acl-'));
  chmodSync(dir, 0o755);
  const passwd = join(dir, 'passwd');
  Object.entries(users).forEach(([user, pw], i) => execFileSync('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwd, user, pw]));
  chmodSync(passwd, 0o644);
  const { server, port } = await startMosquittoOnFreePort(dir, 'secure.d', undefined, 3, `password_file ${passwd}\nacl_file ${join(PROJECT_ROOT, 'mosquitto', 'acl')}\n`);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
