import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load';

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
});
