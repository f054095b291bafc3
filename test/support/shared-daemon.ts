import { Daemon } from './daemon';
import type { Listener } from './listener';
import { AppClient } from './mqtt-client';

export interface SharedDaemon {
  readonly daemon: Daemon;
  readonly app: AppClient;
  /** Listeners a test joined; all stopped after the file's tests. */
  readonly listeners: Listener[];
}

/**
 * One daemon and one app client for every test of a file (started before them, stopped after,
 * the daemon's exit code checked), and the listeners those tests join.
 */
export function sharedDaemon(): SharedDaemon {
  let daemon: Daemon | undefined;
  let app: AppClient | undefined;
  const listeners: Listener[] = [];
  beforeAll(async () => {
    daemon = await Daemon.start();
    app = await AppClient.connect(daemon.baseTopic);
  });
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.stop()));
    await app?.close();
    expect(await daemon?.stop()).toBe(0);
  });
  return {
    get daemon(): Daemon {
      if (!daemon) throw new Error('the shared daemon is not started yet');
      return daemon;
    },
    get app(): AppClient {
      if (!app) throw new Error('the shared app client is not connected yet');
      return app;
    },
    listeners,
  };
}
