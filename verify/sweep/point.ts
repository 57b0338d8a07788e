/**
 * One sweep point: the design at split K (K = 0: the accelerator alone; K > 0: the chip) generated into
 * OUT/k<K>, its figures (figures.ts) written to OUT/k<K>/point.json. A point is self-contained, so the
 * points of a sweep run in any order, in parallel worker processes or as the tasks of a cluster's job array
 * (sweep.ts, slurm.ts), and a collect step joins them.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { FixynnError } from '../../generator/common/errors.js';
import path from 'node:path';
import type { ArithStrategy } from '../../generator/ffe/index.js';
import { ffeCore } from '../../generator/design/core.js';
import { NOMINAL_CLOCK_MHZ } from '../../generator/design/chip.js';
import { generateAccelDesign } from '../../generator/design/generate-accel-design.js';
import { generateDesign, loadAndQuantize, MANIFEST } from '../../generator/design/generate-design.js';
import { type AccelPart, type FfePart, type Manifest, partOf } from '../../generator/design/manifest.js';
import { ACCEL_CHIP, buildAccelPart, compileForChip } from '../../generator/design/accel-part.js';
import { acceleratorFrameCycles } from '../../generator/design/chip.js';
import { configForModel } from '../../generator/accel/index.js';
import { rtlConfig } from '../../generator/accel/rtl/config.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { readDesign } from '../../generator/design/read-design.js';
import { areaTable, modelArea } from '../synth/area-model.js';
import { libertyTable, modelEnergy } from '../synth/energy-model.js';
import { prepareLiberty } from '../synth/liberty-file.js';
import { synthDesign, writeSynthReport } from '../synth/synth-design.js';
import { type AcceleratorPart, acceleratorFigures, layerFigures, layerMacs, sideEnergyPj, type Tables } from './figures.js';
import { type AnyPoint, POINT_JSON, type RefusedPoint, SWEEP_FORMAT, SWEEP_VERSION, type SweepPoint } from './schema.js';

export interface PointOptions {
  readonly model: string;
  readonly out: string;
  readonly k: number;
  readonly accel: { readonly rows: number; readonly cols: number };
  readonly arith: ArithStrategy;
  /** Measure the fixed part's area with `synth --target asic` (slow) instead of the model. */
  readonly synth: boolean;
  readonly liberty?: string;
  readonly onProgress?: (message: string) => void;
}

export const pointDir = (k: number): string => `k${k}`;
/** With --synth: the fixed part alone (the chip's folder would synthesize the accelerator too). */
export const fixedPartDir = (k: number): string => `ffe-k${k}`;

export function sweepTables(liberty: string | undefined): Tables {
  const lib = prepareLiberty(liberty).parsed;
  return { energy: libertyTable(lib), area: areaTable(lib) };
}

async function generatePoint(o: PointOptions, dir: string): Promise<Manifest> {
  const accel = `${o.accel.rows}x${o.accel.cols}`;
  const onProgress = o.onProgress ?? ((): void => {});
  if (o.k === 0) return (await generateAccelDesign(o.model, { fixedLayers: '0', accel, out: dir, onProgress })).manifest;
  return (await generateDesign(o.model, { fixedLayers: String(o.k), out: dir, arith: o.arith, pipeline: 0, rawInput: false, accel, onProgress }, ffeCore)).manifest;
}

/** The fixed part alone, generated and synthesized for its measured area. */
async function synthFixedPart(o: PointOptions): Promise<{ dir: string; area: number; memoryArea: number; maxClockMhz: number | null; cells: number }> {
  const dir = path.join(o.out, fixedPartDir(o.k));
  await generateDesign(o.model, { fixedLayers: String(o.k), out: dir, arith: o.arith, pipeline: 0, rawInput: false, ...(o.onProgress ? { onProgress: o.onProgress } : {}) }, ffeCore);
  const design = readDesign(dir);
  const { report } = await synthDesign(design, { target: 'asic', jobs: 1, ...(o.liberty !== undefined ? { liberty: o.liberty } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  writeSynthReport(design, report);
  return { dir: fixedPartDir(o.k), area: report.total.area ?? 0, memoryArea: report.total.memoryArea ?? 0, maxClockMhz: report.timing?.maxClockMhz ?? null, cells: report.total.cells };
}

function cyclesOf(m: Manifest, accel: AccelPart): { fixed: number; accelerator: number; period: number; clockMhz: number } {
  if (m.split === undefined) return { fixed: 0, accelerator: accel.program.predictedCycles, period: accel.program.predictedCycles, clockMhz: NOMINAL_CLOCK_MHZ };
  return { fixed: m.split.fixedCyclesPerFrame, accelerator: m.split.acceleratorCyclesPerFrame, period: m.split.cyclesPerFrame, clockMhz: m.split.clockMHz };
}

function modeledFixedSide(ffe: FfePart, cycles: { fixed: number; period: number }, tables: Tables): NonNullable<SweepPoint['fixedPart']> {
  const modeled = modelArea(ffe.cost, tables.area);
  return {
    layers: ffe.fixedLayerCount, adders: ffe.cost.adders, productAdders: ffe.cost.productAdders, nonzeroWeights: ffe.cost.nonzeroWeights,
    ramBits: ffe.cost.memoryBits, registerBits: ffe.cost.registerBits, cyclesPerImage: cycles.fixed,
    areaUm2: modeled.total, memoryAreaUm2: modeled.memory, areaSource: 'modeled',
    energyPerImagePj: sideEnergyPj(ffe.cost, cycles.fixed, cycles.period, tables.energy), energySource: 'modeled', synth: null,
  };
}

/** The fixed part's side: modeled, or with --synth its area measured. */
async function fixedSide(o: PointOptions, ffe: FfePart, cycles: { fixed: number; period: number }, tables: Tables): Promise<NonNullable<SweepPoint['fixedPart']>> {
  const modeled = modeledFixedSide(ffe, cycles, tables);
  if (!o.synth) return modeled;
  const synth = await synthFixedPart(o);
  return { ...modeled, areaUm2: synth.area, memoryAreaUm2: synth.memoryArea, areaSource: 'measured', synth: { dir: synth.dir, maxClockMhz: synth.maxClockMhz, cells: synth.cells } };
}

/** Generates the point's design and computes its figures; writes OUT/k<K>/point.json and returns it. */
export async function runPoint(o: PointOptions, tables: Tables = sweepTables(o.liberty)): Promise<AnyPoint> {
  const start = performance.now();
  const dir = path.join(o.out, pointDir(o.k));
  let point: SweepPoint;
  try {
    const m = await generatePoint(o, dir);
    if (!existsSync(path.join(dir, MANIFEST))) throw new Error(`internal: ${dir} has no ${MANIFEST} after generating`);
    const ffe = m.parts.find((p): p is FfePart => p.kind === 'ffe');
    const accel = partOf(m, 'accel');
    const cycles = cyclesOf(m, accel);
    const fixedPart = ffe === undefined ? null : await fixedSide(o, ffe, cycles, tables);
    point = pointFromParts({ ffe, accel, graph: accel.quantization, cycles, build: 'chip', note: null }, tables, fixedPart);
  } catch (err) {
    // The generated chip's refusal of this split (bad input: e.g. a layer its fixed memories cannot hold):
    // the accelerator is compiled for memories sized to the model instead; refused again, the point is
    // tabulated as refused. Anything else is a failure.
    if (!isRefusal(err)) throw err;
    point = await compiledPoint(o, (err as Error).message, tables).catch((again: unknown) => {
      if (!isRefusal(again)) throw again;
      return null as unknown as SweepPoint;
    });
    if (point === null) {
      const refused: RefusedPoint = { format: `${SWEEP_FORMAT}-point`, version: SWEEP_VERSION, k: o.k, design: pointDir(o.k), refused: (err as Error).message, seconds: (performance.now() - start) / 1000 };
      mkdirSync(dir, { recursive: true });
      writePoint(dir, refused);
      return refused;
    }
  }
  const done = { ...point, design: pointDir(o.k), seconds: (performance.now() - start) / 1000 };
  writePoint(dir, done);
  return done;
}

const isRefusal = (err: unknown): boolean => err instanceof FixynnError && err.exitCode === 2;

function writePoint(dir: string, point: AnyPoint): void {
  const file = path.join(dir, POINT_JSON);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(point, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** MEM of the compiled accelerator: off chip behind its AXI4 master (rtl/axi-master.ts), so any size the image needs. */
const COMPILED_MEM_BYTES = 1 << 24;
/** The AXI4-Lite program window's limit (rtl/config.ts). */
const COMPILED_IMEM_WORDS = 4096;

/**
 * A point the generated chip refuses: the fixed part generated alone into OUT/k<K> (K > 0), the accelerator
 * compiled (no RTL folder) for the same array with memories sized to the model (configForModel) and MEM off
 * chip behind AXI; its cost counts from its RTL description built in memory, its cycles from the cycle model.
 */
async function compiledPoint(o: PointOptions, reason: string, tables: Tables): Promise<SweepPoint> {
  const dir = path.join(o.out, pointDir(o.k));
  let graph: QuantizedGraph;
  let ffe: FfePart | undefined;
  let fixedCycles = 0;
  if (o.k > 0) {
    const generated = await generateDesign(o.model, { fixedLayers: String(o.k), out: dir, arith: o.arith, pipeline: 0, rawInput: false, ...(o.onProgress ? { onProgress: o.onProgress } : {}) }, ffeCore);
    graph = generated.design.graph;
    ffe = partOf(generated.manifest, 'ffe');
    fixedCycles = generated.manifest.top.throughput.idealCyclesPerFrame;
  } else {
    graph = (await loadAndQuantize(o.model, { fixedLayers: '0', ...(o.onProgress ? { onProgress: o.onProgress } : {}) })).quantized;
    mkdirSync(dir, { recursive: true });
  }
  o.onProgress?.(`K = ${o.k}: the generated chip refuses this split (${reason}); compiling the accelerator with memories sized to the model, MEM off chip`);
  const base = configForModel(graph, o.accel.rows, o.accel.cols, {}, { fromLayer: o.k });
  const config = configForModel(graph, o.accel.rows, o.accel.cols, {
    ...ACCEL_CHIP, actRows: Math.max(ACCEL_CHIP.actRows, base.actRows), qpRows: Math.max(ACCEL_CHIP.qpRows, base.qpRows), memBytes: COMPILED_MEM_BYTES,
    imemWords: COMPILED_IMEM_WORDS, memPortBytes: Math.min(16, o.accel.cols), weightBits: base.weightBits, accBits: 32, multiplierBits: 32,
  }, { fromLayer: o.k });
  const chip = { config, rtl: rtlConfig(config, { memory: 'axi' }) };
  const compiled = compileForChip(graph, chip, o.k);
  const accel = buildAccelPart(graph, chip, compiled, o.k).section;
  const frame = acceleratorFrameCycles(compiled);
  const fixed = fixedCycles;
  // K = 0: the accelerator alone, as a generated one is counted (cyclesOf): the program, the image already in MEM.
  const accelerator = o.k === 0 ? frame.program : frame.total;
  const cycles = { fixed, accelerator, period: Math.max(fixed, accelerator), clockMhz: NOMINAL_CLOCK_MHZ };
  const note = `compiled, not generated: the generated chip refuses this split (${reason}); the accelerator here has ACT ${config.actRows} and QP ${config.qpRows} rows, `
    + `MEM off chip (AXI4), cycles from the cycle model with MEM at the on-chip port's timing`;
  const fixedPart = ffe === undefined ? null : await fixedSide(o, ffe, cycles, tables);
  return pointFromParts({ ffe, accel, graph, cycles, build: 'compiled', note }, tables, fixedPart);
}

export interface PointParts {
  readonly ffe: FfePart | undefined;
  readonly accel: AcceleratorPart;
  readonly graph: QuantizedGraph;
  readonly cycles: { readonly fixed: number; readonly accelerator: number; readonly period: number; readonly clockMhz: number };
  readonly build: 'chip' | 'compiled';
  readonly note: string | null;
}

/** The figures of a generated chip or accelerator design (a sweep point without its folder and time). */
export function pointFromManifest(m: Manifest, tables: Tables): SweepPoint {
  const ffe = m.parts.find((p): p is FfePart => p.kind === 'ffe');
  const accel = partOf(m, 'accel');
  return pointFromParts({ ffe, accel, graph: accel.quantization, cycles: cyclesOf(m, accel), build: 'chip', note: null }, tables);
}

/** The point's figures from its parts, the fixed part's side given (measured with --synth) or modeled here. */
export function pointFromParts(parts: PointParts, tables: Tables, given?: SweepPoint['fixedPart']): SweepPoint {
  const { ffe, accel, graph, cycles } = parts;
  const fixedPart = given ?? (ffe === undefined ? null : modeledFixedSide(ffe, cycles, tables));
  const a = acceleratorFigures(accel, { busy: cycles.accelerator, period: cycles.period, clockMhz: cycles.clockMhz }, tables);
  const ops = 2 * graph.layers.reduce((s, l) => s + layerMacs(graph, l), 0);
  const energy = (fixedPart?.energyPerImagePj ?? 0) + a.energyPerImagePj;
  return {
    format: `${SWEEP_FORMAT}-point`, version: SWEEP_VERSION, k: accel.fromLayer, design: '.', fixedPart,
    accelerator: {
      build: parts.build, note: parts.note,
      rows: accel.array.rows, cols: accel.array.cols, fromLayer: accel.fromLayer, cyclesPerImage: cycles.accelerator, macs: accel.program.macs,
      utilization: accel.program.utilization, ramBits: accel.cost.memoryBits, areaUm2: a.areaUm2, memoryAreaUm2: a.memoryAreaUm2,
      areaSource: a.areaSource, energyPerImagePj: a.energyPerImagePj, energySource: a.energySource, method: a.method,
    },
    cyclesPerImage: cycles.period,
    bottleneck: cycles.accelerator > cycles.fixed ? 'accelerator' : 'fixed part',
    clockMhz: cycles.clockMhz,
    framesPerSecond: (cycles.clockMhz * 1e6) / cycles.period,
    areaUm2: (fixedPart?.areaUm2 ?? 0) + a.areaUm2,
    energyPerImagePj: energy,
    opsPerImage: ops,
    // ops per pJ = 1e12 ops per J = TOPS/W
    topsPerWatt: ops / energy,
    layers: layerFigures({ ffe, accel, graph }, tables, { fixedCycles: cycles.fixed, clockMhz: cycles.clockMhz }),
    seconds: 0,
  };
}
