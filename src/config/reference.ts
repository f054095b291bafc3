import { schema } from './schema';

interface KeySpec {
  doc: string;
  default: unknown;
  env?: string;
  format?: unknown;
  sensitive?: boolean;
}

/**
 * The configuration reference (docs/configuration.md) generated from the schema, so the document
 * cannot drift from what the daemon accepts: a unit test compares the two.
 */
export function configReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; a test keeps it in sync. -->',
    '',
    'Settings come from the defaults below, then a JSON file (`music-bridge start --config FILE` or',
    '`MUSIC_BRIDGE_CONFIG=FILE`), then environment variables, which win. Unknown keys and bad values',
    'stop start-up with a message naming the key. Keys marked secret are never logged or published.',
    'List values are JSON arrays in the file and comma-separated in the environment.',
    '',
  ];
  for (const [section, keys] of Object.entries(schema)) {
    lines.push(`## ${section}`, '', '| Key | Environment | Default | Description |', '|---|---|---|---|');
    for (const [key, raw] of Object.entries(keys as Record<string, KeySpec>)) {
      const allowed = Array.isArray(raw.format) ? ` One of: ${raw.format.map((v) => `\`${String(v)}\``).join(', ')}.` : '';
      const secret = raw.sensitive ? ' **Secret.**' : '';
      lines.push(`| \`${section}.${key}\` | \`${raw.env ?? ''}\` | ${formatDefault(raw.default, raw.sensitive)} | ${escape(raw.doc)}${allowed}${secret} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

function formatDefault(value: unknown, sensitive?: boolean): string {
  if (sensitive && value) return '(development value)';
  if (value === '' || (Array.isArray(value) && value.length === 0)) return '(empty)';
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
