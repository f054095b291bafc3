import { parseCommand } from '../../src/mqtt/commands';

describe('parseCommand', () => {
  test('the app\'s three original messages parse verbatim', () => {
    expect(parseCommand('{"type":"start_continuous_music","language":"English","genre":"pop","session_id":"room-1"}')).toEqual({
      ok: true,
      envelope: { command: { type: 'start_continuous_music', language: 'English', genre: 'pop' }, sessionId: 'room-1', requestId: undefined },
    });
    expect(parseCommand('{"type":"stop_continuous_music","session_id":"room-1"}')).toMatchObject({ ok: true, envelope: { command: { type: 'stop_continuous_music' }, sessionId: 'room-1' } });
    expect(parseCommand('{"type":"skip_music","session_id":"room-1"}')).toMatchObject({ ok: true, envelope: { command: { type: 'skip_music' }, sessionId: 'room-1' } });
  });

  test('language and genre are optional; empty strings count as absent', () => {
    expect(parseCommand('{"type":"start_continuous_music"}')).toMatchObject({ ok: true, envelope: { command: { language: undefined, genre: undefined } } });
    expect(parseCommand('{"type":"start_continuous_music","genre":""}')).toMatchObject({ ok: true, envelope: { command: { genre: undefined } } });
  });

  test('the richer commands', () => {
    expect(parseCommand('{"type":"set_volume","volume":33.6}')).toMatchObject({ ok: true, envelope: { command: { type: 'set_volume', volume: 34 } } });
    expect(parseCommand('{"type":"play_song","query":"baby shark","language":"English"}')).toMatchObject({ ok: true, envelope: { command: { type: 'play_song', query: 'baby shark', language: 'English' } } });
    for (const type of ['previous_music', 'pause_music', 'resume_music', 'get_status']) expect(parseCommand(JSON.stringify({ type }))).toMatchObject({ ok: true, envelope: { command: { type } } });
  });

  test('request_id and session_id are echoed, numbers as text', () => {
    expect(parseCommand('{"type":"get_status","request_id":7,"session_id":"s"}')).toMatchObject({ ok: true, envelope: { requestId: '7', sessionId: 's' } });
    expect(parseCommand('{"type":"dance","request_id":"r1"}')).toMatchObject({ ok: false, code: 'unknown_command', requestId: 'r1', type: 'dance' });
  });

  test.each([
    ['nope', 'invalid_json'],
    ['', 'invalid_json'],
    ['[]', 'not_an_object'],
    ['null', 'not_an_object'],
    ['{}', 'missing_type'],
    ['{"type":7}', 'missing_type'],
    ['{"type":"dance"}', 'unknown_command'],
    ['{"type":"start_continuous_music","language":1}', 'invalid_field'],
    ['{"type":"set_volume","volume":"10"}', 'invalid_field'],
    ['{"type":"set_volume","volume":101}', 'invalid_field'],
    ['{"type":"play_song"}', 'invalid_field'],
    ['{"type":"skip_music","session_id":{}}', 'invalid_field'],
    ['{"type":"skip_music","session_id":"a\\u0007b"}', 'invalid_field'],
  ])('%s is refused with %s', (payload, code) => {
    expect(parseCommand(payload)).toMatchObject({ ok: false, code });
  });
});
