import { createApp } from '../app';
import { ConfigError, loadConfig } from '../config/load';
import { createLogger, errorFields } from './logger';

/** Exit within this long after SIGTERM even if a room or the broker hangs. */
const SHUTDOWN_DEADLINE_MS = 5000;
/** After a clean shutdown, how long lingering handles may keep the process before it exits anyway. */
const EXIT_GRACE_MS = 200;

/**
 * Runs the daemon until SIGTERM/SIGINT. Returns the exit code. A bad configuration exits 2 with a
 * message naming the key; an uncaught error exits 1 so systemd restarts the service.
 */
export async function runDaemon(opts: { configFile?: string }): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig({ file: opts.configFile });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`music-bridge: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(loaded.config.log.level);
  log.info('configuration loaded', { config: loaded.redacted });
  let app;
  try {
    app = createApp(loaded.config, loaded.redacted, log);
  } catch (err) {
    // A combination of keys that must not run (e.g. an open console beyond loopback).
    if (!(err instanceof ConfigError)) throw err;
    log.error('invalid configuration', errorFields(err));
    process.stderr.write(`music-bridge: ${err.message}\n`);
    return 2;
  }

  const fatal = (kind: string) => (err: unknown) => {
    log.error(`${kind}; exiting`, { ...errorFields(err), stack: err instanceof Error ? err.stack : undefined });
    process.exit(1);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn('second signal; exiting at once', { signal });
        process.exit(1);
      }
      signalled = true;
      log.info('shutting down', { signal });
      setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      app.stop().then(
        () => {
          log.info('stopped');
          resolve(0);
          // A native handle that outlives its owner (a join that never completed) must not hold
          // the process past its shutdown: everything is ended, so exit when the code is set.
          setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_GRACE_MS).unref();
        },
        (err: unknown) => {
          log.error('shutdown failed', errorFields(err));
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    app.start().catch((err: unknown) => {
      log.error('start-up failed', errorFields(err));
      void app.stop().finally(() => resolve(1));
    });
  });
}
