/**
 * `fixynn report DIR`: one self-contained HTML page (no script, no network: charts are inline SVG from
 * charts.ts, styles inline) for a sweep folder (OUT/sweep.json and its points) or one chip/accelerator design:
 * the network with its fixed/programmable split, per-layer figures, the sweep as charts and a table, and
 * the verification results (verify.json) with the simulators used.
 *
 * Every figure on the page is printed from the data embedded in the page (`<script type="application/json"
 * id="fixynn-data">`: the sweep.json and point.json read, the verify records) and its cell names its JSON path
 * (`data-path`, `data-scale`, `data-digits`), so a test can check each number against the files.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { badInput } from '../../generator/common/errors.js';
import { MANIFEST } from '../../generator/design/generate-design.js';
import { readDesign } from '../../generator/design/read-design.js';
import { readVerifyRecord, type VerifyRecord } from '../record.js';
import { type Tables } from '../sweep/figures.js';
import { pointFromManifest } from '../sweep/point.js';
import { type AnyPoint, donePoints, isRefused, POINT_JSON, readPoint, readSweep, type Sweep, SWEEP_JSON, type SweepPoint } from '../sweep/schema.js';
import { layerBars, lineOverK, renderSvg, type Row, stackedOverK } from './charts.js';

export const REPORT_HTML = 'report.html';

/** What the page shows, embedded in it: every number on the page is read from here. */
export interface ReportData {
  readonly title: string;
  readonly sweep: Sweep | null;
  /** The design detailed in the per-layer table: a sweep's chosen K, or the design given. */
  readonly point: SweepPoint;
  /** verify.json of each design folder shown, by K ('design' for a single design). */
  readonly verify: Readonly<Record<string, VerifyRecord | null>>;
}

function chosenPoint(sweep: Sweep, k: number | undefined): SweepPoint {
  const done = donePoints(sweep);
  if (done.length === 0) throw badInput(`${SWEEP_JSON}: every point was refused; nothing to report beyond the sweep table (K = ${sweep.ks.join(', ')})`);
  if (k === undefined) return done.find((p) => p.k === sweep.bestK) ?? (done[done.length - 1] as SweepPoint);
  const point = done.find((p) => p.k === k);
  if (point === undefined) throw badInput(`--k ${k}: the sweep has no completed point K = ${k} (completed: ${done.map((p) => p.k).join(', ')})`);
  return point;
}

/** The data of a sweep folder or of one design folder (chip or accelerator). */
export function loadReportData(dir: string, tables: () => Tables, k?: number): ReportData {
  if (existsSync(path.join(dir, SWEEP_JSON))) {
    const sweep = readSweep(path.join(dir, SWEEP_JSON));
    const point = chosenPoint(sweep, k);
    // The detailed point is its point.json (the sweep holds the same record; a test compares both).
    const detailed = readPoint(path.join(dir, point.design, POINT_JSON)) as SweepPoint;
    const verify = Object.fromEntries(sweep.points.map((p) => [String(p.k), isRefused(p) ? null : readVerifyRecord(path.join(dir, p.design))]));
    return { title: `sweep of ${sweep.model.file}`, sweep, point: detailed, verify };
  }
  if (!existsSync(path.join(dir, MANIFEST))) throw badInput(`${dir}: neither a sweep folder (${SWEEP_JSON}) nor a design folder (${MANIFEST})`);
  if (k !== undefined) throw badInput('--k applies to a sweep folder (a design folder is one K)');
  const { manifest } = readDesign(dir);
  if (!manifest.parts.some((p) => p.kind === 'accel')) {
    throw badInput(`${dir}: a fixed part alone; report shows chips and sweeps (generate with --accel RxC, or run fixynn sweep); fixynn synth DIR reports the fixed part's area and energy`);
  }
  return { title: `design ${path.basename(path.resolve(dir))} (${manifest.source.file})`, sweep: null, point: pointFromManifest(manifest, tables()), verify: { design: readVerifyRecord(dir) } };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (x: number, digits: number): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A number cell that names where its value is in the embedded data (the test reads these). */
function num(pathText: string, value: number, digits = 0, scale = 1): string {
  return `<td class="num" data-path="${esc(pathText)}" data-scale="${scale}" data-digits="${digits}">${fmt(value * scale, digits)}</td>`;
}
const td = (s: string): string => `<td>${esc(s)}</td>`;
const table = (head: readonly string[], rows: readonly string[]): string => `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`;

async function chart(id: string, caption: string, spec: Parameters<typeof renderSvg>[0]): Promise<string> {
  return `<figure class="chart" id="${id}">${await renderSvg(spec)}<figcaption>${esc(caption)}</figcaption></figure>`;
}

function summary(d: ReportData): string {
  const p = d.point;
  const split = p.fixedPart === null ? 'every layer on the accelerator (K = 0)' : `layers 0..${p.k - 1} fixed, ${p.k}..${p.layers.length - 1} on the accelerator`;
  return `<p>${esc(split)}; ${p.accelerator.rows}x${p.accelerator.cols} array. The ${esc(p.bottleneck)} is the bottleneck.</p>
<table><tbody>
<tr><th>cycles per image</th>${num('point.cyclesPerImage', p.cyclesPerImage)}</tr>
<tr><th>frames/s at ${fmt(p.clockMhz, 0)} MHz</th>${num('point.framesPerSecond', p.framesPerSecond)}</tr>
<tr><th>area mm^2 (${esc(p.fixedPart?.areaSource ?? p.accelerator.areaSource)} fixed part, ${esc(p.accelerator.areaSource)} accelerator)</th>${num('point.areaUm2', p.areaUm2, 3, 1e-6)}</tr>
<tr><th>energy per image uJ (modeled)</th>${num('point.energyPerImagePj', p.energyPerImagePj, 3, 1e-6)}</tr>
<tr><th>ops per image (2 x dense MACs)</th>${num('point.opsPerImage', p.opsPerImage)}</tr>
<tr><th>TOPS/W</th>${num('point.topsPerWatt', p.topsPerWatt, 4)}</tr>
</tbody></table>`;
}

function layerTable(p: SweepPoint): string {
  const rows = p.layers.map((l, i) => {
    const at = `point.layers.${i}`;
    return `<tr class="${l.side === 'fixed part' ? 'fixed' : 'accel'}">${num(`${at}.index`, l.index)}${td(l.name)}${td(l.kind)}${td(l.side)}${td(l.output.join('x'))}`
      + `${num(`${at}.weights`, l.weights)}${num(`${at}.nonzeroWeights`, l.nonzeroWeights)}${num(`${at}.macs`, l.macs)}`
      + `${l.adders === null ? td('-') : num(`${at}.adders`, l.adders)}${l.areaUm2 === null ? td('-') : num(`${at}.areaUm2`, l.areaUm2, 0)}`
      + `${num(`${at}.cycles`, l.cycles)}${num(`${at}.energyPj`, l.energyPj, 3, 1e-3)}</tr>`;
  });
  return table(['#', 'layer', 'kind', 'runs on', 'output CxHxW', 'weights', 'nonzero', 'MACs', 'adders', 'area um^2', 'cycles', 'energy nJ'], rows);
}

function sweepTable(s: Sweep): string {
  const rows = s.points.map((p: AnyPoint, i) => {
    const at = `sweep.points.${i}`;
    if (isRefused(p)) return `<tr class="refused">${num(`${at}.k`, p.k)}<td colspan="12">refused: ${esc(p.refused)}</td></tr>`;
    return `<tr${p.k === s.bestK ? ' class="best"' : ''}>${num(`${at}.k`, p.k)}${p.fixedPart === null ? td('-') + td('-') + td('-') : num(`${at}.fixedPart.adders`, p.fixedPart.adders) + num(`${at}.fixedPart.areaUm2`, p.fixedPart.areaUm2, 4, 1e-6) + num(`${at}.fixedPart.ramBits`, p.fixedPart.ramBits)}`
      + `${num(`${at}.accelerator.ramBits`, p.accelerator.ramBits)}${num(`${at}.areaUm2`, p.areaUm2, 3, 1e-6)}${num(`${at}.accelerator.cyclesPerImage`, p.accelerator.cyclesPerImage)}`
      + `${td(p.bottleneck)}${num(`${at}.framesPerSecond`, p.framesPerSecond)}${num(`${at}.energyPerImagePj`, p.energyPerImagePj, 3, 1e-6)}${num(`${at}.topsPerWatt`, p.topsPerWatt, 4)}${p.accelerator.note === null ? td(p.accelerator.build) : `<td title="${esc(p.accelerator.note)}">${esc(p.accelerator.build)} (note ${p.k})</td>`}</tr>`;
  });
  const budget = s.areaBudgetUm2 === null ? 'no area budget' : `an area budget of ${fmt(s.areaBudgetUm2 / 1e6, 3)} mm^2`;
  return `${table(['K', 'fixed adders', 'fixed area mm^2', 'fixed RAM bits', 'accel RAM bits', 'area mm^2', 'accel cycles/img', 'bottleneck', 'frames/s', 'energy/img uJ', 'TOPS/W', 'accelerator'], rows)}
${donePoints(s).filter((p) => p.accelerator.note !== null).map((p) => `<p class="note">note ${p.k}: ${esc(p.accelerator.note ?? '')}</p>`).join('\n')}
<p>${s.bestK === null ? `No K fits ${esc(budget)}.` : `Best by energy per image with ${esc(budget)}: <strong>K = <span data-path="sweep.bestK" data-scale="1" data-digits="0">${s.bestK}</span></strong> (highlighted).`}</p>`;
}

async function sweepCharts(s: Sweep): Promise<string> {
  const done = donePoints(s);
  const bySide = (f: (p: SweepPoint) => { fixed: number; accel: number }, field: string): Row[] => done.flatMap((p) => {
    const v = f(p);
    return [{ K: p.k, side: 'fixed part', [field]: v.fixed }, { K: p.k, side: 'accelerator', [field]: v.accel }];
  });
  const energy = bySide((p) => ({ fixed: (p.fixedPart?.energyPerImagePj ?? 0) / 1e6, accel: p.accelerator.energyPerImagePj / 1e6 }), 'energy');
  const area = bySide((p) => ({ fixed: (p.fixedPart?.areaUm2 ?? 0) / 1e6, accel: p.accelerator.areaUm2 / 1e6 }), 'area');
  const cycles = bySide((p) => ({ fixed: p.fixedPart?.cyclesPerImage ?? 0, accel: p.accelerator.cyclesPerImage }), 'cycles').filter((r) => Number(r['cycles']) > 0);
  const tops = done.map((p) => ({ K: p.k, tops: p.topsPerWatt }));
  return [
    await chart('chart-energy', 'Energy per image by side (modeled), uJ', stackedOverK(energy, { field: 'energy', title: 'energy per image (uJ)' }, { field: 'side', title: 'side' })),
    await chart('chart-area', 'Area by side, mm^2', stackedOverK(area, { field: 'area', title: 'area (mm^2)' }, { field: 'side', title: 'side' })),
    await chart('chart-cycles', 'Cycles per image of each side (the larger is the frame period)', lineOverK(cycles, { field: 'cycles', title: 'cycles per image' }, { field: 'side', title: 'side' }, true)),
    await chart('chart-tops', 'TOPS/W of the whole chip (2 x dense MACs per image / energy per image)', lineOverK(tops, { field: 'tops', title: 'TOPS/W' })),
  ].join('\n');
}

function verifySection(d: ReportData): string {
  const entries = Object.entries(d.verify);
  const rows = entries.flatMap(([key, r]) => {
    const where = key === 'design' ? 'this design' : `K = ${key}`;
    if (r === null) return [`<tr>${td(where)}<td colspan="5">not verified (no verify.json: run fixynn verify on its folder)</td></tr>`];
    return r.rungs.map((g, i) => `<tr class="${r.passed ? 'pass' : 'fail'}">${td(where)}${td(g.check)}${td(g.simulator)}${num(`verify.${key}.rungs.${i}.mismatches`, g.mismatches)}`
      + `${td(`${r.images} image(s) from ${r.data}`)}${td(g.first === null ? (r.passed ? 'bit-exact' : (r.fault ?? 'failed')) : g.first)}</tr>`);
  });
  return table(['design', 'check', 'simulator', 'mismatches', 'inputs', 'result'], rows);
}

function sources(d: ReportData): string {
  const p = d.point;
  const lines = [
    `Fixed part: area ${p.fixedPart?.areaSource ?? '-'} (${p.fixedPart?.areaSource === 'measured' ? 'fixynn synth --target asic, pre-layout' : 'verify/synth/area-model.ts: cost counts x Liberty cell areas'}); energy modeled (verify/synth/energy-model.ts: cost counts x a Liberty-derived table, activity ${d.sweep?.energy.activity ?? 0.25}).`,
    `Accelerator (verify/sweep/figures.ts acceleratorFigures): area ${p.accelerator.areaSource}, energy ${p.accelerator.energySource}: ${p.accelerator.method}.`,
    'Cycles: the fixed part streams one pixel per clock; the accelerator\'s are the cycle model\'s prediction (its input stream, program and result stream). Both sides work on different frames at once: the frame period is the slower side\'s, and the faster side waits with its flip-flops still clocked (no clock gating), which its energy includes.',
  ];
  if (d.sweep) lines.push(`Tables: area ${d.sweep.area.table}; energy ${d.sweep.energy.table}.`);
  return lines.map((l) => `<p>${esc(l)}</p>`).join('\n');
}

const STYLE = `body{font-family:sans-serif;margin:2em;max-width:80em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 6px;font-size:13px}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fixed td{background:#eef5ff}tr.best td{background:#fff4cc}tr.fail td{background:#fdd}tr.refused td{color:#777}
figure.chart{display:inline-block;margin:0 1em 1em 0;vertical-align:top}figcaption{font-size:12px;color:#555}`;

export async function renderReport(d: ReportData): Promise<string> {
  const layerRows: Row[] = d.point.layers.map((l) => ({ layer: String(l.index), name: l.name, side: l.side, macs: l.macs }));
  const data = JSON.stringify({ sweep: d.sweep, point: d.point, verify: d.verify }).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fixynn report: ${esc(d.title)}</title><style>${STYLE}</style>
<script type="application/json" id="fixynn-data">${data}</script></head>
<body>
<h1>fixynn report: ${esc(d.title)}</h1>
<h2>The design at K = ${d.point.k}</h2>
${summary(d)}
<h2>The network and its split</h2>
${await chart('chart-layers', 'MACs per layer, by the side that runs it', layerBars(layerRows, { field: 'macs', title: 'MACs per image' }))}
<h2>Per layer</h2>
${layerTable(d.point)}
${d.sweep === null ? '<h2>Sweep</h2><p>No sweep: this is one design (fixynn sweep MODEL --out DIR, then fixynn report DIR).</p>' : `<h2>Sweep over K</h2>\n${await sweepCharts(d.sweep)}\n${sweepTable(d.sweep)}`}
<h2>Verification</h2>
${verifySection(d)}
<h2>How the figures were obtained</h2>
${sources(d)}
</body></html>
`;
}

/** Writes DIR/report.html (or `out`); returns its path. */
export async function writeReport(dir: string, tables: () => Tables, options: { k?: number; out?: string } = {}): Promise<string> {
  const data = loadReportData(dir, tables, options.k);
  const html = await renderReport(data);
  const file = options.out ?? path.join(dir, REPORT_HTML);
  writeFileSync(`${file}.tmp`, html);
  renameSync(`${file}.tmp`, file);
  return file;
}
