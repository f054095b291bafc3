import { dispose } from '@livekit/rtc-node';
import { randomInt } from 'node:crypto';
import { probeFfmpeg, resolveFfmpegPath, type FfmpegInfo } from './audio/ffmpeg-path';
import { SongDecoder, type DecoderOptions } from './audio/decoder';
import { DirectLauncher, type Launcher } from './audio/launcher';
import { Spawner } from './audio/spawner';
import type { MediaPolicy } from './audio/media-input';
import { DUCK_RAMPS } from './audio/ducker';
import { LOUDNESS_MEASURE_TIMEOUT_MS, LoudnessCache, LoudnessNormaliser, measureLoudness } from './audio/loudness';
import { samplesPerChannel, type PcmFormat } from './audio/pcm-format';
import { loadFallback, type Fallback } from './catalog/fallback';
import { defaultMediaRoot } from './catalog/media-root';
import { CatalogStore, createSource } from './catalog/source';
import type { AppConfig } from './config/schema';
import { settleAbandonedJoins } from './livekit/bot-connection';
import { LiveKitRoomFinder } from './livekit/room-finder';
import { LiveKitRoomMembers } from './livekit/room-members';
import { createRoomJoiner } from './livekit/room-joiner';
import { ControlPlane, tlsOptions } from './mqtt/control-plane';
import { deviceIdentityMatcher } from './mqtt/device-id';
import { Continuity } from './mqtt/continuity';
import { FleetView } from './mqtt/fleet-view';
import { Topics } from './mqtt/topics';
import { clientIdOf, instanceIdOf } from './mqtt/instances';
import { createWebConsole } from './ops/console/create';
import { type HealthChecks, OpsHttpServer } from './ops/http-server';
import { errorFields, type Logger } from './ops/logger';
import { Metrics } from './ops/metrics';
import { redactUrl, redactUrlsIn } from './ops/redact';
import { VERSION } from './ops/version';
import { seededRandom } from './player/random';
import { settleWithin } from './session/bounded';
import { SessionRegistry } from './session/registry';
import type { RoomJoiner } from './session/room-link';
import { RoomPolicy } from './session/room-policy';
import { RoomResolver } from './session/room-resolver';
import { RoomSession } from './session/room-session';
import type { DeviceStatus } from './session/status';

export interface App {
  start(): Promise<void>;
  /**
   * Ends every session (commands get shutting_down from now on), says offline, leaves every room;
   * each step bounded, so it resolves within SHUTDOWN_* whatever state the sessions are in. Safe to
   * call twice.
   */
  stop(): Promise<void>;
  readonly registry: SessionRegistry;
}

/** Bounds of the shutdown steps after the sessions (SHUTDOWN_SESSIONS_MS): all within the daemon's 5 s. */
const SHUTDOWN_CONTROL_MS = 700;
/** Joins given up on whose connect may still land (left when it does), in parallel with the control plane. */
const SHUTDOWN_JOINS_MS = 1200;
const SHUTDOWN_HTTP_MS = 300;
const SHUTDOWN_LIVEKIT_MS = 300;
/** The ffmpeg spawner ends when told (it has nothing left to do by then), in parallel with the control plane; killed after this. */
const SHUTDOWN_SPAWNER_MS = 300;
const SHUTDOWN_PRESENCE_MS = 300;

/** Wires the one-way flow: MQTT command → session → player → audio → LiveKit. */
export function createApp(config: AppConfig, redacted: Record<string, unknown>, log: Logger): App {
  const format: PcmFormat = { sampleRate: config.audio.sampleRate, channels: config.audio.channels };
  const ffmpegPath = resolveFfmpegPath(config.audio.ffmpegPath);
  const catalog = new CatalogStore(createSource(config.catalog.location, config.catalog), { refreshSeconds: config.catalog.refreshSeconds });
  const catalogLocation = redactUrl(config.catalog.location);
  catalog.on('updated', (songs, problems) => {
    for (const problem of problems) log.warn('catalog entry skipped', { location: catalogLocation, problem: redactUrlsIn(problem) });
    log.info('catalog loaded', { location: catalogLocation, songs });
  });
  catalog.on('refreshFailed', (err: Error) => log.warn('catalog refresh failed; keeping the last good copy', errorFields(err)));

  // Song sources: local songs only under the media root; the fallback and ffmpeg's version are read at start-up.
  const media: MediaPolicy = { root: config.audio.mediaRoot || defaultMediaRoot(config.catalog.location, config.catalog.mediaBaseUrl) };
  let ffmpeg: FfmpegInfo | undefined;
  let fallback: Fallback | undefined;
  // Every ffmpeg (decoders, loudness) is started through one launcher: the spawner process by default.
  const spawner = config.audio.ffmpegLauncher === 'spawner' ? new Spawner({ ffmpegPath, log, onEnded: () => metrics.spawnerEnded.inc() }) : undefined;
  const launcher: Launcher = spawner ?? new DirectLauncher(ffmpegPath);
  const decoderOptions = (policy: MediaPolicy): DecoderOptions => ({
    format,
    launcher,
    readAheadMs: config.audio.readAheadMs,
    stallMs: config.audio.stallMs,
    networkTimeoutMs: config.audio.networkTimeoutMs,
    media: policy,
    maxRedirects: ffmpeg?.maxRedirects ? config.audio.maxRedirects : undefined,
  });

  // Even loudness: catalog values, the cache, or one background ebur128 pass per song.
  const loudness =
    config.audio.loudnessTarget === 'off'
      ? undefined
      : new LoudnessNormaliser({
          targetLufs: Number(config.audio.loudnessTarget),
          cache: new LoudnessCache(config.audio.loudnessCache || undefined, log),
          measure: (song, signal) => measureLoudness(song, decoderOptions(media), LOUDNESS_MEASURE_TIMEOUT_MS, signal),
          log,
        });

  const metrics: Metrics = new Metrics((): DeviceStatus[] => registry.statuses());
  const join: RoomJoiner = createRoomJoiner({
    url: config.livekit.url,
    apiKey: config.livekit.apiKey,
    apiSecret: config.livekit.apiSecret,
    identity: config.livekit.botIdentity,
    name: config.livekit.botName,
    connectTimeoutMs: config.livekit.connectTimeoutMs,
    format,
    queueMs: config.audio.queueMs,
    bitrate: config.livekit.audioBitrate,
    maxJoinsInFlight: config.livekit.maxJoinsInFlight,
    inFlight: metrics.joinsInFlight,
    speakers: config.audio.duck === 'speech',
    log,
  });

  const instance = instanceIdOf(config.bridge.instanceId, config.mqtt.clientId);
  const lk = { url: config.livekit.url, apiKey: config.livekit.apiKey, apiSecret: config.livekit.apiSecret };
  if (config.livekit.roomPolicy === 'any') log.warn('livekit.roomPolicy is "any": every device may play into every room (local development only)');
  // One rule for "this participant is the device", for the room policy and the room finder.
  const isDeviceIdentity = deviceIdentityMatcher(config.livekit.deviceIdentityTemplate);
  const members = new LiveKitRoomMembers({ ...lk, timeoutMs: config.livekit.connectTimeoutMs });
  const policy = new RoomPolicy({
    policy: config.livekit.roomPolicy,
    pattern: config.livekit.roomPattern,
    isDeviceIdentity,
    botIdentity: config.livekit.botIdentity,
    members,
  });
  const registry: SessionRegistry = new SessionRegistry({
    rooms: new RoomResolver({
      strategy: config.livekit.roomStrategy,
      template: config.livekit.roomTemplate,
      policy,
      finder: new LiveKitRoomFinder({
        ...lk,
        isDeviceIdentity,
        botIdentity: config.livekit.botIdentity,
      }),
    }),
    maxSessions: config.sessions.max,
    queueLimit: config.sessions.queueLimit,
    maxRememberedDevices: config.sessions.maxRememberedDevices,
    keepOnShutdown: config.sessions.resume,
    takenOver: (device) => continuity.ownership.takenOver(device),
    log,
    createSession: (device, room, seq): RoomSession =>
      new RoomSession({
        device,
        room,
        instance,
        seq,
        handedOver: () => registry.handingOverNow || continuity.ownership.takenOver(device),
        positionIntervalMs: config.sessions.positionIntervalMs,
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
        openDecoder: (song, startMs) => new SongDecoder(song.url, { ...decoderOptions(media), startMs }),
        sampleRate: format.sampleRate,
        songGain: loudness && ((song) => loudness.gainFor(song)),
        durationOf: loudness && ((song) => loudness.durationOf(song)),
        duck: config.audio.duck === 'speech' ? { depthDb: config.audio.duckDb, sampleRate: format.sampleRate, channels: format.channels, ...DUCK_RAMPS } : undefined,
        outage: {
          fallback: fallback?.songs,
          openFallback: fallback && ((song) => new SongDecoder(song.url, decoderOptions({ root: fallback!.root }))),
          retryBaseMs: config.audio.sourceRetryBaseMs,
          retryMaxMs: config.audio.sourceRetryMaxMs,
        },
      }),
  });

  // Continuity: presence, ownership, resume, drain (src/mqtt/continuity.ts).
  const clientId = clientIdOf(config.mqtt.clientId, config.bridge.instanceId);
  // The fleet's bridge/status and bridge/info, from every instance's own reports (src/mqtt/fleet-view.ts).
  const fleet: FleetView = new FleetView({ me: instance, topics: new Topics(config.mqtt.baseTopic), live: () => continuity.instances(), leaving: () => continuity.leaving, log });
  const continuity = new Continuity(
    {
      instance,
      resume: config.sessions.resume,
      presence: { ...config.mqtt, clientId, tls: tlsOptions(config.mqtt) },
      saved: { ...config.mqtt, clientId, tls: tlsOptions(config.mqtt), timeoutMs: config.sessions.resumeReadTimeoutMs },
      resumeOptions: { maxAgeMs: config.sessions.resumeMaxAgeSeconds * 1000, catalog: () => catalog.current, members, botIdentity: config.livekit.botIdentity, policy },
      log,
      fleet,
    },
    registry,
  );
  const control = new ControlPlane(
    { ...config.mqtt, clientId, info: () => ({ version: VERSION, ffmpeg: ffmpeg?.version ?? null, config: redacted, instance }), owns: (device) => continuity.owns(device), fleet },
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
  const webConsole = createWebConsole(config, { registry, catalog: () => catalog.current, metrics, health, instances: () => ({ instance, live: continuity.instances() }), log });
  const http = config.http.port > 0 ? new OpsHttpServer({ host: config.http.host, port: config.http.port, metrics, health, log, console: webConsole }) : undefined;

  let stopping: Promise<void> | undefined;
  return {
    registry,
    async start() {
      await catalog.start();
      ffmpeg = await probeFfmpeg(ffmpegPath);
      spawner?.start();
      log.info('ffmpeg', { path: ffmpeg.path, version: ffmpeg.version, maxRedirects: ffmpeg.maxRedirects, mediaRoot: media.root ?? null });
      loudness?.prepare(catalog.current.all());
      if (config.catalog.fallback) {
        fallback = await loadFallback(config.catalog.fallback);
        log.info('fallback loaded', { location: config.catalog.fallback, songs: fallback.songs.length });
      }
      await http?.start();
      // Continuity: saved sessions are queued before commands are let in (see resume.ts).
      await continuity.start();
      await control.start();
      log.info('music-bridge started', { version: VERSION });
    },
    stop() {
      const warn = (msg: string, fields: Record<string, unknown>) => log.warn(msg, fields);
      stopping ??= (async () => {
        catalog.stop();
        loudness?.stop();
        await continuity.drain();
        await registry.shutdown('bridge shutting down');
        // Joins given up on may still complete: leave those rooms before the FFI goes away.
        // Every decoder is gone with the sessions; the spawner kills any straggler as it ends.
        await Promise.all([
          settleWithin(control.stop(), SHUTDOWN_CONTROL_MS, 'stopping the control plane', warn),
          settleAbandonedJoins(SHUTDOWN_JOINS_MS),
          spawner && settleWithin(spawner.stop(SHUTDOWN_SPAWNER_MS), SHUTDOWN_SPAWNER_MS + 100, 'ending the ffmpeg spawner', warn),
        ]);
        await settleWithin(continuity.stop(), SHUTDOWN_PRESENCE_MS, 'saying this instance is offline', warn);
        webConsole?.close();
        if (http) await settleWithin(http.stop(), SHUTDOWN_HTTP_MS, 'stopping the ops endpoint', warn);
        await settleWithin(dispose(), SHUTDOWN_LIVEKIT_MS, 'releasing the LiveKit SDK', warn);
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
