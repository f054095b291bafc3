import { AccessToken } from 'livekit-server-sdk';

export interface BotTokenOptions {
  apiKey: string;
  apiSecret: string;
  identity: string;
  name: string;
  room: string;
}

/**
 * A join token for the bot. Kind `agent` lets LiveKit close a room whose only remaining member is
 * the bot, so music never holds an empty room open. The bot only publishes; it subscribes to nothing.
 */
export async function botToken(o: BotTokenOptions): Promise<string> {
  const at = new AccessToken(o.apiKey, o.apiSecret, { identity: o.identity, name: o.name, ttl: '24h' });
  at.kind = 'agent';
  at.addGrant({ roomJoin: true, room: o.room, canPublish: true, canPublishData: true, canSubscribe: false });
  return at.toJwt();
}
