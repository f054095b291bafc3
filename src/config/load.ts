import convict from 'convict';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { redactUrl } from '../ops/redact';
import { DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET, schema, type AppConfig } from './schema';

export class ConfigError extends Error {}

export interface LoadedConfig {
  config: AppConfig;
  /** The same values with secrets masked: safe to log or publish. */
  redacted: Record<string, unknown>;
}

/** Defaults < JSON file < environment. Unknown keys in the file are errors, so typos don't pass silently. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): LoadedConfig {
  const cfg = convict<AppConfig>(schema as unknown as convict.Schema<AppConfig>, { env: {}, args: [] });
  try {
    if (opts.file) cfg.load(JSON.parse(readFileSync(opts.file, 'utf8')) as unknown);
    cfg.load(envOverrides(opts.env ?? process.env));
    cfg.validate({ allowed: 'strict' });
  } catch (err) {
    const where = opts.file ? ` (file ${opts.file})` : '';
    throw new ConfigError(`invalid configuration${where}: ${(err as Error).message}`);
  }
  const config = cfg.getProperties();
  refuseDevSecretsOffLoopback(config);
  return { config, redacted: redact(JSON.parse(cfg.toString()) as AppConfig) };
}

/** Configured URLs may carry credentials (mqtt://user:pass@host, ?token=...): shown without them. */
const URL_KEYS = [['mqtt', 'url'], ['livekit', 'url'], ['catalog', 'location'], ['catalog', 'mediaBaseUrl']] as const;

/** convict's toString masks the `sensitive` keys; the URLs are masked here. */
function redact(config: AppConfig): Record<string, unknown> {
  const sections = config as unknown as Record<string, Record<string, unknown>>;
  for (const [section, key] of URL_KEYS) {
    const value = sections[section]![key];
    if (typeof value === 'string' && value !== '') sections[section]![key] = redactUrl(value);
  }
  return sections;
}

/**
 * The development key and secret are public (they are in this repository): anyone who can reach a
 * LiveKit server that accepts them can join any room. Only a server on this host may use them.
 */
function refuseDevSecretsOffLoopback(config: AppConfig): void {
  const { url, apiKey, apiSecret } = config.livekit;
  const dev = [apiKey === DEV_LIVEKIT_API_KEY ? 'livekit.apiKey' : '', apiSecret === DEV_LIVEKIT_API_SECRET ? 'livekit.apiSecret' : ''].filter(Boolean);
  if (dev.length === 0 || isLoopbackUrl(url)) return;
  throw new ConfigError(
    `invalid configuration: ${dev.join(' and ')} ${dev.length > 1 ? 'are' : 'is'} the development default, which is only accepted ` +
      `when livekit.url is on loopback (127.0.0.0/8, ::1, localhost); livekit.url is ${redactUrl(url)}. Set LIVEKIT_API_KEY and LIVEKIT_API_SECRET to the server's own.`,
  );
}

/** True when the URL's host is this machine's loopback: localhost, 127.0.0.0/8 or ::1 (also IPv4-mapped). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase(); // WHATWG: "127.1", "0x7f.0.0.1" → "127.0.0.1"
  } catch {
    return false;
  }
  if (host === 'localhost' || host === 'localhost.') return true;
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) !== 6) return false;
  if (bare === '::1') return true;
  // WHATWG writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(bare);
  return mapped !== null && parseInt(mapped[1]!, 16) >> 8 === 127;
}

/**
 * convict applies env values before a file is loaded, so a file would win over the environment;
 * ops expect the opposite (env file of a systemd unit overrides the shipped JSON). Build the env layer
 * ourselves from the schema's `env` names and load it last.
 */
function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(schema)) {
    for (const [key, spec] of Object.entries(keys as Record<string, { env?: string; default: unknown }>)) {
      if (!spec.env) continue;
      const raw = env[spec.env];
      if (raw === undefined) continue;
      (out[section] ??= {})[key] = coerce(raw, spec.default, `${section}.${key}`, spec.env);
    }
  }
  return out;
}

/**
 * Env values are text; give them the type of the key's default. Text that is not of that type is
 * refused here: convict would otherwise coerce it on load ("20ms" -> 20, "no" -> true) and pass it.
 */
function coerce(raw: string, example: unknown, key: string, envName: string): unknown {
  const refuse = (what: string): never => {
    throw new Error(`${key}: must be ${what}: value of ${envName} was "${raw}"`);
  };
  if (typeof example === 'number') {
    const n = Number(raw);
    return raw.trim() !== '' && Number.isFinite(n) ? n : refuse('a number');
  }
  if (typeof example === 'boolean') return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : refuse('true, false, 1 or 0');
  if (Array.isArray(example)) return raw.split(',').map((v) => v.trim()).filter(Boolean);
  return raw;
}
