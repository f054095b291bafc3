import { normaliseDeviceId } from '../../src/mqtt/device-id';

describe('normaliseDeviceId', () => {
  test.each(['aa:bb:cc:dd:ee:ff', 'AA:BB:CC:DD:EE:FF', 'AA-BB-CC-DD-EE-FF', 'aa-bb-cc-dd-ee-ff', 'aa_bb_cc_dd_ee_ff', 'aabbccddeeff', 'AABBCCDDEEFF', 'AaBbCcDdEeFf'])(
    '%s is the MAC aabbccddeeff',
    (raw) => {
      expect(normaliseDeviceId(raw)).toEqual({ ok: true, id: 'aabbccddeeff' });
    },
  );

  test('other safe tokens are kept verbatim, up to 64 characters', () => {
    expect(normaliseDeviceId('kitchen-speaker_2.v1')).toEqual({ ok: true, id: 'kitchen-speaker_2.v1' });
    expect(normaliseDeviceId('a'.repeat(64))).toEqual({ ok: true, id: 'a'.repeat(64) });
  });

  test('near-MACs are plain tokens, not normalised', () => {
    expect(normaliseDeviceId('aa:bb-cc:dd:ee:ff')).toEqual({ ok: true, id: 'aa:bb-cc:dd:ee:ff' }); // mixed separators
    expect(normaliseDeviceId('aa:bb:cc:dd:ee')).toEqual({ ok: true, id: 'aa:bb:cc:dd:ee' }); // five octets
  });

  test.each([
    ['', /empty/],
    ['a'.repeat(65), /longer than 64/],
    ['+', /may only contain/],
    ['a+b', /may only contain/],
    ['#', /may only contain/],
    ['a/b', /may only contain/],
    ['/', /may only contain/],
    ['a b', /may only contain/],
    ['dev\u0000ice', /may only contain/],
    ['dev\nice', /may only contain/],
    ['aabbccddeeff\n', /may only contain/],
    ['dev\u007fice', /may only contain/],
    ['bridge', /reserved/],
    ['BRIDGE', /reserved/],
  ])('%j is refused', (raw, reason) => {
    expect(normaliseDeviceId(raw)).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });
});
