import convict from 'convict';
import { readFileSync } from 'node:fs';
import { schema, type AppConfig } from './schema';

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
  return { config: cfg.getProperties(), redacted: JSON.parse(cfg.toString()) as Record<string, unknown> };
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
