import { Writable } from 'node:stream';
import type { CommandEnvelope } from '../../src/session/commands';
import { commandPath } from '../../src/ops/console/command-path';
import { createLogger } from '../../src/ops/logger';
import { idleStatus } from '../../src/session/status';

const log = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));

function setup(allowedDevices: string[] = []) {
  const executed: Array<{ device: string; envelope: CommandEnvelope }> = [];
  const refused: string[] = [];
  const observed: string[] = [];
  const run = commandPath({
    target: {
      async execute(device, envelope) {
        executed.push({ device, envelope });
        if (envelope.command.type === 'get_status') throw new Error('boom');
        return { ok: envelope.command.type !== 'skip_music', code: envelope.command.type === 'skip_music' ? 'not_playing' : undefined, message: 'done', status: idleStatus(device) };
      },
      status: (device) => idleStatus(device),
    },
    allowedDevices,
    maxPayloadBytes: 128,
    metrics: { refused: { inc: ({ error }) => void refused.push(error) }, commands: { observe: ({ command, ok }) => void observed.push(`${command}:${ok}`) } },
    log,
  });
  return { run, executed, refused, observed };
}

describe('console commands take the MQTT command path', () => {
  test('the device id is normalised and the payload parsed by parseCommand; the reply is the MQTT reply', async () => {
    const { run, executed, observed } = setup();
    const reply = await run('AA-BB-CC-DD-EE-FF', '{"type":"start_continuous_music","language":"English","request_id":"r1"}');
    expect(reply).toMatchObject({ ok: true, error: null, command: 'start_continuous_music', device: 'aabbccddeeff', request_id: 'r1' });
    expect(executed[0]).toEqual({ device: 'aabbccddeeff', envelope: { command: { type: 'start_continuous_music', language: 'English', genre: undefined }, requestId: 'r1', sessionId: undefined } });
    expect(await run('aabbccddeeff', '{"type":"skip_music"}')).toMatchObject({ ok: false, error: 'not_playing' });
    expect(observed).toEqual(['start_continuous_music:true', 'skip_music:false']);
  });

  test('hostile input gets the same coded refusals as over MQTT, and never reaches a session', async () => {
    const { run, executed, refused } = setup(['aa:bb:cc:dd:ee:ff']);
    expect(await run('a/b/#', '{"type":"skip_music"}')).toMatchObject({ ok: false, error: 'invalid_device_id', device: null });
    expect(await run('001122334455', '{"type":"skip_music"}')).toMatchObject({ ok: false, error: 'device_not_allowed', state: null });
    expect(await run('aabbccddeeff', `{"type":"play_song","query":"${'x'.repeat(150)}"}`)).toMatchObject({ ok: false, error: 'payload_too_large' });
    expect(await run('aabbccddeeff', '{"type":')).toMatchObject({ ok: false, error: 'invalid_json' });
    expect(await run('aabbccddeeff', '{"type":"dance"}')).toMatchObject({ ok: false, error: 'unknown_command', command: 'dance' });
    expect(await run('aabbccddeeff', '{"type":"set_volume","volume":"loud"}')).toMatchObject({ ok: false, error: 'invalid_field' });
    expect(executed).toEqual([]);
    expect(refused).toEqual(['invalid_device_id', 'device_not_allowed', 'payload_too_large', 'invalid_json', 'unknown_command', 'invalid_field']);
  });

  test('a failing session gives internal_error, not a rejection', async () => {
    const { run } = setup();
    expect(await run('aabbccddeeff', '{"type":"get_status"}')).toMatchObject({ ok: false, error: 'internal_error', command: 'get_status' });
  });
});
