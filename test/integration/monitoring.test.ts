import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort } from '../../src/ops/local-stack';
import { testScope } from '../support/scope';
import { ROOT } from '../support/stack';

const run = promisify(execFile);
const RULES = join(ROOT, 'deploy', 'prometheus-alerts.yml');
const DASHBOARD = join(ROOT, 'deploy', 'grafana-dashboard.json');
/** Series Prometheus makes itself rather than scraping them. */
const PROMETHEUS_OWN = new Set(['up']);
/** Labels Prometheus adds to every scraped series (and `le`, present on every histogram bucket). */
const TARGET_LABELS = new Set(['job', 'instance']);

/** Every metric a PromQL expression selects, with the label names its matchers use. */
function selectors(expr: string): Array<{ name: string; labels: string[] }> {
  const out: Array<{ name: string; labels: string[] }> = [];
  for (const m of expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*(\{([^}]*)\})?/g)) {
    const name = m[1]!;
    if (!name.startsWith('music_bridge_') && !PROMETHEUS_OWN.has(name)) continue;
    const labels = [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!);
    out.push({ name, labels: labels.filter((l) => !TARGET_LABELS.has(l)) });
  }
  return out;
}

function ruleExprs(): string[] {
  // The rules file is YAML; its exprs are either one line or a literal block (expr: |).
  const lines = readFileSync(RULES, 'utf8').split('\n');
  const exprs: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    if (m[2] !== '|') {
      exprs.push(m[2]!);
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || lines[i + 1]!.search(/\S/) > m[1]!.length)) body.push(lines[++i]!);
    exprs.push(body.join('\n'));
  }
  return exprs;
}

interface Panel {
  id: number;
  title: string;
  datasource: { uid: string };
  targets: Array<{ expr: string }>;
}

function dashboardExprs(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ query: { query: string } }> } };
  return [...d.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...d.templating.list.map((v) => v.query.query)];
}

describe('monitoring to import (deploy/)', () => {
  const scope = testScope();

  test('the alert rules pass promtool check and promtool test', async () => {
    const promtool = await run('promtool', ['--version']).catch(() => {
      throw new Error('promtool is missing: install Debian\'s "prometheus" package (scripts/setup-stack.sh does)');
    });
    expect(promtool.stdout + promtool.stderr).toMatch(/promtool/);
    const check = await run('promtool', ['check', 'rules', RULES]);
    expect(check.stdout).toMatch(/SUCCESS: 7 rules found/);
    const test = await run('promtool', ['test', 'rules', 'prometheus-alerts.test.yml'], { cwd: join(ROOT, 'deploy') });
    expect(test.stdout).toMatch(/SUCCESS/);
    const names = readFileSync(RULES, 'utf8').match(/alert: \w+/g);
    expect(names).toEqual(['MusicBridgeDown', 'MusicBridgeMqttDisconnected', 'MusicBridgeRoomsInError', 'MusicBridgeRoomsReconnecting', 'MusicBridgeUnderruns', 'MusicBridgeSongFailureRate', 'MusicBridgeCommandErrorRate'].map((a) => `alert: ${a}`));
  });

  test('the dashboard is importable: one datasource input, unique panel ids, a query per panel', () => {
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { __inputs: Array<{ name: string }>; panels: Panel[]; uid: string };
    expect(d.__inputs.map((i) => i.name)).toEqual(['DS_PROMETHEUS']);
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) {
      expect(p.datasource.uid).toBe('${DS_PROMETHEUS}');
      expect(p.targets.length).toBeGreaterThan(0);
    }
  });

  test('every metric and label the rules and the dashboard name is served by /metrics', async () => {
    const port = await freeTcpPort();
    const { app } = await scope.daemon({ http: { port } });
    // A refused and an answered command, so the labelled series exist.
    await app.command('aabbccddee61', { type: 'dance' });
    await app.command('aabbccddee61', { type: 'get_status' });
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    const types = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
    const sampleLabels = new Map<string, Set<string>>();
    for (const m of text.matchAll(/^([a-z_][a-z0-9_]*)(?:\{([^}]*)\})? /gm)) {
      const keys = sampleLabels.get(m[1]!) ?? new Set<string>();
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)) keys.add(l[1]!);
      sampleLabels.set(m[1]!, keys);
    }
    const family = (name: string): string | undefined => {
      if (types.has(name)) return name;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return types.get(base) === 'histogram' ? base : undefined;
    };

    const named = [...ruleExprs(), ...dashboardExprs()].flatMap(selectors);
    expect(named.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const { name, labels } of named) {
      if (PROMETHEUS_OWN.has(name)) continue;
      if (!family(name)) {
        problems.push(`${name} is not served`);
        continue;
      }
      const served = sampleLabels.get(name) ?? new Set();
      for (const l of labels) if (!served.has(l)) problems.push(`${name} has no label ${l}`);
    }
    expect(problems).toEqual([]);
  });
});
