// Part of `npm run build`: puts the web console's files next to its compiled code
// (dist/ops/console/web/), with livekit-client's self-contained ES module build from node_modules,
// so the daemon serves them from dist alone (no CDN, no dev dependency at run time).
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src', 'ops', 'console', 'web');
const to = join(root, 'dist', 'ops', 'console', 'web');
mkdirSync(to, { recursive: true });
for (const file of readdirSync(from)) copyFileSync(join(from, file), join(to, file));

let bundle;
try {
  bundle = join(dirname(createRequire(import.meta.url).resolve('livekit-client')), 'livekit-client.esm.mjs');
} catch {
  bundle = undefined;
}
if (bundle && existsSync(bundle)) copyFileSync(bundle, join(to, 'livekit-client.mjs'));
else console.warn('copy-console-assets: livekit-client is not installed; the console\'s "listen" will be unavailable');
