import { Listener } from '../support/listener';
import { sharedDaemon } from '../support/shared-daemon';
import { hzOf } from '../support/stack';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];
const BOT = 'music-bridge';

describe('continuous music, end to end (real Mosquitto, LiveKit server and listener)', () => {
  const shared = sharedDaemon();

  async function listen(room: string): Promise<Listener> {
    const l = await Listener.join(room);
    shared.listeners.push(l);
    return l;
  }

  test('the seed messages start, skip and stop music that the listener hears', async () => {
    const room = 'room-seed';
    const listener = await listen(room);

    const started = await shared.app.command('aa:bb:cc:dd:ee:01', { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    expect(started).toMatchObject({ ok: true, command: 'start_continuous_music', session_id: room, device: 'aabbccddee01' });
    expect((started.state as { state: string }).state).toBe('playing');

    const first = await listener.hearTone(POP, 'a pop song');
    const confirm = await listener.data('music_control', 'continuous_music_started');
    expect(confirm).toMatchObject({ language: 'English', genre: 'pop' });
    await listener.data('music_control', 'music_playback_started');

    const mark = listener.mark;
    const skipped = await shared.app.command('aa:bb:cc:dd:ee:01', { type: 'skip_music', session_id: room });
    expect(skipped).toMatchObject({ ok: true, message: 'Skipped to next song' });
    const second = await listener.hearTone(POP.filter((hz) => hz !== first), 'a different pop song after skip', mark);
    expect(second).not.toBe(first);
    await listener.data('music_control', 'music_skipped', mark);

    const stopMark = listener.mark;
    const stopped = await shared.app.command('aa:bb:cc:dd:ee:01', { type: 'stop_continuous_music', session_id: room });
    expect(stopped).toMatchObject({ ok: true });
    expect((stopped.state as { state: string }).state).toBe('idle');
    await listener.data('music_control', 'continuous_music_stopped', stopMark);
    await listener.lines.next((h) => h.event === 'participant_left' && h.identity === BOT, 'the bot leaves', 10000, stopMark);
    await shared.app.status('aa:bb:cc:dd:ee:01', (s) => s.state === 'idle', 'idle status');

    const again = await shared.app.command('aa:bb:cc:dd:ee:01', { type: 'stop_continuous_music', session_id: room });
    expect(again).toMatchObject({ ok: true, message: 'Music streaming is not active' });
  });

  test('songs follow each other: the playlist never runs dry', async () => {
    const room = 'room-refill';
    const listener = await listen(room);
    await shared.app.command('aa:bb:cc:dd:ee:02', { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    // Four songs back to back: more than the three-song pool, so the playlist refilled.
    let from = listener.mark;
    let last = 0;
    for (let i = 0; i < 4; i++) {
      last = await listener.hearTone(POP.filter((hz) => hz !== last), `song ${i + 1}`, from, 15000);
      from = listener.mark;
    }
    await shared.app.command('aa:bb:cc:dd:ee:02', { type: 'stop_continuous_music', session_id: room });
    // Every song played whole: a prefetched decoder must not lose its audio before it plays.
    expect(shared.daemon.lines.items.filter((l) => l.device === 'aabbccddee02' && l.message.startsWith('song failed'))).toEqual([]);
  }, 60000);

  test('two devices play different music in their own rooms at once', async () => {
    const [l1, l2] = await Promise.all([listen('room-a'), listen('room-b')]);
    const [r1, r2] = await Promise.all([
      shared.app.command('aa:bb:cc:dd:ee:03', { type: 'start_continuous_music', language: 'English', genre: 'rock', session_id: 'room-a' }),
      shared.app.command('aa:bb:cc:dd:ee:04', { type: 'start_continuous_music', language: 'Hindi', session_id: 'room-b' }),
    ]);
    expect(r1.ok && r2.ok).toBe(true);
    expect(await l1.hearTone([hzOf('Rock One')], 'rock in room a')).toBe(hzOf('Rock One'));
    expect(await l2.hearTone([hzOf('Hindi Pop')], 'Hindi in room b')).toBe(hzOf('Hindi Pop'));
    // Each room hears only its own music.
    const mark1 = l1.mark;
    await l1.hearTone([hzOf('Rock One')], 'still rock in room a', mark1);
    expect(l1.frames.filter((f) => (f.rms ?? 0) > 0.02 && Math.abs((f.hz ?? 0) - hzOf('Hindi Pop')) < 12)).toHaveLength(0);

    await shared.app.command('aa:bb:cc:dd:ee:03', { type: 'stop_continuous_music' });
    const mark2 = l2.mark;
    await l2.hearTone([hzOf('Hindi Pop')], 'room b keeps playing after room a stopped', mark2);
    await shared.app.command('aa:bb:cc:dd:ee:04', { type: 'stop_continuous_music' });
  }, 60000);
});
