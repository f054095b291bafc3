import { AUDIBLE_RMS, HZ_TOLERANCE, Listener, type Heard } from '../support/listener';
import { sharedDaemon } from '../support/shared-daemon';
import { hzOf } from '../support/stack';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];
const HINDI = hzOf('Hindi Pop');
const ROCK = hzOf('Rock One');
const ALL = [...POP, HINDI, ROCK];
const others = (hz: number) => ALL.filter((h) => h !== hz);

describe('queue and repeat, end to end: what the listener hears next', () => {
  const shared = sharedDaemon();

  /** Joins a listener, starts English pop for `device` there, and returns the first tone heard. */
  async function startIn(device: string, room: string): Promise<{ listener: Listener; first: number }> {
    const listener = await Listener.join(room);
    shared.listeners.push(listener);
    const started = await shared.app.command(device, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    expect(started).toMatchObject({ ok: true });
    return { listener, first: await listener.hearTone(POP, 'a pop song') };
  }

  test('enqueued songs play when the current one ends, "next" before "end", then the continuous playlist', async () => {
    const device = 'aa:bb:cc:dd:ee:51';
    const { listener, first } = await startIn(device, 'room-queue');
    const end = await shared.app.command(device, { type: 'enqueue_music', query: 'Rock One' });
    expect(end).toMatchObject({ ok: true, message: 'Queued Rock One at the end of the queue', state: { queued: 1 } });
    const next = await shared.app.command(device, { type: 'enqueue_music', query: 'hindi pop', position: 'next' });
    expect(next).toMatchObject({ ok: true, state: { queued: 2, repeat: 'off', shuffle: true } });
    const q = await shared.app.command(device, { type: 'get_queue', limit: 3 });
    expect(q).toMatchObject({ ok: true, queue: { queued: 2, up_next: [{ title: 'Hindi Pop', queued: true }, { title: 'Rock One', queued: true }, { queued: false }] } });
    expect((q.queue as { up_next: unknown[] }).up_next).toHaveLength(3);
    const changed = await listener.data('music_control', 'music_queue_changed');
    expect(changed).toMatchObject({ action: 'enqueued', title: 'Rock One', position: 'end' });

    // No skip: the pop song plays out, then the queue in its order, then pop again.
    const mark = listener.mark;
    expect(await listener.hearTone(others(first), 'the song enqueued "next"', mark)).toBe(HINDI);
    expect(await listener.hearTone(others(HINDI), 'the song enqueued at the end', listener.mark)).toBe(ROCK);
    expect(POP).toContain(await listener.hearTone(others(ROCK), 'the continuous playlist after the queue', listener.mark));
    await shared.app.command(device, { type: 'stop_continuous_music' });
  }, 60000);

  test('remove_from_queue and clear_queue take songs out of what plays next', async () => {
    const device = 'aa:bb:cc:dd:ee:52';
    const { listener, first } = await startIn(device, 'room-remove');
    await shared.app.command(device, { type: 'enqueue_music', query: 'Hindi Pop' });
    await shared.app.command(device, { type: 'enqueue_music', query: 'Rock One' });
    expect(await shared.app.command(device, { type: 'remove_from_queue', index: 0 })).toMatchObject({ ok: true, message: 'Removed Hindi Pop from the queue', state: { queued: 1 } });
    expect(await shared.app.command(device, { type: 'remove_from_queue', index: 999 })).toMatchObject({ ok: false, error: 'no_match' });
    expect(await shared.app.command(device, { type: 'remove_from_queue', song_id: 'no/such-song' })).toMatchObject({ ok: false, error: 'no_match' });
    let mark = listener.mark;
    await shared.app.command(device, { type: 'skip_music' });
    expect(await listener.hearTone(others(first), 'the song left in the queue', mark)).toBe(ROCK);

    await shared.app.command(device, { type: 'enqueue_music', query: 'Hindi Pop' });
    expect(await shared.app.command(device, { type: 'clear_queue' })).toMatchObject({ ok: true, message: 'Cleared 1 queued song', state: { queued: 0 } });
    mark = listener.mark;
    await shared.app.command(device, { type: 'skip_music' });
    expect(POP).toContain(await listener.hearTone(others(ROCK), 'the continuous playlist after clear_queue', mark));
    await shared.app.command(device, { type: 'stop_continuous_music' });

    // Nothing plays: every queue command is refused, nothing starts.
    for (const body of [{ type: 'enqueue_music', query: 'Rock One' }, { type: 'get_queue' }, { type: 'clear_queue' }, { type: 'set_repeat', mode: 'one' }]) {
      expect(await shared.app.command(device, body)).toMatchObject({ ok: false, error: 'not_playing', state: { state: 'idle' } });
    }
  }, 60000);

  test('repeat one plays the same song again; repeat all loops the enqueued songs', async () => {
    const device = 'aa:bb:cc:dd:ee:53';
    const { listener, first } = await startIn(device, 'room-repeat');
    const song = ((await shared.app.command(device, { type: 'get_status' })).state as { song: { id: string } }).song.id;
    expect(await shared.app.command(device, { type: 'set_repeat', mode: 'one' })).toMatchObject({ ok: true, state: { repeat: 'one' } });
    let mark = listener.mark;
    const again = await listener.data('music_control', 'music_playback_started', mark);
    expect(again.song_id).toBe(song);
    await listener.hearTone([first], 'the repeated song', listener.mark);
    // Across the song boundary nothing else was heard.
    const heardOther = (f: Heard) => (f.rms ?? 0) >= AUDIBLE_RMS && others(first).some((hz) => Math.abs(hz - (f.hz ?? 0)) <= HZ_TOLERANCE);
    expect(listener.lines.items.slice(mark).filter(heardOther)).toEqual([]);

    expect(await shared.app.command(device, { type: 'set_repeat', mode: 'all' })).toMatchObject({ ok: true, state: { repeat: 'all' } });
    await shared.app.command(device, { type: 'enqueue_music', query: 'Hindi Pop' });
    await shared.app.command(device, { type: 'enqueue_music', query: 'Rock One' });
    mark = listener.mark;
    await shared.app.command(device, { type: 'skip_music' });
    expect(await listener.hearTone(others(first), 'the first enqueued song', mark)).toBe(HINDI);
    expect(await listener.hearTone(others(HINDI), 'the second enqueued song', listener.mark)).toBe(ROCK);
    expect(await listener.hearTone(others(ROCK), 'the first one again: the queue loops', listener.mark)).toBe(HINDI);
    await shared.app.command(device, { type: 'stop_continuous_music' });
  }, 60000);
});
