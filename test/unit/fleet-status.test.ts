import { aggregate, aggregateWriter, MAX_AGGREGATE_SESSIONS, MAX_REPORT_BYTES, MAX_SESSIONS_PER_REPORT, parseInfoReport, parseStatusReport, type InstanceReports } from '../../src/mqtt/fleet-status';

const NOW = new Date('2026-01-01T00:00:00Z');
const OWN = { version: '1.2.3', ffmpeg: '6.1', config: { mqtt: { baseTopic: 'mb' } }, instance: 'ia' };
const session = (device: string, seq = 1, extra: Record<string, unknown> = {}) => ({ device, state: 'playing', room: `room-${device}`, seq, ...extra });
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function reportsOf(entries: Record<string, { devices?: string[]; version?: string; sessions?: number }>): Map<string, InstanceReports> {
  return new Map(
    Object.entries(entries).map(([id, e]) => [id, { status: e.devices && { sessions: e.devices.map((d) => session(d)) }, info: e.version === undefined ? undefined : { version: e.version, sessions: e.sessions ?? 0 } }]),
  );
}

describe('aggregate of the instances\' reports', () => {
  test('every live instance\'s sessions once, the total count, one summary per live instance in id order', () => {
    const reports = reportsOf({
      ib: { devices: ['aabbccdd0002', 'aabbccdd0003'], version: '1.2.3', sessions: 2 },
      ia: { devices: ['aabbccdd0001'], version: '1.2.4', sessions: 1 },
    });
    const a = aggregate(reports, ['ib', 'ia'], OWN, NOW);
    expect(a.status).toEqual({ sessions: [session('aabbccdd0001'), session('aabbccdd0002'), session('aabbccdd0003')], count: 3, updated_at: NOW.toISOString() });
    expect(a.info).toEqual({
      ...OWN,
      sessions: 3,
      instances: [
        { id: 'ia', state: 'online', version: '1.2.4', sessions: 1 },
        { id: 'ib', state: 'online', version: '1.2.3', sessions: 2 },
      ],
    });
  });

  test('the reports of an instance that is not live are left out: a dead instance disappears', () => {
    const reports = reportsOf({ ia: { devices: ['aabbccdd0001'], version: '1' }, dead: { devices: ['aabbccdd0009'], version: '1', sessions: 1 } });
    const a = aggregate(reports, ['ia'], OWN, NOW);
    expect(a.status.sessions.map((s) => s.device)).toEqual(['aabbccdd0001']);
    expect(a.info.instances.map((i) => i.id)).toEqual(['ia']);
  });

  test('a device two instances report during a handover is listed once, with the newer status (seq)', () => {
    const reports = new Map<string, InstanceReports>([
      ['ia', { status: { sessions: [session('aabbccdd0001', 7, { instance: 'ia' })] } }],
      ['ib', { status: { sessions: [session('aabbccdd0001', 8, { instance: 'ib' })] } }],
    ]);
    const a = aggregate(reports, ['ia', 'ib'], OWN, NOW);
    expect(a.status.sessions).toEqual([session('aabbccdd0001', 8, { instance: 'ib' })]);
    expect(a.status.count).toBe(1);
  });

  test('a live instance without reports yet is listed with no version and no sessions; no live instance at all is an empty fleet', () => {
    expect(aggregate(new Map(), ['ia'], OWN, NOW).info.instances).toEqual([{ id: 'ia', state: 'online', version: null, sessions: 0 }]);
    expect(aggregate(reportsOf({ ia: { devices: ['aabbccdd0001'] } }), [], OWN, NOW)).toEqual({ status: { sessions: [], count: 0, updated_at: NOW.toISOString() }, info: { ...OWN, sessions: 0, instances: [] } });
  });

  test('10,000 live instances and more sessions than the bound: the aggregate stays bounded and is computed at once', () => {
    const live = Array.from({ length: 10_000 }, (_, i) => `i${i}`);
    const reports = new Map<string, InstanceReports>(live.map((id, i) => [id, { status: { sessions: Array.from({ length: 11 }, (_, k) => session((i * 11 + k).toString(16).padStart(12, '0'))) } }]));
    const started = Date.now();
    const a = aggregate(reports, live, OWN, NOW);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(a.status.count).toBe(MAX_AGGREGATE_SESSIONS);
    expect(a.info.instances).toHaveLength(10_000);
  });
});

describe('the aggregate\'s writer', () => {
  test('the lowest live id in sort order; every instance picks the same one', () => {
    expect(aggregateWriter(['ic', 'ia', 'ib'], 'ib', false)).toBe('ia');
    expect(aggregateWriter(['ic', 'ia', 'ib'], 'ic', false)).toBe('ia');
    expect(aggregateWriter(['i10', 'i9'], 'i9', false)).toBe('i10');
  });

  test('an instance that is leaving is not the writer; alone and leaving, there is none', () => {
    expect(aggregateWriter(['ia', 'ib'], 'ia', true)).toBe('ib');
    expect(aggregateWriter(['ia'], 'ia', true)).toBeUndefined();
    expect(aggregateWriter(['ia'], 'ia', false)).toBe('ia');
  });
});

describe('reading a report (hostile input)', () => {
  test('a status report: its sessions as read, unknown fields passed through', () => {
    expect(parseStatusReport(json({ instance: 'ia', sessions: [session('aabbccdd0001', 3, { extra: true })], count: 1, whatever: 'x' }))).toEqual({ sessions: [session('aabbccdd0001', 3, { extra: true })] });
  });

  test.each([
    ['empty', Buffer.alloc(0)],
    ['not JSON', Buffer.from('{"sessions":')],
    ['JSON but not an object', json([1, 2])],
    ['null', json(null)],
    ['no sessions array', json({ sessions: 'all' })],
    ['oversized', Buffer.concat([Buffer.from('{"sessions":[],"pad":"'), Buffer.alloc(MAX_REPORT_BYTES, 'a'), Buffer.from('"}')])],
  ])('a status report that is %s is unusable (null)', (_what, payload) => {
    expect(parseStatusReport(payload)).toBeNull();
  });

  test('sessions that are not objects with a canonical device id are dropped; at most MAX_SESSIONS_PER_REPORT are taken', () => {
    const bad = [null, 7, 'aabbccdd0001', [], {}, { device: 5 }, { device: 'AA:BB:CC:DD:00:01' }, { device: 'a/b' }, { device: 'bridge' }, { device: '' }];
    expect(parseStatusReport(json({ sessions: [...bad, session('aabbccdd0001')] }))).toEqual({ sessions: [session('aabbccdd0001')] });
    const many = Array.from({ length: MAX_SESSIONS_PER_REPORT + 5 }, (_, i) => ({ device: i.toString(16).padStart(12, '0') }));
    expect(parseStatusReport(json({ sessions: many }))!.sessions).toHaveLength(MAX_SESSIONS_PER_REPORT);
  });

  test('an info report: the version (bounded) and a session count that is a non-negative integer, else 0', () => {
    expect(parseInfoReport(json({ version: '1.0', sessions: 4, config: { x: 1 } }))).toEqual({ version: '1.0', sessions: 4 });
    expect(parseInfoReport(json({ version: 'v'.repeat(1000), sessions: -1 }))).toEqual({ version: 'v'.repeat(64), sessions: 0 });
    expect(parseInfoReport(json({ version: 12, sessions: 1.5 }))).toEqual({ version: null, sessions: 0 });
    expect(parseInfoReport(json({ sessions: 1e300 }))).toEqual({ version: null, sessions: 0 });
    expect(parseInfoReport(Buffer.from('nope'))).toBeNull();
    expect(parseInfoReport(json(['version']))).toBeNull();
    expect(parseInfoReport(Buffer.concat([Buffer.from('{"version":"'), Buffer.alloc(MAX_REPORT_BYTES, 'a'), Buffer.from('"}')]))).toBeNull();
  });

  test('a session with a non-numeric seq still aggregates (ranked below any numeric one)', () => {
    const reports = new Map<string, InstanceReports>([
      ['ia', { status: { sessions: [{ device: 'aabbccdd0001', seq: 'x' }] } }],
      ['ib', { status: { sessions: [{ device: 'aabbccdd0001', seq: 0 }] } }],
    ]);
    expect(aggregate(reports, ['ia', 'ib'], OWN, NOW).status.sessions).toEqual([{ device: 'aabbccdd0001', seq: 0 }]);
  });
});
