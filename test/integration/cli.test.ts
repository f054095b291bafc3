import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
  const env = { ...process.env, MQTT_URL: stackInfo().mqttUrl, MQTT_BASE_TOPIC: base };
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('music-bridge send (real broker, daemon and listener)', () => {
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

  test('no daemon on the base topic: exits 1 after the timeout, saying why', async () => {
    const res = await cli('nobody-listens-here', 'send', 'aa:bb:cc:dd:ee:23', 'status', '--timeout', '1');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no reply within 1000 ms');
  });
});
