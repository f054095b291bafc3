import { FleetView, MAX_TRACKED_INSTANCES } from '../../src/mqtt/fleet-view';
import { Topics } from '../../src/mqtt/topics';
import { quietLog } from '../support/session-fakes';

const T = new Topics('mb');
const OWN_INFO = { version: '1.0.0', ffmpeg: '6.1', config: {}, instance: 'ib' };
const session = (device: string, instance: string) => ({ device, state: 'playing', room: `room-${device}`, instance, seq: 1 });
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** A fleet view for instance `me`, its live set set by the test, its publishes recorded. */
function setup(me = 'ib', live: string[] = [me]) {
  const state = { live, leaving: false };
  const sent: Array<{ topic: string; payload: string }> = [];
  let republished = 0;
  const view = new FleetView({ me, topics: T, live: () => state.live, leaving: () => state.leaving, log: quietLog(), now: () => new Date(0), coalesceMs: 60_000 });
  view.connect({ publish: (topic, payload) => sent.push({ topic, payload }), republishOwn: () => republished++ });
  const last = (topic: string) => {
    const m = sent.filter((s) => s.topic === topic).at(-1);
    return m && (m.payload === '' ? '' : (JSON.parse(m.payload) as Record<string, unknown>));
  };
  return { view, state, sent, last, republished: () => republished };
}

describe('FleetView', () => {
  test('the writer (lowest live id) publishes the aggregate of every live instance; the others publish nothing', () => {
    const a = setup('ia', ['ia', 'ib']);
    const b = setup('ib', ['ia', 'ib']);
    for (const t of [a, b]) {
      t.view.markReady();
      t.view.noteReport('ia', 'status', json({ sessions: [session('aabbccdd0001', 'ia')] }));
      t.view.noteReport('ib', 'status', json({ sessions: [session('aabbccdd0002', 'ib')] }));
      t.view.noteReport('ib', 'info', json({ version: '1.0.0', sessions: 1 }));
    }
    a.view.own([session('aabbccdd0001', 'ia')], 1, { ...OWN_INFO, instance: 'ia' });
    b.view.own([session('aabbccdd0002', 'ib')], 1, OWN_INFO);
    a.view.flush();
    b.view.flush();
    expect(b.sent).toEqual([]);
    expect(a.last('mb/bridge/status')).toMatchObject({ count: 2, sessions: [session('aabbccdd0001', 'ia'), session('aabbccdd0002', 'ib')] });
    expect(a.last('mb/bridge/info')).toMatchObject({ version: '1.0.0', sessions: 2, instances: [{ id: 'ia', state: 'online', version: '1.0.0', sessions: 1 }, { id: 'ib', state: 'online', version: '1.0.0', sessions: 1 }] });
  });

  test('one instance alone writes bridge/status and bridge/info from its own sessions, as before', () => {
    const t = setup('ia', ['ia']);
    t.view.markReady();
    t.view.own([session('aabbccdd0001', 'ia')], 1, { ...OWN_INFO, instance: 'ia' });
    t.view.flush();
    expect(t.last('mb/bridge/status')).toEqual({ sessions: [session('aabbccdd0001', 'ia')], count: 1, updated_at: new Date(0).toISOString() });
    expect(t.last('mb/bridge/info')).toEqual({ ...OWN_INFO, instance: 'ia', sessions: 1, instances: [{ id: 'ia', state: 'online', version: '1.0.0', sessions: 1 }] });
  });

  test('nothing is written before the presence read is done (the live set is not known yet)', () => {
    const t = setup('ia', ['ia']);
    t.view.own([], 0, OWN_INFO);
    t.view.noteReport('gone', 'status', json({ sessions: [] }));
    t.view.flush();
    expect(t.sent).toEqual([]);
  });

  test('a dead instance: the writer drops it from the aggregate and clears its retained reports, once', () => {
    const t = setup('ib', ['ia', 'ib']);
    t.view.markReady();
    t.view.own([session('aabbccdd0002', 'ib')], 1, OWN_INFO);
    t.view.noteReport('ia', 'status', json({ sessions: [session('aabbccdd0001', 'ia')] }));
    t.view.noteReport('ia', 'info', json({ version: '1.0.0', sessions: 1 }));
    t.view.flush();
    expect(t.sent).toEqual([]); // ia writes
    t.state.live = ['ib']; // ia's will
    t.view.liveChanged();
    t.view.flush();
    expect(t.last('mb/bridge/instances/ia/status')).toBe('');
    expect(t.last('mb/bridge/instances/ia/info')).toBe('');
    expect(t.last('mb/bridge/status')).toMatchObject({ count: 1, sessions: [session('aabbccdd0002', 'ib')] });
    expect(t.last('mb/bridge/info')).toMatchObject({ sessions: 1, instances: [{ id: 'ib' }] });
    const clears = t.sent.filter((s) => s.payload === '').length;
    t.view.noteReport('ia', 'status', Buffer.alloc(0)); // the clears echoed back
    t.view.noteReport('ia', 'info', Buffer.alloc(0));
    t.view.flush();
    expect(t.sent.filter((s) => s.payload === '').length).toBe(clears);
    expect(t.view.tracked).toBe(1);
  });

  test('a stale report of an instance that is offline at start-up is cleared by the writer; an unusable one too', () => {
    const t = setup('ia', ['ia']);
    t.view.noteReport('old', 'status', json({ sessions: [session('aabbccdd0001', 'old')] }));
    t.view.noteReport('junk', 'info', Buffer.from('not json'));
    t.view.markReady();
    t.view.own([], 0, OWN_INFO);
    t.view.flush();
    expect(t.last('mb/bridge/instances/old/status')).toBe('');
    expect(t.last('mb/bridge/instances/junk/info')).toBe('');
    expect(t.last('mb/bridge/status')).toMatchObject({ count: 0, sessions: [] });
  });

  test('an instance draining is not the writer; a clean stop clears its own reports, and the last instance leaves an empty aggregate', () => {
    const t = setup('ia', ['ia', 'ib']);
    t.view.markReady();
    t.view.own([session('aabbccdd0001', 'ia')], 1, OWN_INFO);
    t.state.leaving = true;
    t.view.flush();
    expect(t.sent).toEqual([]);
    t.view.stop();
    expect(t.sent).toEqual([
      { topic: 'mb/bridge/instances/ia/status', payload: '' },
      { topic: 'mb/bridge/instances/ia/info', payload: '' },
    ]);

    const alone = setup('ia', ['ia']);
    alone.view.markReady();
    alone.view.own([session('aabbccdd0001', 'ia')], 1, OWN_INFO);
    alone.view.stop();
    expect(alone.last('mb/bridge/status')).toMatchObject({ sessions: [], count: 0 });
    expect(alone.last('mb/bridge/info')).toMatchObject({ sessions: 0, instances: [] });
    expect(alone.last('mb/bridge/instances/ia/status')).toBe('');
    alone.view.own([], 0, OWN_INFO); // a late status after the stop
    alone.view.flush();
    expect(alone.sent.at(-1)?.topic).toBe('mb/bridge/instances/ia/info');
  });

  test('its own reports cleared by a writer while it runs: it publishes them again; not once it stops', () => {
    const t = setup('ib', ['ia', 'ib']);
    t.view.markReady();
    t.view.noteReport('ib', 'status', Buffer.alloc(0));
    expect(t.republished()).toBe(1);
    // Its own retained report read back is not taken over the local copy.
    t.view.noteReport('ib', 'status', json({ sessions: [session('aabbccdd0009', 'ib')] }));
    t.view.stop();
    t.view.noteReport('ib', 'status', Buffer.alloc(0));
    expect(t.republished()).toBe(1);
  });

  test('hostile reports: bad instance ids are ignored, 10,000 made-up instances are bounded, and a live newcomer still finds room', () => {
    const t = setup('ia', ['ia']);
    t.view.markReady();
    for (const id of ['', 'a/b', '+', '#', 'x'.repeat(65), 'é']) t.view.noteReport(id, 'status', json({ sessions: [] }));
    expect(t.view.tracked).toBe(0);
    for (let i = 0; i < 10_000; i++) t.view.noteReport(`fake${i}`, 'status', json({ sessions: [session('aabbccdd0001', `fake${i}`)] }));
    expect(t.view.tracked).toBe(MAX_TRACKED_INSTANCES);
    t.state.live = ['ia', 'newcomer'];
    t.view.noteReport('newcomer', 'status', json({ sessions: [session('aabbccdd0002', 'newcomer')] }));
    expect(t.view.tracked).toBe(MAX_TRACKED_INSTANCES);
    t.view.own([], 0, OWN_INFO);
    t.view.flush();
    expect(t.last('mb/bridge/status')).toMatchObject({ count: 1, sessions: [session('aabbccdd0002', 'newcomer')] });
    // The writer clears every tracked made-up instance's report and forgets it.
    expect(t.view.tracked).toBe(2);
  });

  test('reports arriving together make one aggregate (coalesced)', () => {
    jest.useFakeTimers();
    try {
      const sent: string[] = [];
      const view = new FleetView({ me: 'ia', topics: T, live: () => ['ia', 'ib'], leaving: () => false, log: quietLog(), coalesceMs: 100 });
      view.connect({ publish: (topic) => sent.push(topic), republishOwn: () => undefined });
      view.markReady();
      for (let i = 0; i < 50; i++) view.noteReport('ib', 'status', json({ sessions: [] }));
      view.own([], 0, OWN_INFO);
      expect(sent).toEqual([]);
      jest.advanceTimersByTime(100);
      expect(sent).toEqual(['mb/bridge/status', 'mb/bridge/info']);
    } finally {
      jest.useRealTimers();
    }
  });
});
