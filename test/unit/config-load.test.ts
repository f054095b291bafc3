import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, isLoopbackUrl, loadConfig } from '../../src/config/load';

const dir = mkdtempSync(join(tmpdir(), 'mb-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: unknown): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('loadConfig', () => {
  test('defaults alone are valid', () => {
    const { config } = loadConfig({ env: {} });
    expect(config.audio).toMatchObject({ sampleRate: 48000, channels: 1, frameMs: 20, queueMs: 200 });
    expect(config.mqtt).toMatchObject({ url: 'mqtt://127.0.0.1:1883', baseTopic: 'music-bridge', rejectUnauthorized: true, allowedDevices: [] });
    expect(config.livekit.botIdentity).toBe('music-bridge');
  });

  test('environment wins over the file, which wins over defaults; env text gets the key\'s type', () => {
    const { config } = loadConfig({
      file: file({ mqtt: { baseTopic: 'from-file', url: 'mqtt://file:1883' }, audio: { queueMs: 300 } }),
      env: { MQTT_BASE_TOPIC: 'from-env', AUDIO_QUEUE_MS: '400', MQTT_REJECT_UNAUTHORIZED: 'false', MQTT_ALLOWED_DEVICES: 'aa:bb:cc:dd:ee:ff, x1' },
    });
    expect(config.mqtt.baseTopic).toBe('from-env');
    expect(config.mqtt.url).toBe('mqtt://file:1883');
    expect(config.audio.queueMs).toBe(400);
    expect(config.mqtt.rejectUnauthorized).toBe(false);
    expect(config.mqtt.allowedDevices).toEqual(['aa:bb:cc:dd:ee:ff', 'x1']);
    expect(loadConfig({ env: { MQTT_REJECT_UNAUTHORIZED: '0' } }).config.mqtt.rejectUnauthorized).toBe(false);
  });

  test.each([
    [{ audio: { queueMs: 255 } }, /audio\.queueMs.*multiple of 10/],
    [{ audio: { frameMs: 5 } }, /audio\.frameMs/],
    [{ audio: { channels: 3 } }, /audio\.channels/],
    [{ mqtt: { url: 'http://x' } }, /mqtt\.url.*mqtt, mqtts, ws, wss/],
    [{ mqtt: { baseTopic: 'a/#' } }, /mqtt\.baseTopic/],
    [{ livekit: { botIdentity: 'music-agent' } }, /livekit\.botIdentity.*agent/],
    [{ livekit: { botIdentity: 'My-AGENT' } }, /livekit\.botIdentity.*agent/],
    [{ livekit: { roomStrategy: 'random' } }, /livekit\.roomStrategy/],
    [{ livekit: { roomPolicy: 'none' } }, /livekit\.roomPolicy/],
    [{ livekit: { roomPolicy: 'pattern', roomPattern: 'music-room' } }, /livekit\.roomPattern.*\{device\}/],
    [{ livekit: { roomPattern: '*{device}' } }, /livekit\.roomPattern.*next to/],
  ])('a bad file value names the key: %j', (content, message) => {
    expect(() => loadConfig({ file: file(content), env: {} })).toThrow(message);
  });

  test.each([
    [{ mqtt: { nosuchkey: 1 } }, /mqtt\.nosuchkey/],
    [{ nosection: { a: 1 } }, /nosection/],
  ])('unknown keys are rejected: %j', (content, message) => {
    expect(() => loadConfig({ file: file(content), env: {} })).toThrow(message);
  });

  test.each([
    [{ AUDIO_FRAME_MS: 'fast' }, /audio\.frameMs/],
    [{ AUDIO_FRAME_MS: '20ms' }, /audio\.frameMs/],
    [{ HTTP_PORT: '70000' }, /http\.port/],
    [{ LIVEKIT_BOT_IDENTITY: 'agent-7' }, /livekit\.botIdentity/],
    [{ MQTT_REJECT_UNAUTHORIZED: 'no' }, /mqtt\.rejectUnauthorized/],
  ])('a bad environment value names the key: %j', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(message);
  });

  test('errors are ConfigErrors that name the file', () => {
    const path = file('{not json');
    expect(() => loadConfig({ file: path, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: path, env: {} })).toThrow(path);
  });

  test('secrets are masked in the summary, other values are kept', () => {
    const { config, redacted } = loadConfig({ env: { MQTT_PASSWORD: 'hunter2', LIVEKIT_API_SECRET: 'topsecret', MQTT_USERNAME: 'bob' } });
    expect(config.mqtt.password).toBe('hunter2');
    const text = JSON.stringify(redacted);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('topsecret');
    expect(redacted.mqtt).toMatchObject({ username: 'bob', password: '[Sensitive]' });
  });

  test('configured URLs are shown without credentials or query, wherever they come from', () => {
    const { config, redacted } = loadConfig({
      file: file({ catalog: { location: 'https://cat:catpw@cdn.example.com/music/catalog.json?sig=catsig', mediaBaseUrl: 'https://cdn.example.com/m?X-Amz-Signature=mediasig' } }),
      env: { MQTT_URL: 'mqtt://bridge:mqttpw@broker.example.com:1883', LIVEKIT_URL: 'ws://lk:lkpw@127.0.0.1:7880/?access_token=lktoken' },
    });
    expect(config.mqtt.url).toBe('mqtt://bridge:mqttpw@broker.example.com:1883');
    const text = JSON.stringify(redacted);
    for (const secret of ['mqttpw', 'catpw', 'catsig', 'mediasig', 'lkpw', 'lktoken', 'bridge:']) expect(text).not.toContain(secret);
    expect(redacted.mqtt).toMatchObject({ url: 'mqtt://broker.example.com:1883' });
    expect(redacted.catalog).toMatchObject({ location: 'https://cdn.example.com/music/catalog.json', mediaBaseUrl: 'https://cdn.example.com/m' });
    expect(redacted.livekit).toMatchObject({ url: 'ws://127.0.0.1:7880/' });
    // A local path stays readable; an empty value stays empty.
    expect(loadConfig({ env: {} }).redacted.catalog).toMatchObject({ location: 'config/sample-catalog/catalog.json', mediaBaseUrl: '' });
  });

  test('the room policy defaults to member; the pattern to the origin\'s room names', () => {
    expect(loadConfig({ env: {} }).config.livekit).toMatchObject({ roomPolicy: 'member', roomPattern: '*_{device}_*' });
    expect(loadConfig({ env: { LIVEKIT_ROOM_POLICY: 'any' } }).config.livekit.roomPolicy).toBe('any');
  });
});

describe('the development LiveKit key and secret', () => {
  test.each(['ws://127.0.0.1:7880', 'ws://127.9.8.7:7880', 'ws://localhost:7880', 'ws://[::1]:7880', 'http://127.1:7880', 'wss://[::ffff:127.0.0.1]:7880'])('are accepted on loopback: %s', (url) => {
    expect(() => loadConfig({ env: { LIVEKIT_URL: url } })).not.toThrow();
  });

  test.each([
    [{ LIVEKIT_URL: 'wss://livekit.example.com' }, 'livekit.apiKey and livekit.apiSecret are the development default'],
    [{ LIVEKIT_URL: 'ws://10.0.0.5:7880', LIVEKIT_API_KEY: 'prodkey' }, 'livekit.apiSecret is the development default'],
    [{ LIVEKIT_URL: 'ws://10.0.0.5:7880', LIVEKIT_API_SECRET: 'a-real-secret' }, 'livekit.apiKey is the development default'],
    [{ LIVEKIT_URL: 'ws://localhost.example.com:7880' }, 'development default'],
    [{ LIVEKIT_URL: 'ws://128.0.0.1:7880' }, 'development default'],
    [{ LIVEKIT_URL: 'ws://0.0.0.0:7880' }, 'development default'],
  ])('are refused elsewhere, naming the keys: %j', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
  });

  test('the refusal shows the URL without its credentials', () => {
    expect(() => loadConfig({ env: { LIVEKIT_URL: 'wss://u:pw@livekit.example.com/?t=tok' } })).toThrow(/livekit\.url is wss:\/\/livekit\.example\.com\/\. /);
  });

  test('real credentials work anywhere', () => {
    expect(() => loadConfig({ env: { LIVEKIT_URL: 'wss://livekit.example.com', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 's'.repeat(32) } })).not.toThrow();
  });

  test('isLoopbackUrl', () => {
    expect(isLoopbackUrl('ws://127.0.0.1')).toBe(true);
    expect(isLoopbackUrl('ws://0x7f.0.0.1')).toBe(true);
    expect(isLoopbackUrl('ws://LOCALHOST:1')).toBe(true);
    expect(isLoopbackUrl('ws://[::ffff:7f00:1]')).toBe(true);
    expect(isLoopbackUrl('ws://[::2]')).toBe(false);
    expect(isLoopbackUrl('ws://[::ffff:a00:1]')).toBe(false);
    expect(isLoopbackUrl('ws://127.0.0.1.nip.io')).toBe(false);
    expect(isLoopbackUrl('not a url')).toBe(false);
  });
});
