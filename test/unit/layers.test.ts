import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

/**
 * The folder layout is the architecture: MQTT command → session → player → audio → LiveKit, with
 * src/app.ts wiring the layers together. A layer may import only the layers listed for it, so a
 * port is defined by the layer that needs it and implemented where it is wired, never by importing
 * upwards.
 */
const ALLOWED: Record<string, string[]> = {
  mqtt: ['session', 'catalog', 'ops', 'config'],
  session: ['player', 'audio', 'catalog', 'ops', 'config'],
  player: ['audio', 'catalog', 'ops'],
  audio: ['catalog', 'ops', 'config'],
  catalog: ['ops', 'config'],
  livekit: ['audio', 'ops', 'config'],
  config: ['ops'],
  ops: ['*'],
};

const SRC = resolve(__dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function layerOf(file: string): string | undefined {
  const rel = relative(SRC, file).split('/');
  return rel.length > 1 ? rel[0] : undefined;
}

describe('layers', () => {
  it('import only the layers below them', () => {
    const wrong: string[] = [];
    for (const file of files(SRC)) {
      const from = layerOf(file);
      if (!from) continue; // src/app.ts and src/cli.ts wire everything
      const allowed = ALLOWED[from];
      if (!allowed) throw new Error(`src/${from} has no entry in ALLOWED`);
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
        const to = layerOf(resolve(dirname(file), m[1]!));
        if (!to || to === from || allowed.includes('*') || allowed.includes(to)) continue;
        wrong.push(`${relative(SRC, file)} imports ${to}/ (${m[1]})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
