import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inputOptions } from '../../src/audio/decoder';
import { asSongFailure, classifyFfmpegFailure, failureFields, SongFailure } from '../../src/audio/failure';
import { FILE_PROTOCOLS, NETWORK_PROTOCOLS, resolveMediaInput, type MediaPolicy } from '../../src/audio/media-input';
import { defaultMediaRoot } from '../../src/catalog/media-root';

const SIGNED = 'http://cdn.example:8080/music/song.mp3?X-Amz-Signature=SECRETTOKEN&X-Amz-Credential=KEY';

/** ffmpeg's stderr tails as the bundled 2018 build and Debian's 5.1 print them. */
const STDERR = {
  404: `[http @ 0x4107e5c0] HTTP error 404 Not Found\n${SIGNED}: Server returned 404 Not Found\n`,
  500: `[http @ 0x247495c0] HTTP error 500 Internal Server Error\n${SIGNED}: Server returned 5XX Server Error reply\n`,
  503: `[http @ 0x3762f5c0] HTTP error 503 Service Unavailable\n${SIGNED}: Server returned 5XX Server Error reply\n`,
  403: `[http @ 0xee505c0] HTTP error 403 Forbidden\n${SIGNED}: Server returned 403 Forbidden (access denied)\n`,
  refused: `[tcp @ 0x43f9e300] Connection to tcp://127.0.0.1:1 failed: Connection refused\n${SIGNED}: Connection refused\n`,
  dns: `[tcp @ 0x55addb04d2c0] Failed to resolve hostname cdn.example: Name or service not known\n${SIGNED}: Input/output error\n`,
  timeout: `${SIGNED}: Connection timed out\n`,
  tls: `[tls @ 0x1] error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed\n${SIGNED}: Input/output error\n`,
  invalid: `[mp3 @ 0x12b6ec00] Format mp3 detected only with low score of 1, misdetection possible!\n[mp3 @ 0x12b6ec00] Failed to read frame size: Could not seek to 4023.\nfile:/m/bad.mp3: Invalid argument\n`,
  invalidData: 'file:/m/x.ogg: Invalid data found when processing input\n',
  missing: 'file:/m/none.mp3: No such file or directory\n',
  whitelist: `[http @ 0x203d2480] Protocol 'http' not on whitelist 'file'!\n${SIGNED}: Invalid argument\n`,
};

describe('classifyFfmpegFailure: a short cause and a kind, never the URL or its token', () => {
  test.each([
    ['404', STDERR[404], 'http 404', 'song'],
    ['403', STDERR[403], 'http 403', 'song'],
    ['500', STDERR[500], 'http 500', 'source'],
    ['503', STDERR[503], 'http 503', 'source'],
    ['refused', STDERR.refused, 'connection refused', 'source'],
    ['dns', STDERR.dns, 'dns', 'source'],
    ['timeout', STDERR.timeout, 'timeout', 'source'],
    ['tls', STDERR.tls, 'tls', 'source'],
    ['corrupt mp3', STDERR.invalid, 'invalid data', 'song'],
    ['invalid data', STDERR.invalidData, 'invalid data', 'song'],
    ['missing file', STDERR.missing, 'not found', 'song'],
    ['whitelist', STDERR.whitelist, 'protocol not allowed', 'song'],
  ])('%s', (_name, stderr, cause, kind) => {
    const f = classifyFfmpegFailure(stderr, `ffmpeg exited with code 1: ${stderr}`);
    expect(f).toBeInstanceOf(SongFailure);
    expect(f.message).toBe(cause);
    expect(f.reason).toBe(cause);
    expect(f.kind).toBe(kind);
    expect(JSON.stringify({ ...failureFields(f), message: f.message, stack: f.stack })).not.toMatch(/SECRETTOKEN|X-Amz|KEY/);
  });

  test('408 and 429 look like an overloaded source; another 4xx is the song', () => {
    expect(classifyFfmpegFailure('[http @ 0x1] HTTP error 429 Too Many Requests\n', '')).toMatchObject({ reason: 'http 429', kind: 'source' });
    expect(classifyFfmpegFailure('[http @ 0x1] HTTP error 408 Request Timeout\n', '')).toMatchObject({ reason: 'http 408', kind: 'source' });
    expect(classifyFfmpegFailure('[http @ 0x1] HTTP error 410 Gone\n', '')).toMatchObject({ reason: 'http 410', kind: 'song' });
  });

  test('a signal is "ffmpeg failed" with the signal as detail; unknown text is "ffmpeg failed" with redacted detail', () => {
    expect(classifyFfmpegFailure('[mp3 @ 0x1] Header missing\nsize= 12kB\n', 'ffmpeg was killed with signal SIGKILL')).toMatchObject({ reason: 'ffmpeg failed', kind: 'song', detail: 'ffmpeg was killed with signal SIGKILL' });
    const odd = classifyFfmpegFailure(`something odd with ${SIGNED}\n`, 'ffmpeg exited with code 1');
    expect(odd.reason).toBe('ffmpeg failed');
    expect(odd.detail).toBe('something odd with http://cdn.example:8080/music/song.mp3');
  });

  test('the detail for the log is the last line, with every URL redacted', () => {
    expect(failureFields(classifyFfmpegFailure(STDERR[404], ''))).toEqual({ error: 'http 404', detail: 'http://cdn.example:8080/music/song.mp3 Server returned 404 Not Found' }); // the query (and the colon after it) is gone
  });

  test('asSongFailure reduces any error to a short cause and keeps only redacted text', () => {
    const f = asSongFailure(new Error(`failed to open ${SIGNED}`));
    expect(f).toMatchObject({ message: 'ffmpeg failed', kind: 'song', detail: 'failed to open http://cdn.example:8080/music/song.mp3' });
    const same = new SongFailure('stalled', 'source');
    expect(asSongFailure(same)).toBe(same);
  });
});

describe('resolveMediaInput: what ffmpeg may open', () => {
  const base = mkdtempSync(join(tmpdir(), 'media-root-'));
  const root = join(base, 'music');
  mkdirSync(join(root, 'English'), { recursive: true });
  writeFileSync(join(root, 'English', 'song.mp3'), 'x');
  writeFileSync(join(root, '..odd.mp3'), 'x');
  writeFileSync(join(base, 'secret.mp3'), 'x');
  symlinkSync('/etc/passwd', join(root, 'passwd.mp3'));
  symlinkSync(base, join(root, 'up'));
  symlinkSync(join(root, 'English', 'song.mp3'), join(root, 'inside-link.mp3'));
  const policy: MediaPolicy = { root };
  const refused = (url: string, cause: string): void => {
    expect(() => resolveMediaInput(url, policy)).toThrow(new SongFailure(cause, 'song'));
  };

  test('http(s) URLs go to ffmpeg unchanged with the network whitelist', () => {
    expect(resolveMediaInput(SIGNED, policy)).toEqual({ input: SIGNED, protocols: 'http,https,tcp,tls,crypto', network: true });
    expect(resolveMediaInput('HTTPS://cdn.example/x.mp3', { root: undefined }).protocols).toBe(NETWORK_PROTOCOLS);
  });

  test('a file under the root plays as file:<real path> with only the file protocol', () => {
    const real = resolveMediaInput(join(root, 'English', 'song.mp3'), policy);
    expect(real).toMatchObject({ protocols: FILE_PROTOCOLS, network: false });
    expect(real.input).toMatch(/^file:\/.*\/music\/English\/song\.mp3$/);
    expect(resolveMediaInput(pathToFileURL(join(root, 'English', 'song.mp3')).toString(), policy).input).toBe(real.input);
    expect(resolveMediaInput(join(root, 'inside-link.mp3'), policy).input).toBe(real.input); // a symlink that stays inside
    expect(resolveMediaInput(join(root, '..odd.mp3'), policy).input).toMatch(/\/music\/\.\.odd\.mp3$/);
  });

  test.each([
    ['/etc/passwd', 'outside media root'],
    ['file:///etc/passwd', 'outside media root'],
    ['../../x', 'outside media root'],
    ['/tmp/../etc/passwd', 'outside media root'],
    [`${root}/../secret.mp3`, 'outside media root'],
    [`${root}/English/../../secret.mp3`, 'outside media root'],
    [`${root}/passwd.mp3`, 'outside media root'], // symlink out
    [`${root}/up/secret.mp3`, 'outside media root'], // directory symlink out
    [root, 'outside media root'], // the root itself
    [`${root}-sibling/x.mp3`, 'outside media root'], // a prefix is not a parent
    [`${root}/English/none.mp3`, 'not found'],
    ['concat:/etc/passwd|/etc/hosts', 'protocol not allowed'],
    ['subfile,,start,0,end,100,,:/etc/passwd', 'outside media root'], // no scheme: a (relative) path, and not under the root
    ['ftp://host/x.mp3', 'protocol not allowed'],
    ['rtmp://host/live', 'protocol not allowed'],
    ['data:audio/mp3;base64,AAAA', 'protocol not allowed'],
    ['gopher://x/', 'protocol not allowed'],
    ['file://otherhost/etc/passwd', 'protocol not allowed'],
    [`${root}/English/song.mp3\0.txt`, 'protocol not allowed'],
  ])('%s → %s', (url, cause) => refused(url, cause));

  test('with no media root (an http catalog) no local file plays at all', () => {
    expect(() => resolveMediaInput(join(root, 'English', 'song.mp3'), { root: undefined })).toThrow(new SongFailure('outside media root', 'song'));
  });

  test('the default root is the folder of a local catalog; none for an http catalog', () => {
    expect(defaultMediaRoot(join(root, 'catalog.json'))).toBe(root);
    expect(defaultMediaRoot(root)).toBe(root);
    expect(defaultMediaRoot(pathToFileURL(join(root, 'catalog.json')).toString())).toBe(root);
    expect(defaultMediaRoot('https://cdn.example/catalog.json')).toBeUndefined();
    expect(defaultMediaRoot('https://cdn.example/', root)).toBe(root);
    expect(defaultMediaRoot(root, 'https://cdn.example/')).toBe(root);
  });
});

describe('inputOptions: the whitelist goes with every input', () => {
  test('http(s): network whitelist, read timeout, reconnects, and max_redirects only when the build has it', () => {
    const http = resolveMediaInput(SIGNED, { root: undefined });
    expect(inputOptions(http, { networkTimeoutMs: 5000 })).toEqual(['-nostdin', '-hide_banner', '-protocol_whitelist', 'http,https,tcp,tls,crypto', '-rw_timeout', '5000000', '-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '2']);
    expect(inputOptions(http, { networkTimeoutMs: 5000, maxRedirects: 3 }).slice(-2)).toEqual(['-max_redirects', '3']);
  });

  test('a local file: only the file protocol, no network options', () => {
    expect(inputOptions({ input: 'file:/m/x.mp3', protocols: FILE_PROTOCOLS, network: false }, { networkTimeoutMs: 5000, maxRedirects: 3 })).toEqual(['-nostdin', '-hide_banner', '-protocol_whitelist', 'file']);
  });
});
