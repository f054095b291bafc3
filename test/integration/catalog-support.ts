import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

/** What the server answers for a path: a file's bytes, a text body, or a status alone. */
export type Route = { file: string } | { body: string; type?: string } | { status: number };

/**
 * A catalog host for integration tests: serves manifests and tone files from a route table the
 * test can change at any time (to break a refresh), on a free loopback port, with ETags so
 * refreshes are conditional as they are against a real CDN.
 */
export class CatalogServer {
  readonly routes = new Map<string, Route>();
  /** Every request path, in order (decoded). */
  readonly requests: string[] = [];
  private constructor(private readonly server: Server, readonly base: string) {}

  static async start(): Promise<CatalogServer> {
    let self: CatalogServer | undefined;
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      self?.requests.push(path);
      const route = self?.routes.get(path);
      if (!route) return void res.writeHead(404).end('not found');
      if ('status' in route) return void res.writeHead(route.status).end('unavailable');
      const body = 'file' in route ? readFileSync(route.file) : Buffer.from(route.body);
      const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
      const type = 'file' in route ? 'application/octet-stream' : (route.type ?? 'application/json');
      res.writeHead(200, { 'content-type': type, 'content-length': body.length, etag }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (!addr || typeof addr !== 'object') throw new Error('no address');
    self = new CatalogServer(server, `http://127.0.0.1:${addr.port}`);
    return self;
  }

  url(path: string): string {
    return `${this.base}${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
