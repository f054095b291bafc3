import { redactUrl, redactUrlsIn } from '../../src/ops/redact';
import { errorFields } from '../../src/ops/logger';

describe('redactUrl', () => {
  it('drops user info, query and fragment', () => {
    expect(redactUrl('https://user:secret@cdn.example.com/music/a%20b.mp3?X-Amz-Signature=abc&token=t#frag')).toBe('https://cdn.example.com/music/a%20b.mp3');
    expect(redactUrl('mqtts://bridge:hunter2@broker:8883')).toBe('mqtts://broker:8883');
  });
  it('keeps a plain path, without a query-like tail', () => {
    expect(redactUrl('/srv/music/song.mp3')).toBe('/srv/music/song.mp3');
    expect(redactUrl('song.mp3?sig=1')).toBe('song.mp3');
  });
  it('redacts every URL inside text', () => {
    const line = 'https://cdn.example.com/a.mp3?sig=SECRET: Server returned 404 Not Found (from http://u:p@h/x?t=1)';
    const out = redactUrlsIn(line);
    expect(out).not.toMatch(/SECRET|u:p|t=1/);
    expect(out).toContain('https://cdn.example.com/a.mp3');
  });
});

describe('errorFields', () => {
  it('logs an error without the credentials or tokens of URLs in its message', () => {
    const { error } = errorFields(new Error('catalog https://cat:catpw@cdn.example.com/c.json?sig=abc: HTTP 403'));
    expect(error).toMatch(/^catalog https:\/\/cdn\.example\.com\/c\.json.*HTTP 403$/);
    expect(error).not.toMatch(/catpw|sig=|abc/);
    expect(errorFields('mqtt://u:pw@h failed').error).toBe('mqtt://h failed');
  });
});
