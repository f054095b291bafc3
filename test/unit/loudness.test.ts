import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoudnessCache, LoudnessNormaliser, normalisingGainDb, parseDurationMs, parseEbur128Summary, type Loudness } from '../../src/audio/loudness';
import type { Song } from '../../src/catalog/song';
import { quietLog } from '../support/session-fakes';

const song = (id: string, extra: Partial<Song> = {}): Song => ({ id, title: id, aliases: [], language: 'en', genres: [], url: `https://cdn.example/${id}.mp3?sig=secret`, ...extra });

describe('loudness', () => {
  test('the gain brings a song to the target, never lifting its true peak above -1 dBTP; blind boosts are capped', () => {
    expect(normalisingGainDb({ lufs: -10, peakDb: -0.5 }, -16)).toBe(-6);
    expect(normalisingGainDb({ lufs: -28, peakDb: -14 }, -16)).toBe(12);
    expect(normalisingGainDb({ lufs: -28, peakDb: -6 }, -16)).toBe(5); // the peak allows only +5
    expect(normalisingGainDb({ lufs: -28 }, -16)).toBe(6); // peak unknown: at most +6
    expect(normalisingGainDb({ lufs: -70, peakDb: -60 }, -16)).toBe(20); // never beyond +-20
  });

  test('ffmpeg\'s ebur128 summary is read; anything else is not a loudness', () => {
    const summary = `[Parsed_ebur128_0 @ 0x1] t: 3.9 M: -21.0 S: -21.0 I: -21.0 LUFS\n[Parsed_ebur128_0 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -21.3 LUFS\n    Threshold: -31.3 LUFS\n\n  Loudness range:\n    LRA:         0.0 LU\n\n  True peak:\n    Peak:       -6.1 dBFS\n`;
    expect(parseEbur128Summary(summary)).toEqual({ lufs: -21.3, peakDb: -6.1 });
    expect(parseEbur128Summary('I: -21.0 LUFS')).toBeUndefined(); // no summary
    expect(parseEbur128Summary('Summary:\n I:  -120.7 LUFS')).toBeUndefined(); // silence
    expect(parseEbur128Summary('Summary:\n I:  -20.0 LUFS\n Peak: -inf dBFS')).toEqual({ lufs: -20 });
    // The same decode gives the length, for songs whose catalog entry has none.
    expect(parseEbur128Summary(`size=N/A time=00:00:01.00 bitrate=N/A\rsize=N/A time=00:03:12.45 bitrate=N/A speed=152x\n${summary}`)).toEqual({ lufs: -21.3, peakDb: -6.1, durationMs: 192450 });
    expect(parseDurationMs('time=01:00:00.00')).toBe(3_600_000);
    expect(parseDurationMs('time=00:00:00.00')).toBeUndefined();
    expect(parseDurationMs('no progress')).toBeUndefined();
  });

  test('the cache survives a restart, keyed by song and URL, never storing the URL itself', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'loud-')), 'sub', 'loudness.json');
    const a = new LoudnessCache(file, quietLog());
    a.set(song('x'), { lufs: -20, peakDb: -3 });
    const b = new LoudnessCache(file, quietLog());
    expect(b.get(song('x'))).toEqual({ lufs: -20, peakDb: -3 });
    expect(b.get(song('x', { url: 'https://cdn.example/x-v2.mp3' }))).toBeUndefined(); // a new source
    expect(readFileSync(file, 'utf8')).not.toContain('secret');
    writeFileSync(file, '{not json');
    expect(new LoudnessCache(file, quietLog()).size).toBe(0);
  });

  test('the normaliser uses the catalog value or the cache; an unknown song plays at unity and is measured once, in the background', async () => {
    const measured: string[] = [];
    let finish: (l: Loudness) => void = () => undefined;
    const n = new LoudnessNormaliser({
      targetLufs: -16,
      cache: new LoudnessCache(undefined, quietLog()),
      measure: (s) => {
        measured.push(s.id);
        return new Promise((resolve) => (finish = resolve));
      },
      log: quietLog(),
    });
    expect(n.gainFor(song('cat', { loudnessLufs: -22 }))).toBeCloseTo(10 ** (6 / 20), 6);
    expect(n.gainFor(song('new'))).toBe(1);
    expect(n.gainFor(song('new'))).toBe(1);
    expect(measured).toEqual(['new']); // once, though asked twice
    finish({ lufs: -4, peakDb: -0.2 });
    await new Promise((r) => setImmediate(r));
    expect(n.gainFor(song('new'))).toBeCloseTo(10 ** (-12 / 20), 6);
    expect(n.durationOf(song('new'))).toBeUndefined();
    n.stop();
  });
});
