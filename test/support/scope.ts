import { Daemon, type DaemonConfig } from './daemon';
import { Listener } from './listener';
import { AppClient } from './mqtt-client';

/**
 * What a test starts, stopped after it in reverse order whatever happened: call at describe level,
 * it registers its own afterEach.
 */
export function testScope(): {
  defer: (stop: () => Promise<unknown> | unknown) => void;
  daemon: (overrides?: DaemonConfig) => Promise<{ daemon: Daemon; app: AppClient }>;
  listen: (room: string, identity?: string) => Promise<Listener>;
} {
  const stops: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await Promise.resolve().then(stop).catch(() => undefined);
  });
  const defer = (stop: () => Promise<unknown> | unknown): void => {
    stops.push(stop);
  };
  return {
    defer,
    daemon: async (overrides = {}) => {
      const daemon = await Daemon.start(overrides);
      defer(() => daemon.stop());
      const app = await AppClient.connect(daemon.baseTopic);
      defer(() => app.close());
      return { daemon, app };
    },
    listen: async (room, identity) => {
      const l = await Listener.join(room, { identity });
      defer(() => l.stop());
      return l;
    },
  };
}
