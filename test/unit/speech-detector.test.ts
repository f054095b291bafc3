import { rmsOf, SpeechDetector } from '../../src/audio/speech-detector';

describe('SpeechDetector', () => {
  const VOICE = 10 ** (-20 / 20);
  const ROOM = 10 ** (-55 / 20);

  test('starts after onsetMs of voice, holds through short gaps, ends after hangoverMs of quiet', () => {
    const d = new SpeechDetector({ thresholdDb: -40, onsetMs: 20, hangoverMs: 500 });
    expect(d.feed(ROOM, 10)).toBe(false);
    expect(d.feed(VOICE, 10)).toBe(false);
    expect(d.feed(VOICE, 10)).toBe(true);
    for (let i = 0; i < 30; i++) expect(d.feed(ROOM, 10)).toBe(true); // 300 ms between words
    expect(d.feed(VOICE, 10)).toBe(true);
    for (let i = 0; i < 49; i++) expect(d.feed(ROOM, 10)).toBe(true);
    expect(d.feed(ROOM, 10)).toBe(false);
    expect(d.speaking).toBe(false);
  });

  test('a single loud frame (a click) does not start speech when the onset is longer', () => {
    const d = new SpeechDetector({ thresholdDb: -40, onsetMs: 30, hangoverMs: 500 });
    expect([VOICE, ROOM, VOICE, ROOM].map((l) => d.feed(l, 10))).toEqual([false, false, false, false]);
  });

  test('rmsOf', () => {
    expect(rmsOf(new Int16Array(0))).toBe(0);
    expect(rmsOf(new Int16Array(100).fill(16384))).toBeCloseTo(0.5, 5);
  });
});
