import { PassThrough } from 'node:stream';
import { MusicTrack, type MusicTrackOptions } from '../../src/livekit/music-track';
import { createLogger } from '../../src/ops/logger';
import { deferred, FakeParticipant, fakeOutputs, flush } from './rtc-fakes';

function logged(): { log: MusicTrackOptions['log']; lines: () => Array<Record<string, unknown>> } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  return {
    log: createLogger('debug', out),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function setup(extra: Partial<MusicTrackOptions> = {}) {
  const participant = new FakeParticipant();
  const outputs = fakeOutputs();
  const logs = logged();
  const track = new MusicTrack(participant, {
    format: { sampleRate: 48000, channels: 1 },
    queueMs: 200,
    bitrate: 96000,
    timeoutMs: 1000,
    log: logs.log,
    createOutput: outputs.create,
    ...extra,
  });
  return { participant, outputs, track, logs };
}

describe('MusicTrack', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test('publish failure closes the source and the track and publishes nothing', async () => {
    const { participant, outputs, track } = setup();
    const outcome = deferred<{ sid?: string }>();
    participant.publishOutcomes.push(outcome);
    outcome.reject(new Error('engine: publishing rejected'));
    await expect(track.publish()).rejects.toThrow('publishing rejected');
    expect(outputs.made).toHaveLength(1);
    expect(outputs.made[0]!.source.closed).toBe(true);
    expect(outputs.made[0]!.track.closed).toBe(true);
    expect(participant.published).toEqual([]);
    await expect(track.capture(new Int16Array(960))).rejects.toThrow('not published');
  });

  test('a publish that times out is closed, and unpublished when it completes late', async () => {
    const { participant, outputs, track } = setup();
    const outcome = deferred<{ sid?: string }>();
    participant.publishOutcomes.push(outcome);
    jest.useFakeTimers();
    const publishing = track.publish().then(() => 'published', (err: Error) => err.message);
    await jest.advanceTimersByTimeAsync(1000);
    expect(await publishing).toMatch(/publishing the music track timed out after 1000 ms/);
    expect(outputs.made[0]!.source.closed).toBe(true);
    outcome.resolve({ sid: 'TR_late' });
    await flush();
    expect(participant.unpublished).toEqual(['TR_late']);
    expect(participant.published).toEqual([]);
  });

  test('capture sends a fresh copy: a view with a byteOffset is not read from the start of its buffer', async () => {
    const { outputs, track } = setup();
    await track.publish();
    const backing = new Int16Array(2000).map((_, i) => i);
    const view = backing.subarray(1000, 1960); // byteOffset 2000
    await track.capture(view);
    const frame = outputs.made[0]!.source.frames[0]!;
    expect(frame.data).not.toBe(view);
    expect(frame.data.byteOffset).toBe(0);
    expect(frame.data.buffer.byteLength).toBe(960 * 2);
    expect(Array.from(frame.data.slice(0, 3))).toEqual([1000, 1001, 1002]);
    expect(frame.samplesPerChannel).toBe(960);
    backing.fill(0); // the caller reusing its buffer does not change what was sent
    expect(frame.data[0]).toBe(1000);
  });

  test('a capture that hangs fails after a bounded wait', async () => {
    const { outputs, track } = setup();
    await track.publish();
    outputs.made[0]!.source.captureGate = deferred();
    jest.useFakeTimers();
    const capturing = track.capture(new Int16Array(960)).then(() => 'captured', (err: Error) => err.message);
    await jest.advanceTimersByTimeAsync(200 + 2000);
    expect(await capturing).toMatch(/capturing a frame timed out/);
  });

  test('republish after the SDK republished under a new SID: the stale-SID error is logged and the dead track is taken down', async () => {
    const { participant, outputs, track, logs } = setup();
    await track.publish();
    expect(participant.published.map((p) => p.sid)).toEqual(['TR_1']);
    participant.sdkRepublished(); // the SDK's full reconnect: our SID TR_1 is now TR_2 on the server
    await track.republish();
    // Only the fresh track is published; the dead one is gone.
    expect(participant.published).toHaveLength(1);
    expect(participant.published[0]!.track).toBe(outputs.made[1]!.track);
    expect(participant.unpublished).toEqual(['TR_1', 'TR_2']);
    expect(outputs.made[0]!.track.closed).toBe(true);
    expect(outputs.made[0]!.source.closed).toBe(true);
    expect(outputs.made[1]!.source.closed).toBe(false);
    const warned = logs.lines().find((l) => l.message === 'unpublishing the music track failed');
    expect(warned).toMatchObject({ level: 'warn', sid: 'TR_1', error: 'track not found: TR_1' });
    await track.capture(new Int16Array(960));
    expect(outputs.made[1]!.source.frames).toHaveLength(1);
  });

  test('republish with nothing stale unpublishes once and publishes once', async () => {
    const { participant, outputs, track, logs } = setup();
    await track.publish();
    await track.republish();
    expect(participant.unpublished).toEqual(['TR_1']);
    expect(participant.published.map((p) => p.sid)).toEqual(['TR_2']);
    expect(outputs.made[0]!.source.closed).toBe(true);
    expect(logs.lines().filter((l) => l.level === 'warn')).toEqual([]);
  });

  test('unpublish is bounded when the server never answers, and still closes source and track', async () => {
    const { participant, outputs, track } = setup();
    await track.publish();
    jest.spyOn(participant, 'unpublishTrack').mockImplementation(() => new Promise<void>(() => undefined));
    jest.useFakeTimers();
    const unpublishing = track.unpublish();
    await jest.advanceTimersByTimeAsync(1000);
    await unpublishing;
    expect(outputs.made[0]!.source.closed).toBe(true);
    expect(outputs.made[0]!.track.closed).toBe(true);
  });

  test('clear and drain reach the source; drain is bounded', async () => {
    const { outputs, track } = setup();
    await track.publish();
    track.clear();
    expect(outputs.made[0]!.source.cleared).toBe(1);
    jest.spyOn(outputs.made[0]!.source, 'waitForPlayout').mockImplementation(() => new Promise<void>(() => undefined));
    jest.useFakeTimers();
    const draining = track.drain();
    await jest.advanceTimersByTimeAsync(700);
    await expect(draining).resolves.toBeUndefined();
  });
});
