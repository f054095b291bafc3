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
      const raw = spec.env ? env[spec.env] : undefined;
      if (raw === undefined) continue;
      (out[section] ??= {})[key] = typeof spec.default === 'number' ? coerceNumber(raw) : raw;
    }
  }
  return out;
}

function coerceNumber(raw: string): number | string {
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
}
