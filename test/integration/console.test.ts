import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort } from '../../src/ops/local-stack';
import { openBrowser } from '../support/browser';
import { Daemon } from '../support/daemon';
import { testScope } from '../support/scope';
import { LIVEKIT_KEY, LIVEKIT_SECRET, ROOT, stackInfo, TEST_SONGS } from '../support/stack';

const ALL_HZ = TEST_SONGS.map((s) => s.hz);
/** What the page-side row watcher uses (the test's TypeScript has no DOM library). */
type RowWatch = {
  document: { querySelector(selector: string): unknown; body: unknown };
  MutationObserver: new (callback: () => void) => { observe(node: unknown, options: object): void; disconnect(): void };
  rowShown?: Promise<number>;
};
const TOKEN = `console-${randomBytes(12).toString('hex')}`;

/** This machine's first non-loopback IPv4 address: "beyond loopback" for real. */
function outsideAddress(): string {
  const out = execFileSync('hostname', ['-I'], { encoding: 'utf8' });
  const ip = out.split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.'));
  if (!ip) throw new Error(`no non-loopback IPv4 address in "hostname -I": ${out}`);
  return ip;
}

describe('web console in a real browser (real stack)', () => {
  const scope = testScope();

  test('a session appears within 1 s of an MQTT start, skip from the page changes the song, and the page hears the room', async () => {
    const port = await freeTcpPort();
    const { app } = await scope.daemon({ http: { port, console: true } });
    const browser = await openBrowser();
    scope.defer(() => browser.close());
    const { page } = browser;
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));

    await page.goto(`http://127.0.0.1:${port}/console`);
    await page.locator('#feed[data-ok="true"]').waitFor({ timeout: 10000 });
    await page.locator('#health[data-ok="true"]').waitFor({ timeout: 10000 });
    // The bridge's own instance is named beside its health (several instances: the live ones too).
    expect(await page.locator('#health').textContent()).toMatch(/instance \S+/);

    const device = 'aabbccddee71';
    const room = 'console-room';
    const listener = await scope.listen(room);
    // The page itself notes when the row appears (a MutationObserver installed before the publish),
    // so the figure is publish → broker → daemon → event stream → DOM, not the test's polling.
    await page.evaluate((d) => {
      const g = globalThis as unknown as RowWatch;
      const seen = () => g.document.querySelector(`tr[data-device="${d}"]`) !== null;
      g.rowShown = new Promise<number>((resolve) => {
        const observer = new g.MutationObserver(() => {
          if (!seen()) return;
          observer.disconnect();
          resolve(Date.now());
        });
        observer.observe(g.document.body, { childList: true, subtree: true });
        setTimeout(() => resolve(Number.POSITIVE_INFINITY), 10000); // never shown: fails below
      });
    }, device);
    const started = Date.now();
    const reply = app.command(device, { type: 'start_continuous_music', language: 'English', genre: 'pop', session_id: room });
    const shownAt = await page.evaluate(() => (globalThis as unknown as RowWatch).rowShown!);
    expect(shownAt - started).toBeLessThan(1000);
    expect(await reply).toMatchObject({ ok: true });
    const row = page.locator(`tr[data-device="${device}"]`);

    // The page shows what the listener hears.
    const firstHz = await listener.hearTone(ALL_HZ, 'first song');
    await row.locator('td.state[data-state="playing"]').waitFor({ timeout: 10000 });
    const firstTitle = TEST_SONGS.find((s) => s.hz === firstHz)!.title;
    await row.locator('td.song', { hasText: firstTitle }).waitFor({ timeout: 10000 });
    expect(await row.locator('td.room').textContent()).toBe(room);
    // The progress bar runs against the song's duration (4 s test tones).
    await row.locator('td.progress small', { hasText: '/ 0:04' }).waitFor({ timeout: 10000 });
    expect(await row.locator('td.queue').textContent()).toMatch(/^\d+$/);

    // Skip, clicked in the page, goes through the command path: another song is heard.
    const mark = listener.mark;
    await row.locator('button[data-action="skip"]').click();
    const nextHz = await listener.hearTone(ALL_HZ.filter((hz) => hz !== firstHz), 'the song after skip', mark);
    const nextTitle = TEST_SONGS.find((s) => s.hz === nextHz)!.title;
    await row.locator('td.song', { hasText: nextTitle }).waitFor({ timeout: 10000 });
    await page.locator('#replies li[data-ok="true"]', { hasText: 'skip_music' }).waitFor({ timeout: 10000 });

    // Pause and resume from the page: the listener hears silence, then music again.
    const beforePause = listener.mark;
    await row.locator('button[data-action="pause"]').click();
    await row.locator('td.state[data-state="paused"]').waitFor({ timeout: 10000 });
    await listener.hearSilence('paused from the page', beforePause);
    const beforeResume = listener.mark;
    await row.locator('button[data-action="pause"]', { hasText: 'Resume' }).click();
    await listener.hearTone(ALL_HZ, 'resumed from the page', beforeResume);
    await row.locator('td.state[data-state="playing"]').waitFor({ timeout: 10000 });

    // Volume from the slider: the status reports it.
    await row.locator('input[data-action="volume"]').evaluate((el) => {
      const input = el as unknown as { value: string; dispatchEvent(e: Event): boolean };
      input.value = '40';
      input.dispatchEvent(new Event('change'));
    });
    await row.locator('td.volume', { hasText: /^40$/ }).waitFor({ timeout: 10000 });

    // The browser's own "listen": livekit-client with a subscribe-only token, measured by WebAudio.
    await row.locator('button[data-action="listen"]').click();
    // The page's meter counts 50 ms reads above the threshold: a second of them.
    // (Functions, not strings: the page's Content-Security-Policy forbids eval.)
    type Meter = { consoleListen?: { maxRms: number; frames: number; audibleFrames: number } };
    await page.waitForFunction(() => ((globalThis as Meter).consoleListen?.audibleFrames ?? 0) >= 20, undefined, { timeout: 20000, polling: 100 });
    const heard = (await page.evaluate(() => (globalThis as Meter).consoleListen))!;
    expect(heard.maxRms).toBeGreaterThan(0.05);

    // Catalog search in the page, then "play": play_song through the same path.
    await page.locator('#search-form input[name="q"]').fill('pop two');
    await page.locator('#search-form input[name="device"]').fill(device);
    await page.locator('#search-form button[type="submit"]').click();
    const hit = page.locator('#results li', { hasText: 'Pop Two' });
    await hit.waitFor({ timeout: 10000 });
    // "Enqueue" queues it (enqueue_music by song id through the same path); "play" plays it now.
    const beforeEnqueue = app.messages.items.length;
    await hit.locator('button[data-action="enqueue"]').click();
    await app.status(device, (s) => s.queued === 1, 'the song queued from the console', beforeEnqueue);
    await row.locator('button[data-action="repeat"]').click();
    await row.locator('button[data-action="repeat"]', { hasText: 'Repeat: one' }).waitFor({ timeout: 10000 });
    const beforePlay = listener.mark;
    await hit.locator('button[data-action="play"]').click();
    await listener.hearTone([660], 'the song played from the catalog search', beforePlay);

    // docs/console.png is refreshed on request only, so a test run leaves the tree clean.
    await page.screenshot({ path: join(ROOT, process.env.MB_UPDATE_SCREENSHOT === '1' ? 'docs' : '.cache', 'console.png') });
    expect(pageErrors).toEqual([]);
  });

  test('beyond loopback: no start without a token; with one, requests without it are refused', async () => {
    const host = outsideAddress();
    const stack = stackInfo();

    // Without a token the daemon refuses to start, naming the key.
    const baseTopic = `mbtest-${randomBytes(4).toString('hex')}`;
    const file = join(stack.workDir, `${baseTopic}.json`);
    writeFileSync(file, JSON.stringify({
      mqtt: { url: stack.mqttUrl, baseTopic, clientId: baseTopic },
      livekit: { url: stack.livekitUrl, apiKey: LIVEKIT_KEY, apiSecret: LIVEKIT_SECRET },
      catalog: { location: stack.catalog },
      http: { host, port: await freeTcpPort(), console: true },
    }));
    const refused = new Daemon(baseTopic, file);
    scope.defer(() => refused.stop());
    const code = await Promise.race([refused.exited, new Promise((r) => setTimeout(() => r('still running'), 15000).unref())]);
    expect(code).toBe(2);
    expect(refused.stderrTail).toMatch(/http\.consoleToken/);

    const port = await freeTcpPort();
    await scope.daemon({ http: { host, port, console: true, consoleToken: TOKEN } });
    const base = `http://${host}:${port}`;
    expect((await fetch(`${base}/console/api/me`)).status).toBe(401);
    expect((await fetch(`${base}/console/api/events`)).status).toBe(401);
    const forged = await fetch(`${base}/console/api/devices/aabbccddee72/command`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"start_continuous_music"}' });
    expect([forged.status, ((await forged.json()) as { error: string }).error]).toEqual([401, 'unauthorized']);
    const bearer = await fetch(`${base}/console/api/devices/aabbccddee72/command`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{"type":"get_status"}' });
    expect(await bearer.json()).toMatchObject({ ok: true, command: 'get_status', device: 'aabbccddee72' });
    // The ops endpoints stay as they were.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // In the browser: the login form, then the console.
    const browser = await openBrowser();
    scope.defer(() => browser.close());
    const { page } = browser;
    await page.goto(`${base}/console`);
    await page.locator('input[name="token"]').fill('not-the-token-0000');
    await page.locator('button[type="submit"]').click();
    await page.locator('#error').waitFor({ state: 'visible', timeout: 5000 });
    await page.locator('input[name="token"]').fill(TOKEN);
    await page.locator('button[type="submit"]').click();
    await page.locator('#feed[data-ok="true"]').waitFor({ timeout: 10000 });
    const cookie = (await browser.context.cookies()).find((c) => c.name === 'mb_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.content()).not.toContain(TOKEN);

    // The start form and stop button work through the cookie session (CSRF header, Origin).
    await page.locator('#start-form input[name="device"]').fill('AA:BB:CC:DD:EE:73');
    await page.locator('#start-form input[name="session_id"]').fill('console-token-room');
    await page.locator('#start-form select[name="language"]').selectOption('English');
    await page.locator('#start-form button[type="submit"]').click();
    const row = page.locator('tr[data-device="aabbccddee73"]');
    await row.locator('td.state[data-state="playing"]').waitFor({ timeout: 15000 });
    expect(await row.locator('td.room').textContent()).toBe('console-token-room');
    await row.locator('button[data-action="stop"]').click();
    await row.locator('td.state[data-state="idle"]').waitFor({ timeout: 10000 });
    await page.locator('#replies li[data-ok="true"]', { hasText: 'stop_continuous_music' }).waitFor({ timeout: 10000 });
  });
});
