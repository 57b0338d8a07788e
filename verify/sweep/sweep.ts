/**
 * `fixynn sweep`: every split K from 0 to the last one leaving the accelerator a weighted layer (or
 * --max-k), each point (point.ts) in its own worker process, --jobs at a time; then the collect step joins
 * the points into OUT/sweep.json and picks the K of least energy per image within the area budget.
 *
 * A point is one command line (`fixynn sweep MODEL --point K ...`), the same one a cluster's job array runs
 * per task (slurm.ts), so the local run and the emitted tasks share every line of the point's code.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import { loadModel } from '../../generator/design/generate-design.js';
import { splitPoints } from '../../generator/graph/split.js';
import type { ArithStrategy } from '../../generator/ffe/index.js';
import { MODEL_ACTIVITY } from '../synth/energy-model.js';
import { ACCELERATOR_MODEL_METHOD, type Tables } from './figures.js';
import { pointDir } from './point.js';
import { type AnyPoint, donePoints, isRefused, POINT_JSON, readPoint, SWEEP_FORMAT, SWEEP_JSON, SWEEP_VERSION, type Sweep, type SweepPoint } from './schema.js';

export interface SweepOptions {
  readonly model: string;
  readonly out: string;
  readonly accel: { readonly rows: number; readonly cols: number };
  readonly arith: ArithStrategy;
  readonly maxK?: number;
  readonly jobs?: number;
  readonly synth: boolean;
  readonly liberty?: string;
  readonly areaBudgetUm2?: number;
  readonly onProgress?: (message: string) => void;
}

export interface SweepPlan {
  readonly file: string;
  readonly sha256: string;
  readonly layers: number;
  readonly ks: readonly number[];
}

/** The splits swept: valid cuts (one tensor crossing) that leave a conv/gemm to the accelerator, up to --max-k. */
export function planSweep(model: string, maxK: number | undefined): SweepPlan {
  const { graph, sha256 } = loadModel(model, '0');
  let last = -1;
  graph.layers.forEach((l, i) => { if (l.kind === 'conv' || l.kind === 'gemm') last = i; });
  if (last < 0) throw badInput(`${model}: no weighted layer (conv/gemm), nothing to split`);
  const limit = Math.min(last, maxK ?? last);
  const ks = splitPoints(graph).map((p) => p.k).filter((k) => k <= limit);
  return { file: path.basename(model), sha256, layers: graph.layers.length, ks };
}

/** The command line of one point (without the executable): what a worker process or a job-array task runs. */
export function pointArgs(o: SweepOptions, k: number | string): string[] {
  return [
    'sweep', path.resolve(o.model), '--point', String(k), '--out', path.resolve(o.out), '--accel', `${o.accel.rows}x${o.accel.cols}`, '--arith', o.arith,
    ...(o.synth ? ['--synth'] : []), ...(o.liberty !== undefined ? ['--liberty', path.resolve(o.liberty)] : []),
  ];
}

/** bin/fixynn.js of this checkout (the workers run the same fixynn as their parent). */
export const FIXYNN_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fixynn.js');

function runWorker(o: SweepOptions, k: number): Promise<void> {
  const log = path.join(o.out, `${pointDir(k)}.log`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXYNN_BIN, ...pointArgs(o, k)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = Buffer.concat(chunks).toString('utf8');
      writeFileSync(log, text);
      if (code === 0) resolve();
      else reject(checkFailed(`sweep point K = ${k} failed (exit ${code}); its log ${log} ends: ${text.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** Runs the points in worker processes, `jobs` at a time (default the core count). */
async function runPoints(o: SweepOptions, ks: readonly number[]): Promise<void> {
  const jobs = Math.max(1, Math.min(o.jobs ?? os.availableParallelism(), ks.length));
  const queue = [...ks];
  const errors: Error[] = [];
  const worker = async (): Promise<void> => {
    // After a failure no new point starts (the running ones finish): the first error is the answer.
    for (let k = queue.shift(); k !== undefined && errors.length === 0; k = queue.shift()) {
      o.onProgress?.(`sweep: K = ${k} started`);
      try {
        await runWorker(o, k);
        o.onProgress?.(`sweep: K = ${k} done`);
      } catch (err) {
        errors.push(err as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  if (errors.length > 0) throw errors[0];
}

export async function runSweep(o: SweepOptions, tables?: Tables): Promise<Sweep> {
  const plan = planSweep(o.model, o.maxK);
  mkdirSync(o.out, { recursive: true });
  o.onProgress?.(`sweep of ${plan.file}: K = ${plan.ks.join(', ')} on ${o.accel.rows}x${o.accel.cols}, ${Math.min(o.jobs ?? os.availableParallelism(), plan.ks.length)} at a time`);
  await runPoints(o, plan.ks);
  return collectSweep(o, plan, tables);
}

/** The K of least energy per image among the points within the budget (all points without one). */
export function bestK(points: readonly AnyPoint[], budgetUm2: number | undefined): number | null {
  const fitting = points.filter((p): p is SweepPoint => !isRefused(p) && (budgetUm2 === undefined || p.areaUm2 <= budgetUm2));
  if (fitting.length === 0) return null;
  return fitting.reduce((best, p) => (p.energyPerImagePj < best.energyPerImagePj ? p : best)).k;
}

/** The collect step: every point's point.json joined into OUT/sweep.json (a missing point is an error). */
export function collectSweep(o: SweepOptions, plan: SweepPlan = planSweep(o.model, o.maxK), tables?: Tables): Sweep {
  const points = plan.ks.map((k) => {
    const file = path.join(o.out, pointDir(k), POINT_JSON);
    if (!existsSync(file)) throw badInput(`${file}: the point K = ${k} has not run (run its task, or fixynn sweep without --collect)`);
    return readPoint(file);
  });
  const synthed = points.some((p) => !isRefused(p) && p.fixedPart?.areaSource === 'measured');
  const sweep: Sweep = {
    format: SWEEP_FORMAT, version: SWEEP_VERSION,
    model: { file: plan.file, sha256: plan.sha256, layers: plan.layers },
    accel: { rows: o.accel.rows, cols: o.accel.cols }, arith: o.arith, ks: [...plan.ks],
    area: { source: synthed ? 'measured' : 'modeled', table: synthed ? 'fixed part: fixynn synth --target asic (pre-layout); accelerator: modeled' : tables?.area.source ?? 'verify/synth/area-model.ts on the Liberty' },
    energy: { source: 'modeled', table: tables?.energy.source ?? 'verify/synth/energy-model.ts on the Liberty', activity: MODEL_ACTIVITY },
    acceleratorMethod: ACCELERATOR_MODEL_METHOD,
    areaBudgetUm2: o.areaBudgetUm2 ?? null,
    bestK: bestK(points, o.areaBudgetUm2),
    points,
  };
  const file = path.join(o.out, SWEEP_JSON);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(sweep, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
  return sweep;
}

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The printed table: one row per K. */
export function formatSweep(s: Sweep): string {
  const head = ['K', 'fixed adders', 'fixed area mm^2', 'fixed RAM bits', 'accel RAM bits', 'area mm^2', 'fixed cycles/img', 'accel cycles/img', 'bottleneck', 'frames/s', 'energy/img uJ', 'TOPS/W', 'accelerator'];
  const rows = s.points.map((p) => isRefused(p) ? [String(p.k), `refused: ${p.refused}`] : [
    `${p.k}${p.k === s.bestK ? ' *' : ''}`, fmt(p.fixedPart?.adders ?? 0), fmt((p.fixedPart?.areaUm2 ?? 0) / 1e6, 4), fmt(p.fixedPart?.ramBits ?? 0), fmt(p.accelerator.ramBits),
    fmt(p.areaUm2 / 1e6, 3), fmt(p.fixedPart?.cyclesPerImage ?? 0), fmt(p.accelerator.cyclesPerImage), p.bottleneck, fmt(p.framesPerSecond), fmt(p.energyPerImagePj / 1e6, 3), fmt(p.topsPerWatt, 4), p.accelerator.build,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 2).map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.length === 2 ? `${(cells[0] ?? '').padEnd(widths[0] ?? 0)}  ${cells[1] ?? ''}` : cells.map((c, i) => (i === 0 || i === 8 || i === 12 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const budget = s.areaBudgetUm2 === null ? 'no area budget' : `area budget ${fmt(s.areaBudgetUm2 / 1e6, 3)} mm^2`;
  return [
    `sweep of ${s.model.file} on a ${s.accel.rows}x${s.accel.cols} accelerator (--arith ${s.arith}); area ${s.area.source}, energy ${s.energy.source} (activity ${s.energy.activity}), at ${fmt(donePoints(s)[0]?.clockMhz ?? 0)} MHz`,
    line(head), ...rows.map(line),
    s.bestK === null ? `no K fits the ${budget}` : `* best by energy per image with ${budget}: K = ${s.bestK}`,
    `accelerator: ${s.acceleratorMethod}`,
    ...donePoints(s).filter((p) => p.accelerator.note !== null).map((p) => `K = ${p.k}: ${p.accelerator.note ?? ''}`),
  ].join('\n');
}
