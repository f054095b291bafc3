#!/usr/bin/env node
import './ops/rtc-log-level';
import { parseArgs } from 'node:util';
import { configReference } from './config/reference';
import { runDaemon } from './ops/daemon';
import { runDev } from './ops/dev-command';
import { runListen } from './ops/listen-command';
import { runSend } from './ops/send-command';
import { runStatus } from './ops/status-command';

const USAGE = `usage:
  music-bridge [start] [--config FILE]      run the daemon (settings: file < environment < defaults)
  music-bridge dev                          set up and start Mosquitto, LiveKit, a sample catalog and
                                             the daemon on this machine (Ctrl-C stops all)
  music-bridge listen DEVICE | --room ROOM [--wav FILE] [--json] [--seconds N] [--url URL] [--identity ID]
                    [--tones HZ,HZ]          join the device's room (from its status) or a room and
                                             show what the bot plays with a level meter; --wav records;
                                             --json --tones adds each frame's level at those frequencies
  music-bridge status [DEVICE] [--json]      the retained statuses as a table (--json: one per line)
  music-bridge send DEVICE ACTION [ARG] [--language L] [--genre G] [--session S] [--timeout SEC]
                                             ACTION: start, stop, skip, previous, pause, resume,
                                             volume N, play TITLE, status, queue (what plays next),
                                             enqueue TITLE, enqueue-next TITLE, remove N|SONG_ID,
                                             clear-queue, repeat off|one|all, shuffle on|off,
                                             ducking on|off, seek MS;
                                             prints the reply

  music-bridge config-reference             print the configuration reference (markdown)

Every command takes --config FILE; environment variables (MQTT_URL, LIVEKIT_URL, ...) override it.`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'start';
  const rest = command === argv[0] ? argv.slice(1) : argv;
  switch (command) {
    case 'start': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: true });
      return runDaemon({ configFile: values.config ?? process.env.MUSIC_BRIDGE_CONFIG });
    }
    case 'listen': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          wav: { type: 'string' },
          room: { type: 'string' },
          url: { type: 'string' },
          json: { type: 'boolean', default: false },
          seconds: { type: 'string' },
          identity: { type: 'string' },
          tones: { type: 'string' },
          config: { type: 'string', short: 'c' },
        },
        strict: true,
      });
      if (!values.room && !positionals[0]) throw new UsageError('listen needs a DEVICE or --room ROOM');
      const tones = values.tones?.split(',').map(Number);
      if (tones?.some((hz) => !(hz > 0))) throw new UsageError('--tones takes frequencies in Hz, e.g. --tones 440,880');
      return runListen({ room: values.room, device: positionals[0], wav: values.wav, url: values.url, identity: values.identity, json: values.json ?? false, tones, seconds: values.seconds ? Number(values.seconds) : undefined, configFile: values.config ?? process.env.MUSIC_BRIDGE_CONFIG });
    }
    case 'dev':
      return runDev();
    case 'status': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { json: { type: 'boolean', default: false }, timeout: { type: 'string', default: '3' }, config: { type: 'string', short: 'c' } },
        strict: true,
      });
      return runStatus({ device: positionals[0], json: values.json ?? false, timeoutMs: Number(values.timeout) * 1000, configFile: values.config ?? process.env.MUSIC_BRIDGE_CONFIG });
    }
    case 'config-reference':
      process.stdout.write(configReference());
      return 0;
    case 'send': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          language: { type: 'string' },
          genre: { type: 'string' },
          session: { type: 'string' },
          timeout: { type: 'string', default: '20' },
          config: { type: 'string', short: 'c' },
        },
        strict: true,
      });
      const [device, action, ...arg] = positionals;
      if (!device || !action) throw new UsageError('send needs DEVICE and ACTION');
      return runSend({
        device,
        action,
        arg: arg.length ? arg.join(' ') : undefined,
        language: values.language,
        genre: values.genre,
        sessionId: values.session,
        timeoutMs: Number(values.timeout) * 1000,
        configFile: values.config ?? process.env.MUSIC_BRIDGE_CONFIG,
      });
    }
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`music-bridge: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof UsageError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
  },
);
