import installer from '@ffmpeg-installer/ffmpeg';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeFfmpeg } from '../../src/audio/ffmpeg-path';
import { loadFallback } from '../../src/catalog/fallback';

describe('probeFfmpeg: the version and options of the ffmpeg in use, once at start-up', () => {
  test('the bundled 2018 build: its version, and no -max_redirects', async () => {
    const info = await probeFfmpeg(installer.path);
    expect(info.version).toMatch(/^N-\d+-g[0-9a-f]+/);
    expect(info.maxRedirects).toBe(false);
  });

  (existsSync('/usr/bin/ffmpeg') ? test : test.skip)("the distribution's ffmpeg has -max_redirects", async () => {
    const info = await probeFfmpeg('/usr/bin/ffmpeg');
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(info.maxRedirects).toBe(true);
  });

  test('a binary that is not there (or hangs) gives "unknown" within the bound, never throws', async () => {
    expect(await probeFfmpeg('/nonexistent/ffmpeg')).toEqual({ path: '/nonexistent/ffmpeg', version: 'unknown', maxRedirects: false });
    // A wrapper script that hangs, and whose child keeps the pipes open after the script is killed.
    const hang = join(mkdtempSync(join(tmpdir(), 'hang-')), 'ffmpeg');
    writeFileSync(hang, '#!/bin/sh\nsleep 5\n', { mode: 0o755 });
    const t = Date.now();
    expect((await probeFfmpeg(hang, 300)).version).toBe('unknown');
    expect(Date.now() - t).toBeLessThan(2000);
  });
});

describe('loadFallback: catalog.fallback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fallback-'));
  writeFileSync(join(dir, 'b.mp3'), 'x');
  writeFileSync(join(dir, 'a.ogg'), 'x');
  writeFileSync(join(dir, 'notes.txt'), 'x');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'c.mp3'), 'x');
  mkdirSync(join(dir, 'empty'));

  test('a directory: its audio files, in name order, with the directory as their root', async () => {
    const f = await loadFallback(dir);
    expect(f.songs.map((s) => s.id)).toEqual(['fallback/a', 'fallback/b']);
    expect(f.root).toMatch(/fallback-/);
    expect(f.songs[0]!.url).toBe(join(f.root, 'a.ogg'));
  });

  test('one file: that file, its directory as root', async () => {
    const f = await loadFallback(join(dir, 'b.mp3'));
    expect(f.songs).toHaveLength(1);
    expect(f.root).toBe(f.songs[0]!.url.replace(/\/b\.mp3$/, ''));
  });

  test('missing, or no audio: a start-up error', async () => {
    await expect(loadFallback(join(dir, 'none'))).rejects.toThrow();
    await expect(loadFallback(join(dir, 'empty'))).rejects.toThrow(/no audio files/);
  });
});
