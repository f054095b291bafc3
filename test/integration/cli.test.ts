import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { analyseFrame } from '../../src/audio/analysis';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { CLI } from '../support/processes';
import { hzOf, stackInfo } from '../support/stack';

const exec = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `music-bridge ...` as a user would, against the test stack and the daemon's base topic. */
async function cli(base: string, ...args: string[]): Promise<CliResult> {
  const env = { ...process.env, MQTT_URL: stackInfo().mqttUrl, LIVEKIT_URL: stackInfo().livekitUrl, MQTT_BASE_TOPIC: base };
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('music-bridge CLI: send, status, listen (real broker, daemon and listener)', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await Daemon.start();
  });
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0);
  });

  test('start, skip and stop from the command line, heard in the room', async () => {
    const listener = await Listener.join('cli-room');
    try {
      const start = await cli(daemon.baseTopic, 'send', 'AA-BB-CC-DD-EE-21', 'start', '--language', 'English', '--genre', 'rock', '--session', 'cli-room');
      expect(start.code).toBe(0);
      expect(JSON.parse(start.stdout)).toMatchObject({ ok: true, command: 'start_continuous_music', device: 'aabbccddee21' });
      await listener.hearTone([hzOf('Rock One')], 'rock started from the CLI');

      const json = await cli(daemon.baseTopic, 'status', 'aa:bb:cc:dd:ee:21', '--json');
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ device: 'aabbccddee21', state: 'playing', room: 'cli-room', song: { title: 'Rock One' } });
      const table = await cli(daemon.baseTopic, 'status');
      expect(table.stdout.split('\n')[0]).toMatch(/^DEVICE\s+STATE\s+ROOM\s+SONG/);
      expect(table.stdout).toMatch(/aabbccddee21\s+playing\s+cli-room\s+Rock One/);

      // listen DEVICE finds the room from the status and records what it hears.
      const wav = join(stackInfo().workDir, 'heard.wav');
      const heard = await cli(daemon.baseTopic, 'listen', 'aa:bb:cc:dd:ee:21', '--seconds', '2', '--wav', wav);
      expect(heard.code).toBe(0);
      expect(heard.stdout).toContain('listening in room "cli-room"');
      const pcm = readFileSync(wav).subarray(44);
      expect(pcm.length).toBeGreaterThan(48000); // over half a second of 48 kHz mono
      const tail = new Int16Array(pcm.buffer.slice(pcm.byteOffset + pcm.length - 9600, pcm.byteOffset + pcm.length));
      expect(Math.abs(analyseFrame(tail, 48000, 1).hz - hzOf('Rock One'))).toBeLessThan(12);

      const stop = await cli(daemon.baseTopic, 'send', 'aa:bb:cc:dd:ee:21', 'stop');
      expect(stop.code).toBe(0);
      await listener.lines.next((h) => h.event === 'participant_left' && h.identity === 'music-bridge', 'the bot leaves after stop', 10000);
    } finally {
      await listener.stop();
    }
  });

  test('an error reply exits 1; a bad action exits 2 with a usage message', async () => {
    const skip = await cli(daemon.baseTopic, 'send', 'aa:bb:cc:dd:ee:22', 'skip');
    expect(skip.code).toBe(1);
    expect(JSON.parse(skip.stdout)).toMatchObject({ ok: false, message: 'No music is currently playing' });

    const bad = await cli(daemon.baseTopic, 'send', 'aa:bb:cc:dd:ee:22', 'volume', 'loud');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('volume needs a number from 0 to 100');
  });

  test('status and listen for a device with no music say so', async () => {
    const none = await cli(daemon.baseTopic, 'status', 'aa:bb:cc:dd:ee:29', '--timeout', '1');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no status for aabbccddee29');
    const listen = await cli(daemon.baseTopic, 'listen', 'aa:bb:cc:dd:ee:29');
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain('is not playing in any room');
  });

  test('no daemon on the base topic: exits 1 after the timeout, saying why', async () => {
    const res = await cli('nobody-listens-here', 'send', 'aa:bb:cc:dd:ee:23', 'status', '--timeout', '1');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no reply within 1000 ms');
  });
});
