interface FfiEventLike {
  message: { case?: string };
}

type FfiListener = (event: FfiEventLike) => unknown;

/**
 * rtc-node hands every FFI event of the process to every Room, each behind its own async mutex,
 * although a Room only acts on room events and RPC invocations. Every captured frame of every room
 * produces an event, so with N rooms streaming each room wades through N times its own traffic.
 * Wrapping the Room's listener (before `connect`, which registers it, so `disconnect` removes the
 * same function) lets only the two kinds it uses through. A Room whose internals are not as
 * expected is left alone.
 */
export function onlyRoomEventsFor(room: object): boolean {
  const internals = room as { onFfiEvent?: unknown };
  const original = internals.onFfiEvent;
  if (typeof original !== 'function') return false;
  const listener = original as FfiListener;
  const filtered: FfiListener = (event) => {
    const kind = event.message.case;
    return kind === 'roomEvent' || kind === 'rpcMethodInvocation' ? listener(event) : undefined;
  };
  internals.onFfiEvent = filtered;
  return true;
}
