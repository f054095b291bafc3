import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mb-config-')), 'c.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('loadConfig', () => {
  test('defaults alone are valid', () => {
    const { config } = loadConfig({ env: {} });
    expect(config.audio).toMatchObject({ sampleRate: 48000, channels: 1, frameMs: 20, queueMs: 300 });
  });

  test('environment wins over the file, which wins over defaults; types are coerced', () => {
    const { config } = loadConfig({
      file: file({ mqtt: { baseTopic: 'from-file', url: 'mqtt://file:1883' }, audio: { queueMs: 200 } }),
      env: { MQTT_BASE_TOPIC: 'from-env', AUDIO_QUEUE_MS: '400', MQTT_REJECT_UNAUTHORIZED: 'false', MQTT_ALLOWED_DEVICES: 'aa:bb:cc:dd:ee:ff, x1' },
    });
    expect(config.mqtt.baseTopic).toBe('from-env');
    expect(config.mqtt.url).toBe('mqtt://file:1883');
    expect(config.audio.queueMs).toBe(400);
    expect(config.mqtt.rejectUnauthorized).toBe(false);
    expect(config.mqtt.allowedDevices).toEqual(['aa:bb:cc:dd:ee:ff', 'x1']);
  });

  test.each([
    [{ audio: { queueMs: 255 } }, /audio.queueMs.*multiple of 10/],
    [{ audio: { frameMs: 5 } }, /audio.frameMs/],
    [{ mqtt: { url: 'http://x' } }, /mqtt.url.*mqtt, mqtts, ws, wss/],
    [{ mqtt: { baseTopic: 'a/#' } }, /mqtt.baseTopic/],
    [{ livekit: { botIdentity: 'music-agent' } }, /livekit.botIdentity.*agent/],
    [{ livekit: { roomStrategy: 'random' } }, /livekit.roomStrategy/],
    [{ mqtt: { nosuchkey: 1 } }, /nosuchkey/],
  ])('a bad value names the key: %j', (content, message) => {
    expect(() => loadConfig({ file: file(content), env: {} })).toThrow(message);
  });

  test('a bad environment value names the key', () => {
    expect(() => loadConfig({ env: { AUDIO_FRAME_MS: 'fast' } })).toThrow(/audio.frameMs/);
  });

  test('secrets are masked in the summary', () => {
    const { redacted } = loadConfig({ env: { MQTT_PASSWORD: 'hunter2', LIVEKIT_API_SECRET: 'topsecret' } });
    const text = JSON.stringify(redacted);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('topsecret');
  });
});
