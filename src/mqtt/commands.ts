import { MAX_QUEUE_INDEX, MAX_SEEK_MS, QUEUE_LIST_DEFAULT, QUEUE_LIST_MAX, type Command, type CommandEnvelope } from '../session/commands';

/** Stable codes for refused payloads: apps branch on these, never on the message text. */
export type ParseErrorCode = 'invalid_json' | 'not_an_object' | 'missing_type' | 'unknown_command' | 'invalid_field';

export type ParseResult =
  | { ok: true; envelope: CommandEnvelope }
  | { ok: false; code: ParseErrorCode; error: string; sessionId?: string; requestId?: string; type?: string };

const MAX_TEXT = 200;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function parseCommand(payload: Buffer | string): ParseResult {
  let decoded: string;
  try {
    // Fatal: invalid UTF-8 is refused instead of silently becoming U+FFFD. A leading BOM is dropped.
    decoded = typeof payload === 'string' ? payload : UTF8.decode(payload);
  } catch {
    return { ok: false, code: 'invalid_json', error: 'payload is not valid UTF-8' };
  }
  let body: unknown;
  try {
    // Only top-level fields are read: nested values (however deep) and keys such as "__proto__"
    // stay plain data (JSON.parse makes own properties, never prototypes).
    body = JSON.parse(decoded);
  } catch {
    return { ok: false, code: 'invalid_json', error: 'payload is not valid JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, code: 'not_an_object', error: 'payload must be a JSON object' };
  }
  const msg = body as Record<string, unknown>;
  const ids = { sessionId: optionalText(msg.session_id), requestId: optionalText(msg.request_id) };
  const fail = (error: string, code: ParseErrorCode = 'invalid_field'): ParseResult => ({
    ok: false,
    code,
    error,
    ...ids,
    type: typeof msg.type === 'string' ? msg.type : undefined,
  });
  if (typeof msg.type !== 'string' || msg.type === '') return fail('missing "type"', 'missing_type');
  for (const key of ['session_id', 'request_id'] as const) {
    const v = msg[key];
    if (v !== undefined && v !== null && (typeof v !== 'string' && typeof v !== 'number')) return fail(`"${key}" must be a string`);
    if (typeof v === 'string' && (v.length > MAX_TEXT || /[\u0000-\u001f\u007f]/.test(v))) return fail(`"${key}" must be at most ${MAX_TEXT} printable characters`);
  }

  const text = (key: string): string | undefined | Error => {
    const v = msg[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return new Error(`"${key}" must be a string`);
    if (v.length > MAX_TEXT) return new Error(`"${key}" is longer than ${MAX_TEXT} characters`);
    return v;
  };

  /** An identifier: text without control characters. */
  const printable = (key: string): string | undefined | Error => {
    const v = text(key);
    if (typeof v === 'string' && /[\u0000-\u001f\u007f]/.test(v)) return new Error(`"${key}" must be printable`);
    return v;
  };

  let command: Command;
  switch (msg.type) {
    case 'start_continuous_music': {
      const language = text('language');
      const genre = text('genre');
      if (language instanceof Error) return fail(language.message);
      if (genre instanceof Error) return fail(genre.message);
      command = { type: msg.type, language, genre };
      break;
    }
    case 'stop_continuous_music':
    case 'skip_music':
    case 'previous_music':
    case 'pause_music':
    case 'resume_music':
    case 'get_status':
      command = { type: msg.type };
      break;
    case 'set_volume': {
      const v = msg.volume;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) return fail('"volume" must be a number from 0 to 100');
      command = { type: msg.type, volume: Math.round(v) };
      break;
    }
    case 'play_song': {
      const query = text('query');
      const language = text('language');
      if (query instanceof Error) return fail(query.message);
      if (language instanceof Error) return fail(language.message);
      if (!query) return fail('"query" is required');
      command = { type: msg.type, query, language };
      break;
    }
    case 'enqueue_music': {
      const query = text('query');
      const songId = printable('song_id');
      const language = text('language');
      for (const v of [query, songId, language]) if (v instanceof Error) return fail(v.message);
      if (!query === !songId) return fail('exactly one of "query" and "song_id" is required');
      const position = msg.position ?? 'end';
      if (position !== 'next' && position !== 'end') return fail('"position" must be "next" or "end"');
      command = { type: msg.type, query: query as string | undefined, songId: songId as string | undefined, language: language as string | undefined, position };
      break;
    }
    case 'get_queue': {
      const limit = msg.limit ?? QUEUE_LIST_DEFAULT;
      if (!isIntIn(limit, 1, QUEUE_LIST_MAX)) return fail(`"limit" must be an integer from 1 to ${QUEUE_LIST_MAX}`);
      command = { type: msg.type, limit };
      break;
    }
    case 'remove_from_queue': {
      const songId = printable('song_id');
      if (songId instanceof Error) return fail(songId.message);
      const index = msg.index ?? undefined;
      if (index !== undefined && !isIntIn(index, 0, MAX_QUEUE_INDEX)) return fail(`"index" must be an integer from 0 to ${MAX_QUEUE_INDEX}`);
      if ((index === undefined) === !songId) return fail('exactly one of "index" and "song_id" is required');
      command = { type: msg.type, index, songId };
      break;
    }
    case 'clear_queue':
      command = { type: msg.type };
      break;
    case 'set_repeat': {
      const mode = msg.mode;
      if (mode !== 'off' && mode !== 'one' && mode !== 'all') return fail('"mode" must be "off", "one" or "all"');
      command = { type: msg.type, mode };
      break;
    }
    case 'seek_music':
      if (!isIntIn(msg.position_ms, 0, MAX_SEEK_MS)) return fail(`"position_ms" must be an integer from 0 to ${MAX_SEEK_MS}`);
      command = { type: msg.type, positionMs: msg.position_ms };
      break;
    case 'set_shuffle':
    case 'set_ducking':
      if (typeof msg.on !== 'boolean') return fail('"on" must be true or false');
      command = { type: msg.type, on: msg.on };
      break;
    default:
      return fail(`unknown command type "${msg.type.slice(0, MAX_TEXT)}"`, 'unknown_command');
  }
  return { ok: true, envelope: { command, ...ids } };
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function optionalText(v: unknown): string | undefined {
  if (typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT && !/[\u0000-\u001f\u007f]/.test(v)) return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}
