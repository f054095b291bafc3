import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The parts of rtc-node's native bindings used here (the copy rtc-node itself loaded). */
interface FfiBindings {
  livekitInitialize(callback: (data: Uint8Array) => void, captureLogs: boolean, sdkVersion: string): void;
  FfiEvent: { fromBinary(data: Uint8Array): unknown };
}

interface FfiClientLike {
  emit(event: 'ffi_event', payload: unknown): boolean;
}

export type SdkLogForwarding = 'stopped' | 'already stopped' | 'unsupported';

let state: SdkLogForwarding | undefined;

/**
 * rtc-node initialises the Rust SDK with log capture on, which forwards every log record, down to
 * trace level, as one FFI event; rtc-node then ignores them, after decoding each one and handing
 * it to every Room (under a mutex). With 40 rooms that is ~4,500 events a second and ~15 % of the
 * daemon's CPU. Initialising the FFI again with capture off stops them at the source; events keep
 * flowing to rtc-node's client exactly as its own callback would deliver them, and the SDK's own
 * error lines go to stderr (filtered by RUST_LOG). Call once rtc-node's client exists (after the
 * first join). If rtc-node's internals are not as expected, nothing is changed.
 */
export function stopSdkLogForwarding(): SdkLogForwarding {
  if (state) return state === 'stopped' ? 'already stopped' : state;
  state = 'unsupported';
  const client = (globalThis as { _ffiClientInstance?: Partial<FfiClientLike> })._ffiClientInstance;
  if (typeof client?.emit !== 'function') return state;
  try {
    const entry = require.resolve('@livekit/rtc-node');
    const bindings = createRequire(entry)('@livekit/rtc-ffi-bindings') as Partial<FfiBindings>;
    const version = packageVersion(entry);
    if (typeof bindings.livekitInitialize !== 'function' || typeof bindings.FfiEvent?.fromBinary !== 'function' || !version) return state;
    const { FfiEvent } = bindings;
    const emit = client.emit.bind(client);
    bindings.livekitInitialize((data) => emit('ffi_event', FfiEvent.fromBinary(data)), false, version);
    state = 'stopped';
  } catch {
    /* left as rtc-node set it up */
  }
  return state;
}

/** rtc-node's version, which it reports to the server; read from its package.json. */
function packageVersion(entry: string): string | undefined {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@livekit/rtc-node') return pkg.version;
  }
  return undefined;
}
