import { StartTimings } from '../../src/ops/start-timings';

describe('start timings', () => {
  function clocked() {
    let t = 0;
    const timings = new StartTimings(() => t);
    return { timings, at: (ms: number) => (t = ms) };
  }

  it('reports ms per phase marked, in order, and the total', () => {
    const { timings, at } = clocked();
    timings.begin('r');
    at(5);
    timings.mark('r', 'join_slot');
    at(15);
    timings.mark('r', 'token');
    at(215);
    timings.mark('r', 'connected');
    at(300);
    timings.mark('r', 'published');
    at(310);
    timings.marking('r', 'decoder', (x: number) => x * 2)(21);
    at(400);
    expect(timings.finish('r', 'first_frame')).toEqual({ join_slot_ms: 5, token_ms: 10, connected_ms: 200, published_ms: 85, decoder_ms: 10, first_frame_ms: 90, total_ms: 400 });
    expect(timings.inProgress).toBe(0);
  });

  it('keeps the first mark of a phase (a later song, a rejoin) and skips phases never marked', () => {
    const { timings, at } = clocked();
    timings.begin('r');
    at(10);
    timings.mark('r', 'decoder');
    at(50);
    timings.mark('r', 'decoder');
    expect(timings.finish('r', 'first_frame')).toEqual({ decoder_ms: 10, first_frame_ms: 40, total_ms: 50 });
  });

  it('marks nothing and reports nothing for a room without a start in progress', () => {
    const { timings } = clocked();
    timings.mark('r', 'token');
    expect(timings.finish('r')).toBeUndefined();
    expect(timings.inProgress).toBe(0);
  });

  it('stays bounded: starts that never finish are dropped once stale or beyond the cap', () => {
    const { timings, at } = clocked();
    for (let i = 0; i < 5000; i++) timings.begin(`r${i}`);
    expect(timings.inProgress).toBeLessThanOrEqual(2000);
    at(200_000);
    timings.begin('late');
    expect(timings.inProgress).toBe(1);
  });
});
