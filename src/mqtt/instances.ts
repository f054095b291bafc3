import { hostname } from 'node:os';

/**
 * This bridge instance's id (bridge.instanceId): the owner named in every device status. When not
 * configured it is derived from the host name and the MQTT client id, so the same unit restarted
 * on the same host keeps it (and so resumes its own sessions).
 */
export function instanceIdOf(configured: string, clientId: string, host = hostname()): string {
  if (configured) return configured;
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${clean(host) || 'host'}-${clean(clientId) || 'bridge'}`.slice(0, 64);
}
