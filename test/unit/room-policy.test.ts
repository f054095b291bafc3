import { deviceIdentityMatcher } from '../../src/mqtt/device-id';
import { roomPatternProblem } from '../../src/config/schema';
import { matchesRoomPattern, RoomPolicy, type RoomMembers, type RoomPolicyOptions } from '../../src/session/room-policy';
import { RoomRefusedError, RoomResolver } from '../../src/session/room-resolver';

const A = 'aabbccddeeff';
const B = '112233445566';

/** Rooms and who is in them; counts the questions asked. */
class FakeMembers implements RoomMembers {
  calls = 0;
  failing = false;
  constructor(readonly rooms: Map<string, string[]>) {}
  async identitiesIn(room: string): Promise<string[] | undefined> {
    this.calls++;
    if (this.failing) throw new Error('connect ECONNREFUSED http://secret@lk');
    return this.rooms.get(room);
  }
}

function policy(o: Partial<RoomPolicyOptions> = {}): RoomPolicy {
  return new RoomPolicy({ policy: 'pattern', pattern: '*_{device}_*', isDeviceIdentity: deviceIdentityMatcher('{device}'), botIdentity: 'music-bridge', ...o });
}

describe('room names', () => {
  test.each([
    ['', /empty/],
    ['x'.repeat(129), /longer than 128/],
    ['a\u0000b', /control/],
    ['a\nb', /control/],
    ['a\u007fb', /control/],
    ['a\u0085b', /control/],
    ['a\u2028b', /control/],
    ['a\ud800b', /control/],
  ])('%j is invalid_field under every policy', async (room, message) => {
    for (const p of ['any', 'pattern', 'member'] as const) {
      const verdict = await policy({ policy: p, members: new FakeMembers(new Map()) }).check(A, room);
      expect(verdict).toEqual({ ok: false, code: 'invalid_field', message: expect.stringMatching(message) as string });
    }
  });

  test('128 characters, unicode and emoji are fine under any', async () => {
    for (const room of ['x'.repeat(128), 'Wohnzimmer-ü', 'room 🎵', 'a$b^c(d)[e]{f}|g\\h.i+j?k']) {
      expect(await policy({ policy: 'any' }).check(A, room)).toEqual({ ok: true });
    }
  });
});

describe('pattern policy', () => {
  const uuid = '3f2b8c1e-9a4d-4c2e-8f0a-1b2c3d4e5f60';

  test.each([
    [`${uuid}_${A}_voice`, true],
    [`${uuid}_${A.toUpperCase()}_voice`, true], // the same MAC in capitals
    [`_${A}_`, true],
    [`${uuid}_${B}_voice`, false], // another device's room
    [`x_${A}0_y`, false], // lookalikes
    [`x_0${A}_y`, false],
    [`x_${A.slice(0, 11)}_y`, false],
    [`x_aa:bb:cc:dd:ee:ff_y`, false], // other spellings are not in the origin's names
    [`x_aa-bb-cc-dd-ee-ff_y`, false],
    [`x${A}y`, false],
    [`${A}_voice`, false],
    [`x_${A}`, false],
    [`x_${A}_y\n`, false],
    [`x_${A}_y`.padEnd(500, 'z'), false],
  ])('device %s: %s', async (room, allowed) => {
    const verdict = await policy().check(A, room);
    if (allowed) expect(verdict).toEqual({ ok: true });
    else expect(verdict).toMatchObject({ ok: false });
  });

  test('the refusal is room_not_allowed and names the policy', async () => {
    expect(await policy().check(A, `${uuid}_${B}_voice`)).toEqual({
      ok: false,
      code: 'room_not_allowed',
      message: `room "${uuid}_${B}_voice" is not one of device ${A}'s rooms (livekit.roomPolicy pattern: *_{device}_*)`,
    });
  });

  test('regex metacharacters in the pattern and the device id are literal', async () => {
    expect(matchesRoomPattern('a.b+{device}(x)', 'd.1', 'a.b+d.1(x)')).toBe(true);
    expect(matchesRoomPattern('a.b+{device}(x)', 'd.1', 'aXbb+dX1(x)')).toBe(false);
    expect(matchesRoomPattern('room-{device}', 'dev', 'room-dev')).toBe(true);
    expect(matchesRoomPattern('room-{device}', 'dev', 'room-devX')).toBe(false);
    expect(matchesRoomPattern('[{device}]', 'd', '[d]')).toBe(true);
    expect(matchesRoomPattern('^{device}$', 'd', '^d$')).toBe(true);
    expect(matchesRoomPattern('^{device}$', 'd', 'd')).toBe(false);
    // A device that is not a MAC keeps its case: "Dev" is not "dev".
    expect(matchesRoomPattern('r_{device}_*', 'Dev', 'r_dev_1')).toBe(false);
  });

  test('regex metacharacters in room names cannot widen the match', async () => {
    for (const room of [`.*_${A}_.*`, `(.*)_${A}_|x`, `*_${A}_*`.replace(A, '.{12}'), `x_${A}_y|z`]) {
      const verdict = await policy().check(B, room);
      expect(verdict).toMatchObject({ ok: false, code: 'room_not_allowed' });
    }
    expect(await policy().check(A, `.*_${A}_.*`)).toEqual({ ok: true }); // literal characters around its own id
  });

  test('a hostile name against a pattern with many stars costs no backtracking', () => {
    const pattern = '*a*a*a*a*a*a*a*a*_{device}_*';
    const started = Date.now();
    for (let i = 0; i < 100; i++) expect(matchesRoomPattern(pattern, A, 'a'.repeat(127) + '_')).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
    expect(matchesRoomPattern(pattern, A, `aaaaaaaa_${A}_`)).toBe(true);
    expect(matchesRoomPattern(pattern, A, `aaaaaaa_${A}_`)).toBe(false);
  });

  test('globs: stars match runs (also none), runs are found in order, prefix and suffix are anchored', () => {
    expect(matchesRoomPattern('{device}', 'd', 'd')).toBe(true);
    expect(matchesRoomPattern('{device}', 'd', 'dd')).toBe(false);
    expect(matchesRoomPattern('a*b_{device}_c*d', 'x', 'ab_x_cd')).toBe(true);
    expect(matchesRoomPattern('a*b_{device}_c*d', 'x', 'a1b_x_c2d')).toBe(true);
    expect(matchesRoomPattern('a*b_{device}_c*d', 'x', 'a1b_y_c2d')).toBe(false);
    expect(matchesRoomPattern('ab*ba', 'x', 'aba')).toBe(false); // prefix and suffix may not overlap
    expect(matchesRoomPattern('*_{device}_*', 'x', '_x_x_')).toBe(true);
    expect(matchesRoomPattern('*_{device}_*_{device}_*', 'x', '_x__x_')).toBe(true);
    expect(matchesRoomPattern('*_{device}_*_{device}_*', 'x', '_x_')).toBe(false);
    expect(matchesRoomPattern('🎵*_{device}', 'x', '🎵 room_x')).toBe(true);
    expect(matchesRoomPattern('🎵*_{device}', 'x', '🎶 room_x')).toBe(false);
  });

  test('huge names are refused before any matching', async () => {
    const started = Date.now();
    expect(await policy().check(A, `${'*_'.repeat(50000)}${A}_x`)).toMatchObject({ ok: false, code: 'invalid_field' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test.each([
    ['room', /must contain \{device\}/],
    ['*{device}_x', /next to \{device\}/],
    ['x_{device}*', /next to \{device\}/],
  ])('pattern %j is refused', (pattern, message) => {
    expect(roomPatternProblem(pattern)).toMatch(message);
    expect(() => policy({ pattern })).toThrow(message);
  });
});

describe('member policy', () => {
  const rooms = new Map([
    ['room-a', ['agent-1', A]],
    ['room-b', ['agent-2', B]],
    ['room-spelled', ['AA:BB:CC:DD:EE:FF']],
    ['room-bot', ['music-bridge']],
    ['room-empty', []],
  ]);

  test('a device may name a room it is a participant of, in any spelling of its MAC', async () => {
    const p = policy({ policy: 'member', members: new FakeMembers(rooms) });
    expect(await p.check(A, 'room-a')).toEqual({ ok: true });
    expect(await p.check(A, 'room-spelled')).toEqual({ ok: true });
  });

  test.each(['room-b', 'room-bot', 'room-empty', 'no-such-room'])('not %s', async (room) => {
    const p = policy({ policy: 'member', members: new FakeMembers(rooms) });
    expect(await p.check(A, room)).toEqual({ ok: false, code: 'room_not_allowed', message: `device ${A} is not a participant of room "${room}" (livekit.roomPolicy member)` });
  });

  test('the identity template: device-{device}', async () => {
    const members = new FakeMembers(new Map([['r', [`device-${A}`]], ['s', [`device-${B}`]]]));
    const p = policy({ policy: 'member', isDeviceIdentity: deviceIdentityMatcher('device-{device}'), members });
    expect(await p.check(A, 'r')).toEqual({ ok: true });
    expect(await p.check(A, 's')).toMatchObject({ ok: false });
  });

  test('the bot never counts as the device, even when a device id equals its identity', async () => {
    const p = policy({ policy: 'member', members: new FakeMembers(rooms) });
    expect(await p.check('music-bridge', 'room-bot')).toMatchObject({ ok: false, code: 'room_not_allowed' });
  });

  test('LiveKit not answering refuses (fail closed) without quoting its error', async () => {
    const members = new FakeMembers(rooms);
    members.failing = true;
    const verdict = await policy({ policy: 'member', members }).check(A, 'room-a');
    expect(verdict).toMatchObject({ ok: false, code: 'room_not_allowed', message: expect.stringContaining('LiveKit did not answer') as string });
    expect(JSON.stringify(verdict)).not.toContain('secret');
  });

  test('a yes is reused for a few seconds, a no never; the cache is bounded', async () => {
    let now = 1000;
    const members = new FakeMembers(new Map(rooms));
    const p = policy({ policy: 'member', members, cacheMs: 5000, cacheSize: 2, now: () => now });
    await p.check(A, 'room-a');
    await p.check(A, 'room-a');
    expect(members.calls).toBe(1);
    now += 5001;
    await p.check(A, 'room-a');
    expect(members.calls).toBe(2);

    // The device leaves: within the cache time the old yes holds, after it the answer is no.
    members.rooms.set('room-a', ['agent-1']);
    expect(await p.check(A, 'room-a')).toEqual({ ok: true });
    now += 5001;
    expect(await p.check(A, 'room-a')).toMatchObject({ ok: false });

    // Refusals are asked again each time (the device may be joining right now).
    await p.check(A, 'room-b');
    await p.check(A, 'room-b');
    expect(members.calls).toBe(5);

    // Bounded: three devices' answers, the least recently used one is forgotten.
    members.rooms.set('m', [A, B, '0a0b0c0d0e0f']);
    const before = members.calls;
    for (const d of [A, B, '0a0b0c0d0e0f']) await p.check(d, 'm');
    await p.check(A, 'm');
    expect(members.calls).toBe(before + 4);
  });
});

describe('RoomResolver with a policy', () => {
  const members = new FakeMembers(new Map([['room-a', [A]]]));
  const member = policy({ policy: 'member', members });

  test('a named room goes through the policy; a refusal is a typed error with its code', async () => {
    const resolver = new RoomResolver({ strategy: 'session_id', template: '{device}', policy: member });
    await expect(resolver.resolve(A, 'room-a')).resolves.toBe('room-a');
    await expect(resolver.resolve(B, 'room-a')).rejects.toEqual(expect.objectContaining({ code: 'room_not_allowed' }));
    await expect(resolver.resolve(B, 'room-a')).rejects.toBeInstanceOf(RoomRefusedError);
    await expect(resolver.resolve(A, 'x'.repeat(200))).rejects.toEqual(expect.objectContaining({ code: 'invalid_field' }));
  });

  test('rooms the bridge derives (template, no session_id) are the device\'s own and not checked', async () => {
    await expect(new RoomResolver({ strategy: 'session_id', template: 'music-{device}', policy: member }).resolve(B, undefined)).resolves.toBe(`music-${B}`);
    await expect(new RoomResolver({ strategy: 'template', template: 'music-{device}', policy: member }).resolve(B, 'room-a')).resolves.toBe(`music-${B}`);
  });
});
