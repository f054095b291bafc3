import type { Room } from '@livekit/rtc-node';
import { onlyRoomEventsFor } from '../../src/livekit/room-events';

type Event = { message: { case?: string } };

function fakeRoom(): { room: Room; seen: string[]; internals: { onFfiEvent: (e: Event) => unknown } } {
  const seen: string[] = [];
  const internals = { onFfiEvent: (e: Event) => seen.push(e.message.case ?? 'none') };
  return { room: internals as unknown as Room, seen, internals };
}

describe('onlyRoomEventsFor', () => {
  test('lets room events and RPC invocations through, drops capture callbacks, logs and other replies', () => {
    const { room, seen, internals } = fakeRoom();
    expect(onlyRoomEventsFor(room)).toBe(true);
    for (const kind of ['captureAudioFrame', 'roomEvent', 'logs', 'rpcMethodInvocation', 'publishData', 'connect', undefined]) internals.onFfiEvent({ message: { case: kind } });
    expect(seen).toEqual(['roomEvent', 'rpcMethodInvocation']);
  });

  test('leaves a Room without the expected internals alone', () => {
    const room = {} as unknown as Room;
    expect(onlyRoomEventsFor(room)).toBe(false);
    expect(room).toEqual({});
  });
});
