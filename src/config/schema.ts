
/** Validators that throw a message naming what is allowed; convict prefixes the key. */
/** "off", or a loudness target in LUFS from -30 to -5 (a string, so the environment can set it). */
function loudnessTarget(val: unknown): void {
  const n = Number(val);
  if (val !== 'off' && !(typeof val === 'string' && val.trim() !== '' && Number.isFinite(n) && n >= -30 && n <= -5)) throw new Error('must be "off" or a number of LUFS from -30 to -5');
}

function intInRange(min: number, max: number, multipleOf = 1) {
  return (val: unknown): void => {
    if (typeof val !== 'number' || !Number.isInteger(val) || val < min || val > max || val % multipleOf !== 0) {
      const step = multipleOf > 1 ? ` and a multiple of ${multipleOf}` : '';
      throw new Error(`must be an integer from ${min} to ${max}${step}`);
    }
  };
}

function urlWithScheme(schemes: string[]) {
  return (val: unknown): void => {
    let scheme = '';
    try {
      scheme = new URL(String(val)).protocol.replace(':', '');
    } catch {
      /* reported below */
    }
    if (!schemes.includes(scheme)) throw new Error(`must be a URL with scheme ${schemes.join(', ')}`);
  };
}

function nonEmptyString(val: unknown): void {
  if (typeof val !== 'string' || val.length === 0) throw new Error('must be a non-empty string');
}

function topicSegment(val: unknown): void {
  if (typeof val !== 'string' || val.length === 0 || /[+#\u0000]/.test(val) || val.startsWith('/') || val.endsWith('/')) {
    throw new Error('must be a non-empty MQTT topic without wildcards (+, #) or leading/trailing "/"');
  }
}

function deviceList(val: unknown): void {
  if (!Array.isArray(val) || !val.every((v) => typeof v === 'string' && v.length > 0)) throw new Error('must be a list of device ids');
}

function topicPrefixList(val: unknown): void {
  if (!Array.isArray(val) || !val.every((v) => typeof v === 'string' && v.length > 0 && !/[+#\u0000]/.test(v) && !v.startsWith('/'))) {
    throw new Error('must be a list of MQTT topic prefixes without wildcards (+, #) or a leading "/"');
  }
}

function stringList(val: unknown): void {
  if (!Array.isArray(val) || !val.every((v) => typeof v === 'string' && v.trim().length > 0)) throw new Error('must be a list of non-empty strings');
}

function roomPattern(val: unknown): void {
  nonEmptyString(val);
  const problem = roomPatternProblem(String(val));
  if (problem) throw new Error(problem);
}

/** The development key and secret of config/livekit.yaml: refused unless LiveKit is on loopback (see load.ts). */
export const DEV_LIVEKIT_API_KEY = 'devkey';
export const DEV_LIVEKIT_API_SECRET = 'music-bridge-dev-secret-0123456789abcdef';

function botIdentity(val: unknown): void {
  nonEmptyString(val);
  // LiveKit treats identities containing "agent" specially in some tooling; keep the bot distinct.
  if (String(val).toLowerCase().includes('agent')) throw new Error('must not contain "agent"');
}

/** Why a room pattern is unusable, or undefined: {device} must be in it, delimited from `*`. */
export function roomPatternProblem(pattern: string): string | undefined {
  if (!pattern.includes('{device}')) return 'must contain {device}';
  // "*{device}" would let device "ab" claim the rooms of "xab" (and "{device}*" those of "abx").
  if (/\*\{device\}|\{device\}\*/.test(pattern)) return 'must not put * right next to {device} (use a delimiter such as "_")';
  return undefined;
}

function instanceId(val: unknown): void {
  if (typeof val !== 'string' || !/^([A-Za-z0-9._-]{1,64})?$/.test(val)) throw new Error('must be empty or 1 to 64 of A-Z a-z 0-9 . _ -');
}

export const schema = {
  bridge: {
    instanceId: {
      doc: 'This bridge instance\'s id, written as the owner in every device status; empty = derived from the host name and mqtt.clientId (stable across restarts of the same unit).',
      format: instanceId,
      default: '',
      env: 'MUSIC_BRIDGE_INSTANCE_ID',
    },
  },
  mqtt: {
    url: { doc: 'Broker URL (mqtt://, mqtts://, ws://, wss://).', format: urlWithScheme(['mqtt', 'mqtts', 'ws', 'wss']), default: 'mqtt://127.0.0.1:1883', env: 'MQTT_URL' },
    username: { doc: 'Broker user name (empty for none).', format: String, default: '', env: 'MQTT_USERNAME' },
    password: { doc: 'Broker password.', format: String, default: '', env: 'MQTT_PASSWORD', sensitive: true },
    clientId: { doc: 'MQTT client id; stable so the broker keeps the persistent session across restarts.', format: nonEmptyString, default: 'music-bridge', env: 'MQTT_CLIENT_ID' },
    baseTopic: { doc: 'Base topic: commands arrive on <base>/<device>/command.', format: topicSegment, default: 'music-bridge', env: 'MQTT_BASE_TOPIC' },
    caFile: { doc: 'CA certificate (PEM) that signed the broker\'s certificate, for mqtts:// or wss://.', format: String, default: '', env: 'MQTT_CA_FILE' },
    certFile: { doc: 'Client certificate (PEM) when the broker requires one.', format: String, default: '', env: 'MQTT_CERT_FILE' },
    keyFile: { doc: 'Private key (PEM) of the client certificate.', format: String, default: '', env: 'MQTT_KEY_FILE', sensitive: true },
    rejectUnauthorized: { doc: 'Refuse a broker whose certificate does not verify.', format: Boolean, default: true, env: 'MQTT_REJECT_UNAUTHORIZED' },
    maxPayloadBytes: { doc: 'Commands larger than this are refused (payload_too_large).', format: intInRange(64, 1048576), default: 4096, env: 'MQTT_MAX_PAYLOAD_BYTES' },
    allowedDevices: { doc: 'When not empty, only these device ids may send commands (others get device_not_allowed). Env: comma-separated.', format: deviceList, default: [] as string[], env: 'MQTT_ALLOWED_DEVICES' },
    responseTopicPrefixes: { doc: 'Topic subtrees an MQTT 5 response topic may be under besides the device\'s own <base>/<device>/; {device} is the canonical device id (e.g. "app/{device}/responses"). Env: comma-separated.', format: topicPrefixList, default: [] as string[], env: 'MQTT_RESPONSE_TOPIC_PREFIXES' },
    commandsPerSecond: { doc: 'Per-device rate limit: commands per second sustained (a token bucket); more get rate_limited.', format: intInRange(1, 1000), default: 10, env: 'MQTT_COMMANDS_PER_SECOND' },
    commandBurst: { doc: 'Per-device rate limit: commands accepted in a burst before the rate applies.', format: intInRange(1, 10000), default: 30, env: 'MQTT_COMMAND_BURST' },
    statusTtlSeconds: { doc: 'Clear the retained status of a device idle this long, seconds (0 = never).', format: intInRange(0, 31536000), default: 604800, env: 'MQTT_STATUS_TTL_SECONDS' },
  },
  livekit: {
    url: { doc: 'LiveKit server URL (ws:// or wss://).', format: urlWithScheme(['ws', 'wss', 'http', 'https']), default: 'ws://127.0.0.1:7880', env: 'LIVEKIT_URL' },
    apiKey: { doc: 'LiveKit API key. The development default is refused unless livekit.url is on loopback.', format: nonEmptyString, default: DEV_LIVEKIT_API_KEY, env: 'LIVEKIT_API_KEY' },
    apiSecret: { doc: 'LiveKit API secret. The development default is refused unless livekit.url is on loopback.', format: nonEmptyString, default: DEV_LIVEKIT_API_SECRET, env: 'LIVEKIT_API_SECRET', sensitive: true },
    botIdentity: { doc: 'Participant identity of the bot in every room (must not contain "agent").', format: botIdentity, default: 'music-bridge', env: 'LIVEKIT_BOT_IDENTITY' },
    botName: { doc: 'Display name of the bot participant.', format: String, default: 'Music', env: 'LIVEKIT_BOT_NAME' },
    roomStrategy: { doc: 'How a device maps to a room: "session_id" (the command\'s session_id is the room name, else the template), "template", or "discover" (the room where a participant with the device\'s identity is).', format: ['session_id', 'template', 'discover'] as const, default: 'session_id', env: 'LIVEKIT_ROOM_STRATEGY' },
    roomTemplate: { doc: 'Room name template; {device} is replaced by the canonical device id.', format: nonEmptyString, default: '{device}', env: 'LIVEKIT_ROOM_TEMPLATE' },
    roomPolicy: { doc: 'Which rooms a device may name in session_id: "member" (the device must be a participant of the room, asked of LiveKit), "pattern" (the room name must match livekit.roomPattern), or "any" (every room: local development only). Rooms from the template and discover strategies are the device\'s own and not checked. See docs/security.md.', format: ['member', 'pattern', 'any'] as const, default: 'member', env: 'LIVEKIT_ROOM_POLICY' },
    roomPattern: { doc: 'pattern policy: the rooms a device may name; {device} is its canonical id (a MAC\'s hex digits in either case), * any run of characters, everything else literal; the whole name must match. {device} must not touch a *.', format: roomPattern, default: '*_{device}_*', env: 'LIVEKIT_ROOM_PATTERN' },
    deviceIdentityTemplate: { doc: 'Identity a device joins its room with, for the discover strategy and the member policy; {device} is the canonical device id (other spellings of the same MAC also match).', format: nonEmptyString, default: '{device}', env: 'LIVEKIT_DEVICE_IDENTITY_TEMPLATE' },
    audioBitrate: { doc: 'Opus bitrate of the published track, bits/s (music needs more than speech).', format: intInRange(16000, 510000), default: 96000, env: 'LIVEKIT_AUDIO_BITRATE' },
    connectTimeoutMs: { doc: 'Give up joining a room after this long.', format: intInRange(1000, 120000), default: 15000, env: 'LIVEKIT_CONNECT_TIMEOUT_MS' },
    maxJoinsInFlight: {
      doc: 'Most room joins in flight at once in this process; further joins (starts, resumes, rejoins after a LiveKit restart) wait for a slot. Joins share the CPU and rtc-node\'s one signalling thread: all at once, they all finish late together; a few at a time, they finish in turn at the same throughput. 25 starts at once on 2 cores, first sound p50 / p95: about 3.1-3.5 / 3.1-3.6 s with 32 in flight, 1.9-2.1 / 2.9-3.3 s with 4 (docs/performance.md). A join that hangs holds its slot at most livekit.connectTimeoutMs. With LiveKit across a network, where a join waits on round trips rather than on the CPU, more may pay: measure with the bench.',
      format: intInRange(1, 1000),
      default: 4,
      env: 'LIVEKIT_MAX_JOINS_IN_FLIGHT',
    },
  },
  catalog: {
    location: { doc: 'Where the songs are listed: a JSON manifest (file or http(s) URL), the base (URL or directory) of the per-language metadata.json layout, or a directory of audio files. See docs/catalog.md.', format: nonEmptyString, default: 'config/sample-catalog/catalog.json', env: 'CATALOG_LOCATION' },
    format: { doc: 'What catalog.location is: "manifest", "metadata" (music/<Language>/metadata.json), "directory" (audio files, tags read), or "auto" (a .json file or URL is a manifest, another URL or a directory with music/ the metadata layout, another directory a folder of audio files).', format: ['auto', 'manifest', 'metadata', 'directory'] as const, default: 'auto', env: 'CATALOG_FORMAT' },
    languages: { doc: 'metadata layout: the language folders to load; empty = read music/languages.json (or, for a local directory, list music/). Env: comma-separated.', format: stringList, default: [] as string[], env: 'CATALOG_LANGUAGES' },
    mediaBaseUrl: { doc: 'metadata layout: base of the song URLs (the CDN), which get the URL-encoded music/<Language>/<filename>; empty = catalog.location.', format: String, default: '', env: 'CATALOG_MEDIA_BASE_URL' },
    defaultLanguage: { doc: 'directory: language of files that have no language tag and are not in a language folder; empty = such files are skipped (and logged).', format: String, default: '', env: 'CATALOG_DEFAULT_LANGUAGE' },
    refreshSeconds: { doc: 'Reload the catalog this often (0 = never); a failed reload keeps the last good copy.', format: intInRange(0, 86400), default: 0, env: 'CATALOG_REFRESH_SECONDS' },
    fallback: { doc: 'An audio file, or a directory of audio files, played in a loop while the song source is down (degraded); empty = silence meanwhile. Local files of the operator, not subject to audio.mediaRoot. See docs/audio.md.', format: String, default: '', env: 'CATALOG_FALLBACK' },
  },
  audio: {
    sampleRate: { doc: 'Sample rate of the published track, Hz.', format: [8000, 16000, 24000, 48000] as const, default: 48000, env: 'AUDIO_SAMPLE_RATE' },
    channels: { doc: 'Channels of the published track (1 = mono, 2 = stereo).', format: [1, 2] as const, default: 1, env: 'AUDIO_CHANNELS' },
    frameMs: { doc: 'Duration of each frame handed to LiveKit, ms.', format: intInRange(10, 100, 10), default: 20, env: 'AUDIO_FRAME_MS' },
    queueMs: { doc: 'Audio queued ahead in LiveKit, ms; bounds how fast skip and stop are heard.', format: intInRange(100, 1000, 10), default: 200, env: 'AUDIO_QUEUE_MS' },
    readAheadMs: { doc: 'Decoded audio buffered per song before it plays, ms; the next song starts decoding when the current decoder is done.', format: intInRange(500, 20000), default: 3000, env: 'AUDIO_READ_AHEAD_MS' },
    stallMs: { doc: 'A source that delivers no audio for this long while playback waits counts as failed, ms.', format: intInRange(1000, 120000), default: 10000, env: 'AUDIO_STALL_MS' },
    networkTimeoutMs: { doc: 'Read timeout for http(s) song URLs, ms.', format: intInRange(1000, 120000), default: 10000, env: 'AUDIO_NETWORK_TIMEOUT_MS' },
    maxFailuresInRow: { doc: 'After this many songs in a row fail, the room stops with an error status; when they all failed because the source looks down (network errors, timeouts, 5xx, stalls), it goes degraded instead and retries.', format: intInRange(1, 100), default: 5, env: 'AUDIO_MAX_FAILURES_IN_ROW' },
    crossfadeMs: { doc: 'Overlap of consecutive songs with an equal-power crossfade, ms (rounded up to whole frames); 0 = gapless, no overlap.', format: intInRange(0, 10000, 10), default: 0, env: 'AUDIO_CROSSFADE_MS' },
    fadeMs: { doc: 'Fade-out on skip, pause and stop (and fade-in after), ms, so the cut is never a click; 0 = cut at once.', format: intInRange(0, 1000), default: 30, env: 'AUDIO_FADE_MS' },
    ffmpegPath: { doc: 'ffmpeg binary; empty = the one bundled by @ffmpeg-installer/ffmpeg (a 2018 static build: prefer the distribution\'s ffmpeg in production, e.g. /usr/bin/ffmpeg).', format: String, default: '', env: 'FFMPEG_PATH' },
    ffmpegLauncher: { doc: 'What starts ffmpeg: "spawner", a small helper process of the daemon\'s (a fork from the daemon itself blocks its event loop for 10-70 ms, more the more memory it holds; the helper costs about 40 MB), or "daemon" (every song forks the daemon). If the helper keeps failing, songs start from the daemon until it is back.', format: ['spawner', 'daemon'] as const, default: 'spawner', env: 'AUDIO_FFMPEG_LAUNCHER' },
    mediaRoot: { doc: 'Local songs (catalog entries, play_song) must resolve, symlinks followed, to a file under this directory; others fail with "outside media root" before ffmpeg runs. Empty = the directory of a local catalog.location (or a local catalog.mediaBaseUrl); for an http catalog, no local files at all.', format: String, default: '', env: 'AUDIO_MEDIA_ROOT' },
    maxRedirects: { doc: 'HTTP redirects a song URL may follow (passed as -max_redirects when the ffmpeg build has it; the bundled 2018 build stops after a built-in 8).', format: intInRange(0, 20), default: 3, env: 'AUDIO_MAX_REDIRECTS' },
    sourceRetryBaseMs: { doc: 'While the song source is down (degraded): ceiling of the first retry delay, doubling per failed retry, with full jitter, ms.', format: intInRange(100, 60000), default: 1000, env: 'AUDIO_SOURCE_RETRY_BASE_MS' },
    sourceRetryMaxMs: { doc: 'While the song source is down: highest ceiling of a retry delay, ms.', format: intInRange(1000, 600000), default: 30000, env: 'AUDIO_SOURCE_RETRY_MAX_MS' },
    loudnessTarget: { doc: 'Loudness every song is brought to (EBU R128 integrated), LUFS from -30 to -5, or "off". The loudness comes from the catalog (loudness_lufs, ReplayGain tags) or is measured once with ffmpeg\'s ebur128 (in the background; a song not measured yet plays unnormalised); a boost never lifts the true peak above -1 dBTP. Volume and ducking act on top. See docs/audio.md.', format: loudnessTarget, default: '-16', env: 'AUDIO_LOUDNESS_TARGET' },
    loudnessCache: { doc: 'File keeping measured loudness across restarts (JSON, keyed by song id and a hash of its URL); empty = in memory only.', format: String, default: '', env: 'AUDIO_LOUDNESS_CACHE' },
    duck: { doc: 'Lower the music while another participant of the room speaks ("speech": the bot subscribes to the others\' audio tracks, at most 4 per room, and decodes them only to measure their level), or never ("off": the bot may not subscribe). Per device: set_ducking. See docs/audio.md.', format: ['off', 'speech'] as const, default: 'speech', env: 'AUDIO_DUCK' },
    duckDb: { doc: 'How far the music goes down while someone speaks, dB (negative).', format: intInRange(-40, -1), default: -12, env: 'AUDIO_DUCK_DB' },
  },
  sessions: {
    max: { doc: 'Most rooms playing at once; further starts are refused.', format: intInRange(1, 10000), default: 200, env: 'SESSIONS_MAX' },
    emptyRoomTimeoutMs: { doc: 'End a session when no other participant has been in its room this long, ms (0 = never).', format: intInRange(0, 86400000), default: 60000, env: 'SESSIONS_EMPTY_ROOM_TIMEOUT_MS' },
    rejoinTimeoutMs: { doc: 'After losing the LiveKit connection, keep trying to rejoin this long before ending with an error, ms.', format: intInRange(1000, 3600000), default: 60000, env: 'SESSIONS_REJOIN_TIMEOUT_MS' },
    queueLimit: { doc: 'Commands one device may have waiting or running; a command beyond them is answered queue_full at once. Keep it above mqtt.commandBurst, so a burst the rate limit lets in is never refused here.', format: intInRange(1, 1000), default: 64, env: 'SESSIONS_QUEUE_LIMIT' },
    maxRememberedDevices: { doc: 'Devices whose last status (idle, error) is remembered without a session; the least recently used are forgotten first.', format: intInRange(1, 1000000), default: 10000, env: 'SESSIONS_MAX_REMEMBERED_DEVICES' },
    resume: { doc: 'At start-up, resume the sessions whose retained status says playing or paused (same room, song, position, queue, volume); a shutdown leaves that status in place. See docs/operations.md.', format: Boolean, default: true, env: 'SESSIONS_RESUME' },
    resumeMaxAgeSeconds: { doc: 'A retained session state older than this (since its position was taken) is not resumed, s.', format: intInRange(1, 30 * 86400), default: 3600, env: 'SESSIONS_RESUME_MAX_AGE_SECONDS' },
    resumeReadTimeoutMs: { doc: 'Longest wait at start-up for the broker to deliver the retained statuses to resume, ms.', format: intInRange(100, 60000), default: 3000, env: 'SESSIONS_RESUME_READ_TIMEOUT_MS' },
    positionIntervalMs: { doc: 'While a room plays, its retained status (with the song position) is published again this often, ms; 0 = only on changes. A resume after kill -9 starts at most this far back.', format: intInRange(0, 3600000), default: 15000, env: 'SESSIONS_POSITION_INTERVAL_MS' },
  },
  http: {
    host: { doc: 'Address of the ops HTTP endpoint (/healthz, /readyz, /metrics).', format: String, default: '127.0.0.1', env: 'HTTP_HOST' },
    port: { doc: 'Port of the ops HTTP endpoint; 0 = off.', format: intInRange(0, 65535), default: 0, env: 'HTTP_PORT' },
    console: { doc: 'Serve the web console at /console on the ops HTTP endpoint (see docs/operations.md). Bound beyond loopback it needs http.consoleToken.', format: Boolean, default: false, env: 'HTTP_CONSOLE' },
    consoleToken: {
      doc: 'Access token of the web console (at least 16 characters): sent as "Authorization: Bearer" or typed into its login form. Empty = open, allowed only when http.host is a loopback address.',
      format: (val: unknown): void => {
        if (typeof val !== 'string' || (val !== '' && (val.length < 16 || /\s/.test(val)))) throw new Error('must be empty or at least 16 characters without spaces');
      },
      default: '',
      env: 'HTTP_CONSOLE_TOKEN',
      sensitive: true,
    },
    consoleLivekitUrl: { doc: 'LiveKit URL the console\'s browser joins rooms with ("listen"); empty = livekit.url.', format: (val: unknown): void => (val === '' ? undefined : urlWithScheme(['ws', 'wss', 'http', 'https'])(val)), default: '', env: 'HTTP_CONSOLE_LIVEKIT_URL' },
  },
  log: {
    level: { doc: 'Log level.', format: ['error', 'warn', 'info', 'debug'] as const, default: 'info', env: 'LOG_LEVEL' },
  },
};

export type ConfigSchema = typeof schema;

/** The value a key holds: one of its `format` list when it has one, else the type of its default. */
type ValueOf<K> = K extends { format: readonly (infer V)[] } ? V : K extends { default: infer D } ? (D extends string ? string : D extends number ? number : D extends boolean ? boolean : D) : never;

/** The validated configuration the daemon runs with, derived from the schema (one source). */
export type AppConfig = { [S in keyof ConfigSchema]: { [K in keyof ConfigSchema[S]]: ValueOf<ConfigSchema[S][K]> } };
