import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorFields, type Logger } from './logger';
import type { Metrics } from './metrics';

/** The web console (src/ops/console), when http.console is on: it answers every /console path. */
export interface ConsoleHandler {
  handles(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface HealthChecks {
  /** Ready means commands can be received and rooms joined. */
  ready(): Promise<{ ok: boolean; checks: Record<string, boolean | string> }>;
}

/**
 * /healthz (the process answers), /readyz (MQTT connected, LiveKit reachable) and /metrics
 * (Prometheus). Off unless http.port is set; bind to loopback unless ops choose otherwise.
 */
export class OpsHttpServer {
  private server: Server | undefined;

  constructor(private readonly o: { host: string; port: number; metrics: Metrics; health: HealthChecks; log: Logger; console?: ConsoleHandler }) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      if (this.o.console?.handles(req.url)) return void this.o.console.handle(req, res);
      void this.handle(req.url ?? '/').then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        },
        (err: unknown) => {
          this.o.log.error('ops http request failed', { url: req.url, ...errorFields(err) });
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('internal error\n');
        },
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    this.o.log.info('ops http listening', { host: this.o.host, port });
    return port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    if (path === '/healthz') return { status: 200, type: 'text/plain', body: 'ok\n' };
    if (path === '/readyz') {
      const r = await this.o.health.ready();
      return { status: r.ok ? 200 : 503, type: 'application/json', body: `${JSON.stringify(r)}\n` };
    }
    if (path === '/metrics') return { status: 200, type: this.o.metrics.registry.contentType, body: await this.o.metrics.registry.metrics() };
    return { status: 404, type: 'text/plain', body: 'not found\n' };
  }
}
