import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonProcess } from './processes';
import { LIVEKIT_KEY, LIVEKIT_SECRET, stackInfo } from './stack';

export interface LogLine {
  level: string;
  message: string;
  device?: string;
  room?: string;
  [key: string]: unknown;
}

export type DaemonConfig = Record<string, Record<string, unknown>>;

/** The built daemon (dist/cli.js) in its own process, configured for the test stack. */
export class Daemon extends JsonProcess<LogLine> {
  constructor(readonly baseTopic: string, readonly configFile: string) {
    super(['start', '--config', configFile], {});
  }

  static async start(overrides: DaemonConfig = {}): Promise<Daemon> {
    const stack = stackInfo();
    const baseTopic = `mbtest-${randomBytes(4).toString('hex')}`;
    const config: DaemonConfig = {
      mqtt: { url: stack.mqttUrl, baseTopic, clientId: baseTopic },
      // The default room policy (member) lets a device play only into a room it is a participant of;
      // most tests start music in rooms where only a listener is. test/integration/room-policy.test.ts
      // runs the daemon with member and pattern.
      livekit: { url: stack.livekitUrl, apiKey: LIVEKIT_KEY, apiSecret: LIVEKIT_SECRET, roomPolicy: 'any' },
      catalog: { location: stack.catalog },
      // The test songs are heard at the level they were made at (the tests' thresholds assume it);
      // test/integration/loudness.test.ts runs with normalisation on.
      audio: { loudnessTarget: 'off' },
      log: { level: 'debug' },
    };
    for (const [section, values] of Object.entries(overrides)) config[section] = { ...config[section], ...values };
    const file = join(stack.workDir, `${baseTopic}.json`);
    writeFileSync(file, JSON.stringify(config));
    return Daemon.run(baseTopic, file);
  }

  /** Another daemon process with this one's configuration (a restart: same base topic, client id). */
  restart(): Promise<Daemon> {
    return Daemon.run(this.baseTopic, this.configFile);
  }

  private static async run(baseTopic: string, file: string): Promise<Daemon> {
    const daemon = new Daemon(baseTopic, file);
    await daemon.lines.next((l) => l.message === 'music-bridge started', 'daemon start-up', 20000).catch((err: Error) => {
      throw new Error(`${err.message}\nstderr: ${daemon.stderrTail}`);
    });
    return daemon;
  }
}
