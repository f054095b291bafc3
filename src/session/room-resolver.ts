export type RoomStrategy = 'session_id' | 'template';

export interface RoomResolverOptions {
  strategy: RoomStrategy;
  template: string;
}

/**
 * Which LiveKit room a device's music goes to. Deployments this replaces use the room name as the
 * session id, so `session_id` is the default; without one (or with the `template` strategy) the
 * room name comes from the template, e.g. "{device}" or "music-{device}".
 */
export function resolveRoom(o: RoomResolverOptions, device: string, sessionId: string | undefined): string {
  if (o.strategy === 'session_id' && sessionId) return sessionId;
  return o.template.split('{device}').join(device);
}
