import { START_PHASES } from '../../src/ops/start-timings';
import { Daemon } from '../support/daemon';
import { Listener } from '../support/listener';
import { AppClient } from '../support/mqtt-client';
import { hzOf } from '../support/stack';

const POP = [hzOf('Pop One'), hzOf('Pop Two'), hzOf('Pop Three')];

/** Where a start's time goes, as one debug line per start (the bench's burst mode reads it). */
describe('start timings', () => {
  test('one "start timings" line per start, every phase in order (no decoder phase: the first song opens while joining), summing to the total; later songs add none', async () => {
    const daemon = await Daemon.start();
    const app = await AppClient.connect(daemon.baseTopic);
    const room = 'room-start-timings';
    const listener = await Listener.join(room);
    try {
      expect(await app.command('aabbccddee71', { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room })).toMatchObject({ ok: true });
      const first = await listener.hearTone(POP, 'the first song');
      const line = await daemon.lines.next((l) => l.message === 'start timings' && l.room === room, 'start timings', 10000);
      // The first song was opened while the room was joined: no `decoder` phase, every other one.
      expect(line.decoder_ms).toBeUndefined();
      const phases = START_PHASES.filter((p) => p !== 'decoder').map((p) => line[`${p}_ms`]);
      expect(phases.every((ms) => typeof ms === 'number' && ms >= 0)).toBe(true);
      const sum = (phases as number[]).reduce((a, b) => a + b, 0);
      // Each phase is rounded on its own: the sum may be off the total by half a ms per phase.
      expect(Math.abs(sum - (line.total_ms as number))).toBeLessThanOrEqual(START_PHASES.length);

      const mark = listener.mark;
      expect(await app.command('aabbccddee71', { type: 'skip_music' })).toMatchObject({ ok: true });
      await listener.hearTone(POP.filter((hz) => hz !== first), 'the next song', mark);
      expect(daemon.lines.items.filter((l) => l.message === 'start timings' && l.room === room)).toHaveLength(1);
    } finally {
      await listener.stop();
      await app.close();
      await daemon.stop();
    }
  }, 60000);
});
