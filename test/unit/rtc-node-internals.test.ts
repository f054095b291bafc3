import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AudioSource, DisconnectReason, dispose, LocalAudioTrack, Room } from '@livekit/rtc-node';
import { FINAL_REASONS } from '../../src/livekit/bot-connection';
import { onlyRoomEventsFor } from '../../src/livekit/room-events';
import { openSpeechStream, routedSpeechStreams } from '../../src/livekit/speech-streams';

/**
 * The daemon reaches into rtc-node's internals (src/livekit/sdk-logs.ts re-initialises its FFI,
 * src/livekit/room-events.ts wraps a Room's private listener, src/livekit/speech-streams.ts moves an
 * AudioStream's listener, src/ops/rtc-log-level.ts relies on
 * when it reads NODE_ENV). Those are not API: this test names what changed when an upgrade moves
 * them, so the upgrade is a decision (see docs/operations.md, "Upgrading rtc-node").
 */
const root = join(__dirname, '..', '..');
const rtcEntry = require.resolve('@livekit/rtc-node');
const rtcDir = (() => {
  for (let dir = dirname(rtcEntry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === '@livekit/rtc-node') return dir;
    } catch {
      /* not a package root */
    }
  }
  throw new Error('rtc-node package root not found');
})();
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

function expectInternal(ok: boolean, what: string): void {
  if (!ok) throw new Error(`rtc-node internals changed: ${what}. See docs/operations.md, "Upgrading rtc-node".`);
}

describe('rtc-node internals the daemon relies on', () => {
  afterAll(async () => {
    await dispose();
  });

  test('the installed rtc-node is exactly the pinned one', () => {
    const pinned = (json(join(root, 'package.json')).dependencies as Record<string, string>)['@livekit/rtc-node'];
    expectInternal(/^\d+\.\d+\.\d+$/.test(pinned ?? ''), `package.json must pin @livekit/rtc-node exactly (no range), found "${pinned}"`);
    const locked = ((json(join(root, 'package-lock.json')).packages as Record<string, { version?: string }>)['node_modules/@livekit/rtc-node'] ?? {}).version;
    const installed = json(join(rtcDir, 'package.json')).version;
    expect({ pinned, locked, installed }).toEqual({ pinned, locked: pinned, installed: pinned });
  });

  test('@livekit/rtc-ffi-bindings, as rtc-node loads it, exports livekitInitialize and FfiEvent.fromBinary', () => {
    const bindings = createRequire(rtcEntry)('@livekit/rtc-ffi-bindings') as { livekitInitialize?: unknown; FfiEvent?: { fromBinary?: unknown } };
    expectInternal(typeof bindings.livekitInitialize === 'function', 'rtc-ffi-bindings has no livekitInitialize function (src/livekit/sdk-logs.ts)');
    expectInternal(typeof bindings.FfiEvent?.fromBinary === 'function', 'rtc-ffi-bindings has no FfiEvent.fromBinary (src/livekit/sdk-logs.ts)');
  });

  test('after first use, globalThis._ffiClientInstance is rtc-node\'s client, an emitter of "ffi_event"', async () => {
    // Any native object makes rtc-node create its FFI client; a source needs no server.
    const source = new AudioSource(48000, 1, 100);
    try {
      const client = (globalThis as { _ffiClientInstance?: { emit?: unknown; on?: unknown; off?: unknown } })._ffiClientInstance;
      expectInternal(client !== undefined, 'globalThis._ffiClientInstance is not set once rtc-node is in use (src/livekit/sdk-logs.ts)');
      expectInternal(typeof client?.emit === 'function' && typeof client.on === 'function' && typeof client.off === 'function', 'globalThis._ffiClientInstance is not an event emitter (src/livekit/sdk-logs.ts)');
      const emitter = client as { emit(e: string, p: unknown): boolean; on(e: string, l: (p: unknown) => void): void; off(e: string, l: (p: unknown) => void): void };
      const seen: unknown[] = [];
      const listener = (p: unknown) => seen.push(p);
      emitter.on('ffi_event', listener);
      emitter.emit('ffi_event', 'probe');
      emitter.off('ffi_event', listener);
      expect(seen).toEqual(['probe']);
      // rtc-node's own listeners (Rooms, waitFor) subscribe to that event name.
      const clientSource = readFileSync(join(rtcDir, 'dist', 'ffi_client.cjs'), 'utf8');
      expectInternal(clientSource.includes('"ffi_event"'), 'rtc-node\'s FfiClient no longer emits "ffi_event" (src/livekit/sdk-logs.ts)');
    } finally {
      await source.close();
    }
  });

  test('a Room has an own onFfiEvent function before connect, which room-events.ts can wrap', () => {
    const room = new Room();
    expectInternal(Object.prototype.hasOwnProperty.call(room, 'onFfiEvent'), 'a new Room has no own onFfiEvent property (src/livekit/room-events.ts)');
    expectInternal(typeof (room as unknown as { onFfiEvent?: unknown }).onFfiEvent === 'function', 'Room.onFfiEvent is not a function (src/livekit/room-events.ts)');
    expect(onlyRoomEventsFor(room)).toBe(true);
  });

  test('rtc-node reads NODE_ENV once, when its logger loads (src/ops/rtc-log-level.ts)', () => {
    const logSource = readFileSync(join(rtcDir, 'dist', 'log.cjs'), 'utf8');
    expectInternal(/const isProduction = process\.env\.NODE_ENV === "production"/.test(logSource), 'rtc-node\'s logger no longer decides its level from NODE_ENV at load');
  });

  test('every disconnect reason the bot treats as final still exists', () => {
    const missing = [...FINAL_REASONS].filter((name) => !(name in DisconnectReason));
    expectInternal(missing.length === 0, `DisconnectReason lost ${missing.join(', ')} (src/livekit/bot-connection.ts)`);
  });

  test('an AudioStream keeps its source on its track (speech-streams routes that source\'s FFI events itself)', async () => {
    const track = LocalAudioTrack.createAudioTrack('speech-internals', new AudioSource(16000, 1));
    const before = routedSpeechStreams();
    const stream = openSpeechStream(track);
    expectInternal(routedSpeechStreams() === before + 1, 'an AudioStream no longer leaves a WeakRef to its source (with onEvent and ffiHandle) in its track\'s audioStreams: src/livekit/speech-streams.ts falls back to one FFI listener per stream');
    await stream.cancel();
    expect(routedSpeechStreams()).toBe(before);
  });
});
