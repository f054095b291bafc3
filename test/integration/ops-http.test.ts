import { freeTcpPort } from '../../src/ops/local-stack';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';

/** One sample of a Prometheus text exposition, e.g. metric('x_total') or metric('x', 'state="playing"'). */
function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  if (!line) throw new Error(`no ${name}{${labels}} in the scrape`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('ops HTTP endpoint (real stack)', () => {
  let daemon: Daemon;
  let app: AppClient;
  let base: string;
  let listener: Listener | undefined;

  beforeAll(async () => {
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    daemon = await Daemon.start({ http: { port } });
    app = await AppClient.connect(daemon.baseTopic);
  });
  afterAll(async () => {
    await listener?.stop();
    await app?.close();
    if (daemon) expect(await daemon.stop()).toBe(0);
  });

  test('healthz and readyz', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, checks: { mqtt: true, livekit: true } });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  test('metrics show sessions, songs, frames and command latency moving', async () => {
    const before = await (await fetch(`${base}/metrics`)).text();
    expect(metric(before, 'music_bridge_sessions', 'state="playing"')).toBe(0);
    expect(metric(before, 'music_bridge_mqtt_connected')).toBe(1);

    listener = await Listener.join('ops-metrics');
    await app.command('aabbccddee91', { type: 'start_continuous_music', session_id: 'ops-metrics' });
    await listener.hearTone([440, 660, 880, 1320, 550], 'music');
    await app.command('aabbccddee91', { type: 'dance' });
    const first = await (await fetch(`${base}/metrics`)).text();
    expect(metric(first, 'music_bridge_sessions', 'state="playing"')).toBe(1);
    expect(metric(first, 'music_bridge_songs_started_total')).toBeGreaterThanOrEqual(1);
    expect(metric(first, 'music_bridge_command_seconds_count', 'command="start_continuous_music",ok="true"')).toBe(1);
    expect(metric(first, 'music_bridge_commands_refused_total', 'error="unknown_command"')).toBe(1);

    const mark = listener.mark;
    await listener.hearTone([440, 660, 880, 1320, 550], 'more music', mark);
    const second = await (await fetch(`${base}/metrics`)).text();
    expect(metric(second, 'music_bridge_frames_sent_total')).toBeGreaterThan(metric(first, 'music_bridge_frames_sent_total'));
    await app.command('aabbccddee91', { type: 'stop_continuous_music' });
  });
});
