import { parseCommand } from '../../src/mqtt/commands';

describe('parseCommand', () => {
  test('the app\'s three original messages parse verbatim', () => {
    expect(parseCommand('{"type":"start_continuous_music","language":"English","genre":"pop","session_id":"x"}')).toEqual({
      ok: true,
      envelope: { command: { type: 'start_continuous_music', language: 'English', genre: 'pop' }, sessionId: 'x', requestId: undefined },
    });
    expect(parseCommand('{"type":"stop_continuous_music","session_id":"x"}')).toEqual({ ok: true, envelope: { command: { type: 'stop_continuous_music' }, sessionId: 'x', requestId: undefined } });
    expect(parseCommand(Buffer.from('{"type":"skip_music","session_id":"x"}'))).toEqual({ ok: true, envelope: { command: { type: 'skip_music' }, sessionId: 'x', requestId: undefined } });
  });

  test('language, genre and the ids are optional; empty or null count as absent', () => {
    expect(parseCommand('{"type":"start_continuous_music"}')).toEqual({ ok: true, envelope: { command: { type: 'start_continuous_music', language: undefined, genre: undefined }, sessionId: undefined, requestId: undefined } });
    expect(parseCommand('{"type":"start_continuous_music","genre":"","language":null}')).toMatchObject({ ok: true, envelope: { command: { language: undefined, genre: undefined } } });
  });

  test('the richer commands', () => {
    expect(parseCommand('{"type":"set_volume","volume":33.6}')).toMatchObject({ ok: true, envelope: { command: { type: 'set_volume', volume: 34 } } });
    expect(parseCommand('{"type":"set_volume","volume":0}')).toMatchObject({ ok: true, envelope: { command: { volume: 0 } } });
    expect(parseCommand('{"type":"set_volume","volume":100}')).toMatchObject({ ok: true, envelope: { command: { volume: 100 } } });
    expect(parseCommand('{"type":"play_song","query":"baby shark","language":"English"}')).toMatchObject({ ok: true, envelope: { command: { type: 'play_song', query: 'baby shark', language: 'English' } } });
    for (const type of ['previous_music', 'pause_music', 'resume_music', 'get_status']) expect(parseCommand(JSON.stringify({ type }))).toEqual({ ok: true, envelope: { command: { type }, sessionId: undefined, requestId: undefined } });
  });

  test('request_id and session_id are echoed, numbers as text, also on refusals', () => {
    expect(parseCommand('{"type":"get_status","request_id":7,"session_id":"s"}')).toMatchObject({ ok: true, envelope: { requestId: '7', sessionId: 's' } });
    expect(parseCommand('{"type":"dance","request_id":"r1","session_id":"x"}')).toMatchObject({ ok: false, code: 'unknown_command', requestId: 'r1', sessionId: 'x', type: 'dance' });
    expect(parseCommand('{"type":"set_volume","volume":101,"request_id":"r2"}')).toMatchObject({ ok: false, code: 'invalid_field', requestId: 'r2', type: 'set_volume' });
  });

  test.each([
    ['nope', 'invalid_json'],
    ['', 'invalid_json'],
    ['{"type":"skip_music"', 'invalid_json'],
    ['[]', 'not_an_object'],
    ['null', 'not_an_object'],
    ['"skip_music"', 'not_an_object'],
    ['42', 'not_an_object'],
    ['{}', 'missing_type'],
    ['{"type":""}', 'missing_type'],
    ['{"type":7}', 'missing_type'],
    ['{"type":"dance"}', 'unknown_command'],
    ['{"type":"START_CONTINUOUS_MUSIC"}', 'unknown_command'],
    ['{"type":"start_continuous_music","language":1}', 'invalid_field'],
    ['{"type":"start_continuous_music","genre":["pop"]}', 'invalid_field'],
    ['{"type":"start_continuous_music","genre":"' + 'p'.repeat(201) + '"}', 'invalid_field'],
    ['{"type":"set_volume"}', 'invalid_field'],
    ['{"type":"set_volume","volume":"10"}', 'invalid_field'],
    ['{"type":"set_volume","volume":-1}', 'invalid_field'],
    ['{"type":"set_volume","volume":101}', 'invalid_field'],
    ['{"type":"play_song"}', 'invalid_field'],
    ['{"type":"play_song","query":5}', 'invalid_field'],
    ['{"type":"skip_music","session_id":{}}', 'invalid_field'],
    ['{"type":"skip_music","request_id":true}', 'invalid_field'],
    ['{"type":"skip_music","session_id":"a\\u0007b"}', 'invalid_field'],
  ])('%s is refused with %s', (payload, code) => {
    const r = parseCommand(payload);
    expect(r).toMatchObject({ ok: false, code, error: expect.any(String) });
  });

  describe('queue, repeat and shuffle commands', () => {
    const ok = (body: Record<string, unknown>) => {
      const r = parseCommand(JSON.stringify(body));
      if (!r.ok) throw new Error(`refused: ${r.error}`);
      return r.envelope.command;
    };
    test('well-formed', () => {
      expect(ok({ type: 'enqueue_music', query: 'pop two' })).toEqual({ type: 'enqueue_music', query: 'pop two', songId: undefined, language: undefined, position: 'end' });
      expect(ok({ type: 'enqueue_music', song_id: 'english/pop-two', position: 'next' })).toMatchObject({ songId: 'english/pop-two', position: 'next' });
      expect(ok({ type: 'get_queue' })).toEqual({ type: 'get_queue', limit: 10 });
      expect(ok({ type: 'get_queue', limit: 25 })).toEqual({ type: 'get_queue', limit: 25 });
      expect(ok({ type: 'remove_from_queue', index: 0 })).toEqual({ type: 'remove_from_queue', index: 0, songId: undefined });
      expect(ok({ type: 'remove_from_queue', song_id: 'x' })).toEqual({ type: 'remove_from_queue', index: undefined, songId: 'x' });
      expect(ok({ type: 'clear_queue' })).toEqual({ type: 'clear_queue' });
      for (const mode of ['off', 'one', 'all']) expect(ok({ type: 'set_repeat', mode })).toEqual({ type: 'set_repeat', mode });
      expect(ok({ type: 'set_shuffle', on: false })).toEqual({ type: 'set_shuffle', on: false });
      expect(ok({ type: 'set_ducking', on: true })).toEqual({ type: 'set_ducking', on: true });
      expect(ok({ type: 'seek_music', position_ms: 0 })).toEqual({ type: 'seek_music', positionMs: 0 });
      expect(ok({ type: 'seek_music', position_ms: 86_400_000 })).toEqual({ type: 'seek_music', positionMs: 86_400_000 });
    });

    // What an attacker sends: wrong types, huge or fractional numbers, both or neither selector,
    // overlong or control-character ids, prototype keys, values that are objects.
    test.each([
      { type: 'enqueue_music' },
      { type: 'enqueue_music', query: 'a', song_id: 'b' },
      { type: 'enqueue_music', query: 'x'.repeat(201) },
      { type: 'enqueue_music', song_id: 'x'.repeat(201) },
      { type: 'enqueue_music', song_id: 'a\u0000b' },
      { type: 'enqueue_music', song_id: 'a\nb' },
      { type: 'enqueue_music', song_id: 42 },
      { type: 'enqueue_music', song_id: { $ne: null } },
      { type: 'enqueue_music', query: ['a'] },
      { type: 'enqueue_music', query: 'a', position: 'first' },
      { type: 'enqueue_music', query: 'a', position: 0 },
      { type: 'enqueue_music', query: 'a', position: '__proto__' },
      { type: 'get_queue', limit: 0 },
      { type: 'get_queue', limit: 26 },
      { type: 'get_queue', limit: 1e308 },
      { type: 'get_queue', limit: 2.5 },
      { type: 'get_queue', limit: '10' },
      { type: 'remove_from_queue' },
      { type: 'remove_from_queue', index: -1 },
      { type: 'remove_from_queue', index: 1001 },
      { type: 'remove_from_queue', index: 0.5 },
      { type: 'remove_from_queue', index: '0' },
      { type: 'remove_from_queue', index: 0, song_id: 'x' },
      { type: 'remove_from_queue', song_id: 'x'.repeat(201) },
      { type: 'set_repeat' },
      { type: 'set_repeat', mode: 'ONE' },
      { type: 'set_repeat', mode: 1 },
      { type: 'set_repeat', mode: 'toString' },
      { type: 'set_shuffle' },
      { type: 'set_shuffle', on: 'true' },
      { type: 'set_shuffle', on: 1 },
      { type: 'set_ducking' },
      { type: 'set_ducking', on: 'off' },
      { type: 'set_ducking', on: null },
      { type: 'seek_music' },
      { type: 'seek_music', position_ms: -1 },
      { type: 'seek_music', position_ms: 1.5 },
      { type: 'seek_music', position_ms: '1000' },
      { type: 'seek_music', position_ms: 86_400_001 },
      { type: 'seek_music', position_ms: 1e308 },
    ])('refused as invalid_field: %j', (body) => {
      expect(parseCommand(JSON.stringify({ ...body, request_id: 'r' }))).toMatchObject({ ok: false, code: 'invalid_field', requestId: 'r', type: body.type });
    });

    test('a huge index written as a number literal is refused, not rounded', () => {
      expect(parseCommand('{"type":"remove_from_queue","index":1e400}')).toMatchObject({ ok: false, code: 'invalid_field' });
      expect(parseCommand('{"type":"remove_from_queue","index":9007199254740993}')).toMatchObject({ ok: false, code: 'invalid_field' });
    });
  });
});
