import { dispose } from '@livekit/rtc-node';
import { randomInt } from 'node:crypto';
import { probeFfmpeg, resolveFfmpegPath, type FfmpegInfo } from './audio/ffmpeg-path';
import { SongDecoder, type DecoderOptions } from './audio/decoder';
import type { MediaPolicy } from './audio/media-input';
import { samplesPerChannel, type PcmFormat } from './audio/pcm-format';
import { loadFallback, type Fallback } from './catalog/fallback';
import { defaultMediaRoot } from './catalog/media-root';
import { CatalogStore, createSource } from './catalog/source';
import type { AppConfig } from './config/schema';
import { BotConnection } from './livekit/bot-connection';
import { MusicTrack } from './livekit/music-track';
import { LiveKitRoomFinder } from './livekit/room-finder';
import { stopSdkLogForwarding } from './livekit/sdk-logs';
import { ControlPlane } from './mqtt/control-plane';
import { type HealthChecks, OpsHttpServer } from './ops/http-server';
import { errorFields, type Logger } from './ops/logger';
import { Metrics } from './ops/metrics';
import { VERSION } from './ops/version';
import { seededRandom } from './player/random';
import { SessionRegistry } from './session/registry';
import type { RoomJoiner, RoomLink } from './session/room-link';
import { RoomResolver } from './session/room-resolver';
import { RoomSession } from './session/room-session';
import type { DeviceStatus } from './session/status';

export interface App {
  start(): Promise<void>;
  /** Stops every session, says offline, leaves every room. Safe to call twice. */
  stop(): Promise<void>;
  readonly registry: SessionRegistry;
}

/** Wires the one-way flow: MQTT command → session → player → audio → LiveKit. */
export function createApp(config: AppConfig, redacted: Record<string, unknown>, log: Logger): App {
  const format: PcmFormat = { sampleRate: config.audio.sampleRate, channels: config.audio.channels };
  const ffmpegPath = resolveFfmpegPath(config.audio.ffmpegPath);
  const catalog = new CatalogStore(createSource(config.catalog.location, config.catalog), { refreshSeconds: config.catalog.refreshSeconds });
  catalog.on('updated', (songs, problems) => {
    for (const problem of problems) log.warn('catalog entry skipped', { location: config.catalog.location, problem });
    log.info('catalog loaded', { location: config.catalog.location, songs });
  });
  catalog.on('refreshFailed', (err: Error) => log.warn('catalog refresh failed; keeping the last good copy', errorFields(err)));

  // Song sources: local songs only under the media root; the fallback and ffmpeg's version are read at start-up.
  const media: MediaPolicy = { root: config.audio.mediaRoot || defaultMediaRoot(config.catalog.location, config.catalog.mediaBaseUrl) };
  let ffmpeg: FfmpegInfo | undefined;
  let fallback: Fallback | undefined;
  const decoderOptions = (policy: MediaPolicy): DecoderOptions => ({
    format,
    ffmpegPath,
    readAheadMs: config.audio.readAheadMs,
    stallMs: config.audio.stallMs,
    networkTimeoutMs: config.audio.networkTimeoutMs,
    media: policy,
    maxRedirects: ffmpeg?.maxRedirects ? config.audio.maxRedirects : undefined,
  });

  const join: RoomJoiner = async (room) => {
    const connection = await BotConnection.join({
      url: config.livekit.url,
      apiKey: config.livekit.apiKey,
      apiSecret: config.livekit.apiSecret,
      identity: config.livekit.botIdentity,
      name: config.livekit.botName,
      room,
      timeoutMs: config.livekit.connectTimeoutMs,
    });
    const forwarding = stopSdkLogForwarding(); // rtc-node's client exists now
    if (forwarding === 'stopped') log.debug('LiveKit SDK log forwarding stopped');
    if (forwarding === 'unsupported') log.warn('could not stop the LiveKit SDK forwarding its log records; CPU use per room will be higher');
    const track = new MusicTrack(connection.participant, { format, queueMs: config.audio.queueMs, bitrate: config.livekit.audioBitrate });
    try {
      await track.publish();
    } catch (err) {
      await connection.leave().catch(() => undefined);
      throw err;
    }
    const link: RoomLink = {
      track,
      on: connection.on.bind(connection),
      off: connection.off.bind(connection),
      get otherParticipants() {
        return connection.otherParticipants;
      },
      send: (topic, message) => connection.send(topic, message),
      leave: () => connection.leave(),
    };
    return link;
  };

  const registry: SessionRegistry = new SessionRegistry({
    rooms: new RoomResolver({
      strategy: config.livekit.roomStrategy,
      template: config.livekit.roomTemplate,
      finder: new LiveKitRoomFinder({
        url: config.livekit.url,
        apiKey: config.livekit.apiKey,
        apiSecret: config.livekit.apiSecret,
        identityTemplate: config.livekit.deviceIdentityTemplate,
        botIdentity: config.livekit.botIdentity,
      }),
    }),
    maxSessions: config.sessions.max,
    log,
    createSession: (device, room): RoomSession =>
      new RoomSession({
        device,
        room,
        log: log.child({ device, room }),
        join,
        catalog: () => catalog.current,
        rng: seededRandom(randomInt(2 ** 31)),
        frameSamples: samplesPerChannel(format, config.audio.frameMs) * format.channels,
        channels: format.channels,
        fadeSamples: samplesPerChannel(format, config.audio.fadeMs),
        crossfadeFrames: Math.ceil(config.audio.crossfadeMs / config.audio.frameMs),
        maxFailuresInRow: config.audio.maxFailuresInRow,
        rejoinTimeoutMs: config.sessions.rejoinTimeoutMs,
        emptyRoomTimeoutMs: config.sessions.emptyRoomTimeoutMs,
        counters: metrics,
        openDecoder: (song) => new SongDecoder(song.url, decoderOptions(media)),
        outage: {
          fallback: fallback?.songs,
          openFallback: fallback && ((song) => new SongDecoder(song.url, decoderOptions({ root: fallback!.root }))),
          retryBaseMs: config.audio.sourceRetryBaseMs,
          retryMaxMs: config.audio.sourceRetryMaxMs,
        },
      }),
  });

  const metrics: Metrics = new Metrics((): DeviceStatus[] => registry.statuses());
  const control = new ControlPlane(
    { ...config.mqtt, info: () => ({ version: VERSION, ffmpeg: ffmpeg?.version ?? null, config: redacted }) },
    registry,
    log,
    metrics,
  );
  const health: HealthChecks = {
    async ready() {
      const livekit = await reachable(config.livekit.url);
      return { ok: control.connected && livekit === true, checks: { mqtt: control.connected, livekit } };
    },
  };
  const http = config.http.port > 0 ? new OpsHttpServer({ host: config.http.host, port: config.http.port, metrics, health, log }) : undefined;

  let stopping: Promise<void> | undefined;
  return {
    registry,
    async start() {
      await catalog.start();
      ffmpeg = await probeFfmpeg(ffmpegPath);
      log.info('ffmpeg', { path: ffmpeg.path, version: ffmpeg.version, maxRedirects: ffmpeg.maxRedirects, mediaRoot: media.root ?? null });
      if (config.catalog.fallback) {
        fallback = await loadFallback(config.catalog.fallback);
        log.info('fallback loaded', { location: config.catalog.fallback, songs: fallback.songs.length });
      }
      await http?.start();
      await control.start();
      log.info('music-bridge started', { version: VERSION });
    },
    stop() {
      stopping ??= (async () => {
        catalog.stop();
        await registry.stopAll('bridge shutting down');
        await control.stop();
        await http?.stop();
        await dispose();
      })();
      return stopping;
    },
  };
}

/** True when the LiveKit server answers HTTP on its URL, else why not. */
async function reachable(url: string): Promise<true | string> {
  try {
    await fetch(url.replace(/^ws(s?):\/\//, 'http$1://'), { signal: AbortSignal.timeout(2000) });
    return true;
  } catch (err) {
    return errorFields(err).error;
  }
}
