import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReference } from '../../src/config/reference';
import { schema } from '../../src/config/schema';

describe('docs/configuration.md', () => {
  test('matches the schema (regenerate with npm run docs:config)', () => {
    expect(readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8')).toBe(configReference());
  });

  test('lists every key with its environment variable and never a secret value', () => {
    const doc = configReference();
    for (const [section, keys] of Object.entries(schema)) {
      for (const [key, spec] of Object.entries(keys as Record<string, { env: string }>)) {
        expect(doc).toContain(`\`${section}.${key}\` | \`${spec.env}\``);
      }
    }
    expect(doc).not.toContain('music-bridge-dev-secret');
  });
});
