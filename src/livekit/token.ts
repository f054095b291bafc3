import { AccessToken } from 'livekit-server-sdk';

export interface BotTokenOptions {
  apiKey: string;
  apiSecret: string;
  identity: string;
  name: string;
  room: string;
  /** May subscribe: ducking listens to the others' audio to hear when they speak. Default false. */
  subscribe?: boolean;
}

/**
 * A join token for the bot. Kind `agent` lets LiveKit close a room whose only remaining member is
 * the bot, so music never holds an empty room open. The bot publishes; it subscribes only when it
 * ducks under speech, and then only to measure the others' level (see BotConnection).
 */
export async function botToken(o: BotTokenOptions): Promise<string> {
  const at = new AccessToken(o.apiKey, o.apiSecret, { identity: o.identity, name: o.name, ttl: '24h' });
  at.kind = 'agent';
  at.addGrant({ roomJoin: true, room: o.room, canPublish: true, canPublishData: true, canSubscribe: o.subscribe === true });
  return at.toJwt();
}
