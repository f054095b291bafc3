import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AUDIBLE_RMS, type Listener } from '../support/listener';
import type { AppClient } from '../support/mqtt-client';
import { testScope } from '../support/scope';
import { toneCatalog } from './audio-support';
import { CatalogServer } from './catalog-support';

const SONGS = [500, 700];
const FALLBACK = 300;
const OUTAGE_MS = 20_000;
const DEVICE = 'aabbccddee71';

/**
 * The song host answers 500 for 20 s, then serves the songs again: the session
 * goes degraded instead of ending, the room hears the fallback meanwhile (or silence), and the
 * playlist comes back by itself, without any new command.
 */
describe('source outage: the CDN answers 500 for 20 s (real daemon, LiveKit and listener)', () => {
  const { daemon: startDaemon, listen, defer } = testScope();

  /** A local manifest whose songs are fetched from `server`, which answers 500 for them until `up()`. */
  async function outageCatalog(name: string): Promise<{ manifest: string; server: CatalogServer; up: () => void }> {
    const manifest = await toneCatalog(name, [
      { title: 'Low', language: 'Test', genres: ['cdn'], hz: SONGS[0]!, seconds: 4, format: 'mp3' },
      { title: 'High', language: 'Test', genres: ['cdn'], hz: SONGS[1]!, seconds: 4, format: 'mp3' },
    ]);
    const server = await CatalogServer.start();
    defer(() => server.stop());
    const catalog = JSON.parse(readFileSync(manifest, 'utf8')) as { songs: Array<Record<string, unknown>> };
    const files = catalog.songs.map((s) => String(s.file));
    for (const f of files) server.routes.set(`/cdn/${f}`, { status: 500 });
    catalog.songs = catalog.songs.map(({ file, ...s }) => ({ ...s, url: server.url(`/cdn/${String(file)}`) }));
    writeFileSync(manifest, JSON.stringify(catalog));
    const up = (): void => files.forEach((f) => server.routes.set(`/cdn/${f}`, { file: join(dirname(manifest), f) }));
    return { manifest, server, up };
  }

  async function fallbackDir(): Promise<string> {
    const manifest = await toneCatalog('fallback', [{ title: 'Hold', language: 'Test', genres: ['x'], hz: FALLBACK, seconds: 3, format: 'mp3' }]);
    return dirname(manifest); // a directory of audio files (its catalog.json is not audio and is ignored)
  }

  /** Starts the outage clock with the start command; the host is back `OUTAGE_MS` later. */
  async function startDuringOutage(app: AppClient, room: string, up: () => void): Promise<number> {
    const reply = await app.command(DEVICE, { type: 'start_continuous_music', session_id: room });
    expect(reply).toMatchObject({ ok: true });
    const startedAt = Date.now();
    const timer = setTimeout(up, OUTAGE_MS);
    defer(() => clearTimeout(timer));
    return startedAt;
  }

  async function degradedStatus(app: AppClient): Promise<void> {
    const status = await app.status(DEVICE, (s) => s.state === 'degraded', 'status degraded', 0, 15000);
    expect(status.json).toMatchObject({ state: 'degraded', error: 'http 500', room: expect.any(String) });
  }

  /** After the host is back: the songs are heard again, music_recovered arrives, the status plays. */
  async function recovers(app: AppClient, l: Listener, startedAt: number): Promise<void> {
    const recovered = await l.data('music_control', 'music_recovered', 0, OUTAGE_MS + 30_000);
    expect(recovered).toMatchObject({ type: 'music_recovered' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(OUTAGE_MS - 1000);
    const mark = l.mark;
    await l.hearTone(SONGS, 'the catalog songs again, with no new command', Math.max(0, mark - 300), 20000);
    await app.status(DEVICE, (s) => s.state === 'playing' && s.error === null, 'status playing again', 0, 15000);
    const songHeard = new Set<number>();
    const from = l.mark;
    await l.lines.until(
      (items) => {
        for (const h of items.slice(from)) if (h.rms !== undefined && h.rms >= AUDIBLE_RMS) for (const hz of SONGS) if (Math.abs((h.hz ?? 0) - hz) <= 12) songHeard.add(hz);
        return songHeard.size === 2;
      },
      'both songs of the playlist (it goes on by itself)',
      20000,
    );
  }

  test('with a fallback: the listener hears the fallback tone during the outage, the status says degraded, and the catalog songs come back by themselves', async () => {
    const { manifest, up } = await outageCatalog('outage-fallback');
    const { daemon, app } = await startDaemon({
      catalog: { location: manifest, fallback: await fallbackDir() },
      audio: { maxFailuresInRow: 3, sourceRetryBaseMs: 1000, sourceRetryMaxMs: 4000 },
    });
    const l = await listen('outage-fallback');
    const startedAt = await startDuringOutage(app, 'outage-fallback', up);

    const degraded = await l.data('music_control', 'music_degraded');
    expect(degraded).toMatchObject({ error: 'http 500' });
    await degradedStatus(app);
    await l.hearTone([FALLBACK], 'the fallback tone while the host answers 500');
    // Most of the outage is filled by the fallback: only the retries' fades interrupt it.
    const outageFrom = l.mark;
    await l.data('music_control', 'music_recovered', 0, OUTAGE_MS + 30_000);
    const during = l.lines.items.slice(outageFrom).filter((h) => h.rms !== undefined);
    const fallbackFrames = during.filter((h) => (h.rms ?? 0) >= AUDIBLE_RMS && Math.abs((h.hz ?? 0) - FALLBACK) <= 12).length;
    const songFrames = during.filter((h) => (h.rms ?? 0) >= AUDIBLE_RMS && SONGS.some((hz) => Math.abs((h.hz ?? 0) - hz) <= 12)).length;
    expect(songFrames).toBeLessThan(50); // no catalog song before the host was back (what a recovery plays first is after the mark by < 0.5 s)
    expect(fallbackFrames).toBeGreaterThan(0.9 * during.length); // measured: 2067 of 2083 frames

    await recovers(app, l, startedAt);
    expect(daemon.lines.items.some((x) => x.message === 'session ended')).toBe(false);
    expect(daemon.lines.items.find((x) => x.message === 'song source down; retrying with back-off')).toMatchObject({ cause: 'http 500', fallback: 1 });
    expect(daemon.lines.items.some((x) => x.message === 'song source back; playlist resumed')).toBe(true);
  }, 120000);

  test('without a fallback: the room is silent during the outage but the session stays, and the music resumes by itself', async () => {
    const { manifest, up } = await outageCatalog('outage-silent');
    const { daemon, app } = await startDaemon({
      catalog: { location: manifest },
      audio: { maxFailuresInRow: 3, sourceRetryBaseMs: 1000, sourceRetryMaxMs: 4000 },
    });
    const l = await listen('outage-silent');
    const startedAt = await startDuringOutage(app, 'outage-silent', up);
    expect(await l.data('music_control', 'music_degraded')).toMatchObject({ error: 'http 500' });
    await degradedStatus(app);
    // Three seconds of silence into the outage, the session is still there, degraded, not ended.
    await l.hearSilence('silence while the host answers 500', 0, 15000, 300);
    expect(Date.now() - startedAt).toBeLessThan(OUTAGE_MS);
    expect(daemon.lines.items.some((x) => x.message === 'session ended')).toBe(false);
    await recovers(app, l, startedAt);
    const states = app.messages.items.filter((m) => m.topic.endsWith('/status')).map((m) => m.json?.state);
    expect(states).not.toContain('error');
  }, 120000);
});
