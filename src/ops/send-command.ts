import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { loadConfig } from '../config/load';
import { normaliseDeviceId } from '../mqtt/device-id';
import { Topics } from '../mqtt/topics';

export interface SendOptions {
  device: string;
  action: string;
  arg?: string;
  language?: string;
  genre?: string;
  sessionId?: string;
  timeoutMs: number;
  configFile?: string;
}

export const ACTIONS = 'start, stop, skip, previous, pause, resume, volume N, play TITLE, enqueue TITLE, enqueue-next TITLE, queue, remove N|SONG_ID, clear-queue, repeat off|one|all, shuffle on|off, ducking on|off, seek MS, status';

/** Short CLI actions → the JSON command the app would publish. */
export function buildCommand(o: Pick<SendOptions, 'action' | 'arg' | 'language' | 'genre' | 'sessionId'>): Record<string, unknown> {
  const session = o.sessionId ? { session_id: o.sessionId } : {};
  switch (o.action) {
    case 'start':
      return { type: 'start_continuous_music', ...(o.language ? { language: o.language } : {}), ...(o.genre ? { genre: o.genre } : {}), ...session };
    case 'stop':
      return { type: 'stop_continuous_music', ...session };
    case 'skip':
      return { type: 'skip_music', ...session };
    case 'previous':
      return { type: 'previous_music', ...session };
    case 'pause':
      return { type: 'pause_music', ...session };
    case 'resume':
      return { type: 'resume_music', ...session };
    case 'status':
      return { type: 'get_status', ...session };
    case 'volume':
      if (!o.arg || !/^\d+$/.test(o.arg)) throw new Error('volume needs a number from 0 to 100');
      return { type: 'set_volume', volume: Number(o.arg), ...session };
    case 'play':
      if (!o.arg) throw new Error('play needs a song title');
      return { type: 'play_song', query: o.arg, ...(o.language ? { language: o.language } : {}), ...session };
    case 'enqueue':
    case 'enqueue-next':
      if (!o.arg) throw new Error(`${o.action} needs a song title`);
      return { type: 'enqueue_music', query: o.arg, position: o.action === 'enqueue' ? 'end' : 'next', ...(o.language ? { language: o.language } : {}), ...session };
    case 'queue':
      return { type: 'get_queue', ...session };
    case 'remove':
      if (!o.arg) throw new Error('remove needs an index (0: the next song) or a song id');
      return { type: 'remove_from_queue', ...(/^\d+$/.test(o.arg) ? { index: Number(o.arg) } : { song_id: o.arg }), ...session };
    case 'clear-queue':
      return { type: 'clear_queue', ...session };
    case 'repeat':
      if (o.arg !== 'off' && o.arg !== 'one' && o.arg !== 'all') throw new Error('repeat needs off, one or all');
      return { type: 'set_repeat', mode: o.arg, ...session };
    case 'shuffle':
      if (o.arg !== 'on' && o.arg !== 'off') throw new Error('shuffle needs on or off');
      return { type: 'set_shuffle', on: o.arg === 'on', ...session };
    case 'seek':
      if (!o.arg || !/^\d+$/.test(o.arg)) throw new Error('seek needs a position in ms');
      return { type: 'seek_music', position_ms: Number(o.arg), ...session };
    case 'ducking':
      if (o.arg !== 'on' && o.arg !== 'off') throw new Error('ducking needs on or off');
      return { type: 'set_ducking', on: o.arg === 'on', ...session };
    default:
      throw new Error(`unknown action "${o.action}" (${ACTIONS})`);
  }
}

/**
 * Publishes one command as the app would and prints the daemon's reply. Exit code 0 for an ok
 * reply, 1 for an error reply or no reply in time.
 */
export async function runSend(o: SendOptions): Promise<number> {
  const { config } = loadConfig({ file: o.configFile });
  const id = normaliseDeviceId(o.device);
  if (!id.ok) throw new Error(id.reason);
  const command = { ...buildCommand(o), request_id: randomBytes(6).toString('hex') };
  const topics = new Topics(config.mqtt.baseTopic);
  const client = await mqtt.connectAsync(config.mqtt.url, {
    clientId: `music-bridge-cli-${randomBytes(4).toString('hex')}`,
    username: config.mqtt.username || undefined,
    password: config.mqtt.password || undefined,
    connectTimeout: o.timeoutMs,
    reconnectPeriod: 0,
  });
  try {
    const reply = new Promise<Record<string, unknown> | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), o.timeoutMs);
      client.on('message', (_topic, payload) => {
        try {
          const body = JSON.parse(payload.toString()) as Record<string, unknown>;
          if (body.request_id !== command.request_id) return;
          clearTimeout(timer);
          resolve(body);
        } catch {
          /* not ours */
        }
      });
    });
    // A daemon that is still starting has not subscribed yet: wait for its retained "online"
    // (bounded by the same timeout) so a command typed right after start-up is not lost.
    let onlineTimer: NodeJS.Timeout | undefined;
    const online = new Promise<boolean>((resolve) => {
      onlineTimer = setTimeout(() => resolve(false), o.timeoutMs);
      client.on('message', (topic, payload) => {
        if (topic === topics.availability && payload.toString() === 'online') resolve(true);
      });
    });
    await client.subscribeAsync(topics.reply(id.id), { qos: 1 });
    const [grant] = await client.subscribeAsync(topics.availability, { qos: 1 });
    // A broker ACL may refuse the availability topic (granted QoS 128): then do not wait for it.
    const isOnline = grant && grant.qos !== 128 ? await online : false;
    clearTimeout(onlineTimer);
    await client.publishAsync(topics.command(id.id), JSON.stringify(command), { qos: 1 });
    const body = await reply;
    if (!body) {
      const why = isOnline ? 'the bridge is online but did not answer' : `is the daemon running and using base topic "${config.mqtt.baseTopic}"?`;
      process.stderr.write(`no reply within ${o.timeoutMs} ms: ${why}\n`);
      return 1;
    }
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return body.ok === true ? 0 : 1;
  } finally {
    await client.endAsync();
  }
}
