// The bench's results at a glance: one SVG per run, written by hand (no dependencies): CPU per
// room, silence heard per room-minute and first audio p50, each against the number of rooms, one
// line per audio setting (frame/queue) and content in the run.
// CLI: node bench/chart.mjs bench/results/<stamp>.json ... (writes <stamp>.svg beside each)
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const PANELS = [
  { key: 'daemon_cpu_pct_per_room', title: 'Daemon CPU per room', unit: '% of a core' },
  { key: 'underrun_ms_per_room_min', title: 'Silence heard', unit: 'ms per room-minute' },
  { key: 'first_audio_ms_p50', title: 'First audio p50', unit: 'ms after the start command' },
];
const COLOURS = ['#1f6fb4', '#d9541e', '#2a9d4b', '#8e44ad', '#b8860b', '#c0392b', '#16a2b8', '#555555'];
const W = 330;
const H = 250;
const M = { left: 52, right: 14, top: 40, bottom: 40 };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v) => (Math.abs(v) >= 100 ? String(Math.round(v)) : Math.abs(v) >= 1 ? String(Math.round(v * 10) / 10) : String(Math.round(v * 100) / 100));

/** A round tick step giving about `n` ticks up to `max`. */
function tickStep(max, n = 4) {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? 10 * p;
}

/** The line a step belongs to: its audio setting and content (steps without them take the run's). */
function seriesName(step, settings) {
  const frame = step.frame_ms ?? settings.frame_ms;
  const queue = step.queue_ms ?? settings.queue_ms;
  const content = step.content ?? settings.content ?? 'tones';
  const songs = step.song_seconds ?? settings.song_seconds;
  return `${step.build ? `${step.build}: ` : ''}${step.instances ? `${step.instances} instances, ` : ''}${frame} ms frames, ${queue} ms queue, ${content}${songs ? ` (${songs} s songs)` : ''}`;
}

function panel(p, series, maxRooms, x0) {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const values = series.flatMap((s) => s.points.map((pt) => pt[p.key])).filter((v) => typeof v === 'number');
  const top = 1.12 * Math.max(0, ...values) || 1; // headroom for the value labels; all zero: 0..1
  const yStep = tickStep(top);
  const yMax = Math.max(yStep, Math.ceil(top / yStep) * yStep);
  const xStep = Math.max(1, tickStep(maxRooms, 5)); // whole rooms
  const xMax = Math.max(xStep, Math.ceil(maxRooms / xStep) * xStep);
  const X = (r) => x0 + M.left + (r / xMax) * pw;
  const Y = (v) => M.top + ph - (v / yMax) * ph;
  const out = [`<text x="${x0 + M.left}" y="18" class="title">${esc(p.title)}</text>`, `<text x="${x0 + M.left}" y="32" class="unit">${esc(p.unit)}</text>`];
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(`<line x1="${X(0)}" y1="${Y(v)}" x2="${X(xMax)}" y2="${Y(v)}" class="grid"/>`, `<text x="${X(0) - 6}" y="${Y(v) + 4}" class="tick" text-anchor="end">${fmt(v)}</text>`);
  }
  for (let r = 0; r <= xMax; r += xStep) out.push(`<text x="${X(r)}" y="${M.top + ph + 16}" class="tick" text-anchor="middle">${fmt(r)}</text>`);
  out.push(`<line x1="${X(0)}" y1="${Y(0)}" x2="${X(xMax)}" y2="${Y(0)}" class="axis"/>`, `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(0)}" y2="${Y(yMax)}" class="axis"/>`);
  out.push(`<text x="${X(xMax / 2)}" y="${H - 6}" class="tick" text-anchor="middle">rooms</text>`);
  for (const s of series) {
    const pts = s.points.filter((pt) => typeof pt[p.key] === 'number').sort((a, b) => a.rooms - b.rooms);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map((pt) => `${X(pt.rooms)},${Y(pt[p.key])}`).join(' ')}"/>`);
    for (const pt of pts) {
      out.push(`<circle cx="${X(pt.rooms)}" cy="${Y(pt[p.key])}" r="3.5" fill="${s.colour}"/>`);
      // Labels right of their point, but left of it near the right edge so they are not cut off.
      const right = pt.rooms > 0.8 * xMax;
      if (series.length === 1) out.push(`<text x="${X(pt.rooms) + (right ? -6 : 6)}" y="${Y(pt[p.key]) - 6}" class="value" text-anchor="${right ? 'end' : 'start'}">${fmt(pt[p.key])}</text>`);
    }
  }
  return out.join('\n');
}

/** The SVG of one bench report (the .json the bench writes). */
export function chartSvg(report) {
  const groups = new Map();
  for (const step of report.steps) {
    const name = seriesName(step, report.settings);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(step);
  }
  // A matrix has more lines than colours: the second round of colours is dashed, and so is the
  // earlier build of a before/after run.
  const series = [...groups].map(([name, points], i) => ({ name, points, colour: COLOURS[i % COLOURS.length], dash: i >= COLOURS.length || points[0]?.build === 'before' ? '6 3' : '' }));
  const maxRooms = Math.max(1, ...report.steps.map((s) => s.rooms));
  const legendH = 18 * series.length + 10;
  const width = W * PANELS.length;
  const height = 30 + H + legendH;
  const m = report.machine;
  const head = `Benchmark ${report.date}: ${m.cores} cores (${m.cpu}), Node ${m.node}; ${report.settings.step_seconds} s per step`;
  const body = PANELS.map((p, i) => panel(p, series, maxRooms, i * W)).join('\n');
  const legend = series.map((s, i) => `<line x1="${M.left}" y1="${30 + H + 6 + 18 * i}" x2="${M.left + 14}" y2="${30 + H + 6 + 18 * i}" stroke="${s.colour}" stroke-width="3"${s.dash ? ' stroke-dasharray="4 2"' : ''}/><text x="${M.left + 20}" y="${30 + H + 10 + 18 * i}" class="tick">${esc(s.name)}</text>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<style>.title{font-size:14px;font-weight:bold;fill:#222}.unit{font-size:11px;fill:#666}.tick{font-size:11px;fill:#444}.value{font-size:10px;fill:#222}.grid{stroke:#e4e4e4}.axis{stroke:#888}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="18" class="unit">${esc(head)}</text>
<g transform="translate(0,24)">
${body}
</g>
${legend}
</svg>
`;
}

/** Writes `<stamp>.svg` beside `<stamp>.json`; returns its path. */
export function writeChart(jsonPath) {
  const svgPath = jsonPath.replace(/\.json$/, '.svg');
  writeFileSync(svgPath, chartSvg(JSON.parse(readFileSync(jsonPath, 'utf8'))));
  return svgPath;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of process.argv.slice(2)) process.stdout.write(`${writeChart(f)}\n`);
}
