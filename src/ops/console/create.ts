import type { Catalog } from '../../catalog/catalog';
import { ConfigError } from '../../config/load';
import type { AppConfig } from '../../config/schema';
import type { ControlPlaneMetrics } from '../../mqtt/control-plane';
import { songInfo } from '../../session/status';
import type { HealthChecks } from '../http-server';
import type { Logger } from '../logger';
import { VERSION } from '../version';
import { type CommandTarget, commandPath } from './command-path';
import type { StatusSource } from './session-feed';
import { WebConsole } from './web-console';

/** The web console for this configuration, or undefined when http.console is off. */
export function createWebConsole(
  config: AppConfig,
  deps: {
    registry: CommandTarget & StatusSource;
    catalog: () => Catalog;
    metrics: Pick<ControlPlaneMetrics, 'commands' | 'refused'>;
    health: HealthChecks;
    /** This instance and the live ones sharing the fleet (presence on the broker). */
    instances: () => { instance: string; live: string[] };
    log: Logger;
  },
): WebConsole | undefined {
  if (!config.http.console) return undefined;
  if (config.http.port === 0) throw new ConfigError('http.console needs http.port (the console is served by the ops HTTP endpoint)');
  const { registry, catalog, metrics, health, instances, log } = deps;
  return new WebConsole(
    {
      execute: commandPath({ target: registry, allowedDevices: config.mqtt.allowedDevices, maxPayloadBytes: config.mqtt.maxPayloadBytes, metrics, log }),
      search: (query, language, limit) => catalog().search(query, language).slice(0, limit).map((song) => songInfo(song)!),
      languages: () => catalog().languages(),
      health: async () => ({ ...(await health.ready()), version: VERSION, ...instances() }),
      sessions: registry,
    },
    {
      host: config.http.host,
      token: config.http.consoleToken,
      livekit: { url: config.http.consoleLivekitUrl || config.livekit.url, apiKey: config.livekit.apiKey, apiSecret: config.livekit.apiSecret },
      maxPayloadBytes: config.mqtt.maxPayloadBytes,
      log,
    },
  );
}
