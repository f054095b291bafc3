import { OutgoingTopics } from '../../src/mqtt/outgoing-topics';
import { StatusExpiry } from '../../src/mqtt/status-expiry';
import { ThrottledLog } from '../../src/mqtt/throttled-log';
import { TokenBuckets } from '../../src/mqtt/token-buckets';
import type { Logger } from '../../src/ops/logger';

describe('OutgoingTopics: where the bridge may publish', () => {
  const t = new OutgoingTopics('mb', ['apps/{device}/in']);

  test.each(['mb/bridge/state', 'mb/aabbccddeeff/reply', 'mb/x/reply/app-7', 'apps/aabbccddeeff/in/1'])('%j may be published to', (topic) => {
    expect(t.refusal(topic)).toBeUndefined();
  });

  test.each(['', 'mb', 'mb/', 'mb/#', 'mb/+/reply', '+/x', '#', 'other/x', 'mbx/y', 'apps/a/b/in/1', 'apps/x/in', 'mb/a\u0000b', 'mb/a\u0085b', 'mb/\udc00', `mb/${'x'.repeat(1100)}`])(
    '%j is refused',
    (topic) => {
      expect(t.refusal(topic)).toEqual(expect.any(String));
    },
  );

  test('response topics: only under the device\'s own subtree (not its command or status topic) or a prefix for that device', () => {
    expect(t.responseTopicProblem('mb/dev1/reply', 'dev1')).toBeUndefined();
    expect(t.responseTopicProblem('mb/dev1/x/y', 'dev1')).toBeUndefined();
    expect(t.responseTopicProblem('apps/dev1/in/r', 'dev1')).toBeUndefined();
    for (const bad of ['mb/dev2/reply', 'apps/dev2/in/r', 'mb/dev1/command', 'mb/dev1/status', 'mb/dev1/', 'mb/dev1', 'mb/bridge/state', 'mb/dev1/#', 'apps/dev1/in']) {
      expect({ bad, problem: t.responseTopicProblem(bad, 'dev1') }).toEqual({ bad, problem: expect.any(String) });
    }
    expect(t.responseTopicProblem(42, 'dev1')).toEqual(expect.any(String));
  });

  test('a prefix with a wildcard is a configuration error', () => {
    expect(() => new OutgoingTopics('mb', ['apps/+/in'])).toThrow(/responseTopicPrefixes/);
  });
});

describe('TokenBuckets', () => {
  test('burst, then the rate; keys are independent', () => {
    let now = 0;
    const b = new TokenBuckets(2, 3, 100, () => now);
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false]);
    expect(b.take('b')).toBe(true);
    now += 500; // one token back at 2/s
    expect([b.take('a'), b.take('a')]).toEqual([true, false]);
    now += 60_000; // never more than the burst
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false]);
  });

  test('bounded: the least recently used key is forgotten (which only refills it)', () => {
    const b = new TokenBuckets(1, 1, 3, () => 0);
    for (const k of ['a', 'b', 'c', 'd', 'e']) b.take(k);
    expect(b.size).toBe(3);
    expect(b.take('e')).toBe(false); // still known: empty
    expect(b.take('a')).toBe(true); // forgotten: a fresh bucket
  });
});

describe('ThrottledLog', () => {
  test('one line per key and interval; the next says how many were left out', () => {
    let now = 0;
    const lines: Array<Record<string, unknown> | undefined> = [];
    const log = { warn: (_m: string, meta?: Record<string, unknown>) => void lines.push(meta) } as unknown as Logger;
    const t = new ThrottledLog(log, 1000, () => now);
    for (let i = 0; i < 100; i++) t.warn('k', 'flood', { i });
    t.warn('other', 'other');
    expect(lines).toEqual([{ i: 0 }, {}]);
    now = 1000;
    t.warn('k', 'flood', { i: 100 });
    expect(lines.at(-1)).toEqual({ i: 100, suppressed: 99 });
  });
});

describe('StatusExpiry', () => {
  test('idle statuses expire after the TTL, active ones never; bounded', () => {
    let now = 0;
    const e = new StatusExpiry(1000, 2, () => now);
    e.published('a', true);
    e.published('b', false);
    now = 999;
    expect(e.takeExpired()).toEqual([]);
    now = 1000;
    expect(e.takeExpired()).toEqual(['a']);
    expect(e.current('a')).toBe(false);
    for (const d of ['c', 'd', 'f']) e.published(d, true);
    expect(e.size).toBe(2);
    e.foundRetained('g', 0); // full: ignored
    expect(e.size).toBe(2);
  });
});
