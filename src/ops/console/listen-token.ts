import { randomBytes } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';

export const LISTEN_TTL_SECONDS = 600;

/**
 * A token for the console's browser to hear one room: it may subscribe and nothing else (no
 * publishing, no data, no metadata), expires in ten minutes, and carries a random identity so
 * it never takes the place of the bot or a device. Minted per request; the API secret stays here.
 */
export async function listenToken(o: { apiKey: string; apiSecret: string; room: string }): Promise<{ token: string; identity: string; ttlSeconds: number }> {
  const identity = `console-listener-${randomBytes(6).toString('hex')}`;
  const at = new AccessToken(o.apiKey, o.apiSecret, { identity, name: 'Console listener', ttl: LISTEN_TTL_SECONDS });
  at.addGrant({ roomJoin: true, room: o.room, canSubscribe: true, canPublish: false, canPublishData: false, canUpdateOwnMetadata: false, hidden: true });
  return { token: await at.toJwt(), identity, ttlSeconds: LISTEN_TTL_SECONDS };
}
