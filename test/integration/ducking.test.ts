import installer from '@ffmpeg-installer/ffmpeg';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIBLE_RMS } from '../support/listener';
import { JsonProcess } from '../support/processes';
import { LIVEKIT_KEY, LIVEKIT_SECRET, ROOT, stackInfo } from '../support/stack';
import { daemonAndListener, median, toneCatalog, toneFrames, type ToneFrame } from './audio-support';

const MUSIC_HZ = 440;
const BOT = 'music-bridge';
const SPEAKER = 'phone-user';
const dB = (ratio: number) => 20 * Math.log10(ratio);

/** Speech rendered by espeak-ng (scripts/setup-stack.sh installs it), as 48 kHz mono s16le. */
function renderSpeech(dir: string): string {
  const wav = join(dir, 'speech.wav');
  const pcm = join(dir, 'speech.pcm');
  execFileSync('espeak-ng', ['-s', '160', '-w', wav, 'Hey, can you turn the music down a little? I want to ask about the weather in Berlin tomorrow morning.']);
  execFileSync(installer.path, ['-v', 'error', '-y', '-i', wav, '-f', 's16le', '-ac', '1', '-ar', '48000', pcm]);
  return pcm;
}

/**
 * Ducking under speech on the real stack: a participant publishes speech with rtc-node (open mic:
 * silence before and after), the listener hears the bot's music and the speech as separate tracks
 * (`from`), and the music's level is its tone's level per 10 ms frame.
 */
describe('ducking: the music goes down while someone in the room speaks', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  test('down by at least 10 dB within 300 ms of the speech, back within 1.5 s of its end, no click', async () => {
    const dir = mkdtempSync(join(stackInfo().workDir, 'duck-'));
    const pcm = renderSpeech(dir);
    const catalog = await toneCatalog('duck', [{ title: 'Long Tone', language: 'Test', genres: ['duck'], hz: MUSIC_HZ, seconds: 40, format: 'mp3' }]);
    // The music already queued in LiveKit (audio.queueMs) plays before any ducked frame: detection
    // takes 60-110 ms, so the default 200 ms queue lands at 260-310 ms (measured); 100 ms keeps the
    // drop within 300 ms of the speech (docs/audio.md).
    const room = 'duck-room';
    const { app, listener } = await daemonAndListener({ catalog, audio: { queueMs: 100 }, room, tones: [MUSIC_HZ], cleanup });
    const speaker = new JsonProcess<{ t: number; event: string }>([stackInfo().livekitUrl, room, SPEAKER, pcm], { LIVEKIT_API_KEY: LIVEKIT_KEY, LIVEKIT_API_SECRET: LIVEKIT_SECRET }, { script: join(ROOT, 'test', 'support', 'speaker-process.mjs'), stdin: 'pipe' });
    cleanup.push(() => speaker.stop());
    await speaker.lines.next((l) => l.event === 'joined', 'the speaker joined', 20000);

    const started = await app.command('aabbccddeed1', { type: 'start_continuous_music', session_id: room });
    expect(started).toMatchObject({ ok: true, state: { ducking: true, ducked: false } });
    const music = (from = 0): ToneFrame[] => toneFrames(listener, from).filter((f) => f.from === BOT);
    const speech = (from = 0): ToneFrame[] => toneFrames(listener, from).filter((f) => f.from === SPEAKER);
    // A second of steady music first.
    await listener.lines.until(() => music().filter((f) => f.rms >= AUDIBLE_RMS).length >= 100, 'a second of music', 20000);
    const steady = median(music().slice(-50).map((f) => f.tones[String(MUSIC_HZ)]!));

    const mark = listener.mark;
    speaker.proc.stdin!.write('speak\n');
    const speechStart = (await listener.lines.next((h) => h.from === SPEAKER && (h.rms ?? 0) >= AUDIBLE_RMS, 'the speech heard', 10000, mark)).t;
    const ducked = await listener.lines.next((h) => h.from === BOT && (h as ToneFrame).tones?.[String(MUSIC_HZ)] !== undefined && (h as ToneFrame).tones[String(MUSIC_HZ)]! <= steady * 10 ** (-10 / 20), 'the music 10 dB down', 5000, mark);
    await app.status('aabbccddeed1', (s) => s.ducked === true, 'the status says ducked');
    await speaker.lines.next((l) => l.event === 'spoken', 'the speech sent', 20000);
    // The end of the speech as heard: the last audible speech frame before half a second of silence.
    await listener.lines.until(() => {
      const s = speech(mark);
      const last = s.map((f) => f.rms >= AUDIBLE_RMS).lastIndexOf(true);
      return last >= 0 && s.length - last > 50;
    }, 'the speech over', 10000);
    const spoken = speech(mark);
    const speechEnd = spoken[spoken.map((f) => f.rms >= AUDIBLE_RMS).lastIndexOf(true)]!.t;
    const back = await listener.lines.next((h) => h.from === BOT && h.t > speechEnd && ((h as ToneFrame).tones?.[String(MUSIC_HZ)] ?? 0) >= steady * 10 ** (-1 / 20), 'the music back up', 5000, mark);
    await app.status('aabbccddeed1', (s) => s.ducked === false, 'the status says not ducked');
    // Some music after it, for the click check across the whole release.
    await listener.lines.until(() => music(mark).filter((f) => f.t > back.t).length >= 30, 'music after the release', 5000);

    const heard = music(mark);
    const ducking = heard.filter((f) => f.t > ducked.t + 100 && f.t < speechEnd);
    const depth = dB(median(ducking.map((f) => f.tones[String(MUSIC_HZ)]!)) / steady);
    process.stdout.write(`ducking: down ${(ducked.t - speechStart).toFixed(0)} ms after the speech started (depth ${depth.toFixed(1)} dB), back ${(back.t - speechEnd).toFixed(0)} ms after it ended\n`);
    expect(ducked.t - speechStart).toBeLessThanOrEqual(300);
    expect(depth).toBeLessThanOrEqual(-10);
    expect(back.t - speechEnd).toBeLessThanOrEqual(1500);
    // No click: never louder than the music was, and the energy outside the tone stays far below it
    // (the criterion of the click-free skips in audio-transitions.test.ts; a cut is about 0.5).
    expect(Math.max(...heard.map((f) => f.rms))).toBeLessThan(steady * Math.SQRT2 * 1.1);
    const residue = heard.map((f) => Math.sqrt(Math.max(0, f.rms ** 2 - f.tones[String(MUSIC_HZ)]! ** 2)));
    process.stdout.write(`ducking: largest residue outside the tone ${(Math.max(...residue) / steady).toFixed(3)} of the music\n`);
    expect(Math.max(...residue)).toBeLessThan(0.25 * steady);
  }, 90000);
});
