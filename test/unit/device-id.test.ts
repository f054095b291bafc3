import { normaliseDeviceId } from '../../src/mqtt/device-id';

describe('normaliseDeviceId', () => {
  test.each(['aa:bb:cc:dd:ee:ff', 'AA:BB:CC:DD:EE:FF', 'aa_bb_cc_dd_ee_ff', 'AA-BB-CC-DD-EE-FF', 'aabbccddeeff', 'AABBCCDDEEFF'])('%s is the MAC aabbccddeeff', (raw) => {
    expect(normaliseDeviceId(raw)).toEqual({ ok: true, id: 'aabbccddeeff' });
  });

  test('other safe tokens are kept as they are', () => {
    expect(normaliseDeviceId('kitchen-speaker_2.v1')).toEqual({ ok: true, id: 'kitchen-speaker_2.v1' });
    expect(normaliseDeviceId('a'.repeat(64))).toEqual({ ok: true, id: 'a'.repeat(64) });
  });

  test.each([
    ['', /empty/],
    ['a'.repeat(65), /longer than 64/],
    ['a+b', /may only contain/],
    ['#', /may only contain/],
    ['a/b', /may only contain/],
    ['a b', /may only contain/],
    ['dev\u0000ice', /may only contain/],
    ['dev\nice', /may only contain/],
    ['bridge', /reserved/],
    ['BRIDGE', /reserved/],
    ['aa:bb:cc:dd:ee', /./], // five octets is not a MAC but is a safe token
  ])('%j', (raw, reason) => {
    const r = normaliseDeviceId(raw);
    if (raw === 'aa:bb:cc:dd:ee') expect(r).toEqual({ ok: true, id: raw });
    else expect(r).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });

  test('mixed separators are not a MAC', () => {
    expect(normaliseDeviceId('aa:bb-cc:dd:ee:ff')).toEqual({ ok: true, id: 'aa:bb-cc:dd:ee:ff' });
  });
});
