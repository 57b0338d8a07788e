/**
 * npm run bench:arith [--json] [--no-yosys] [--scale-only]
 *
 * Adders (one two-input add or subtract; shifts and output negations are wiring) of each strategy on the
 * constant matrix-vector benchmark in ../shared/bench/cmvm/, beside the peer's (da4ml) figures from
 * peer-da4ml.json measured on the same matrices, on seeded random matrices of other sizes and on the
 * example model's layers; then Yosys cell counts of the generated blocks (multiply / csd / shared).
 * Every solution is verified exact (verifySolution) before it is counted.
 *
 * `shared` runs twice where the peer has figures: at the least possible depth (the default, compared with
 * da4ml's minimum-depth mode) and with the peer's own default depth as the limit (compared with da4ml's
 * default). Both are the same optimizer; only the depth limit differs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AdderGraph,
  type ConstMatrix,
  type GraphStrategy,
  type SolveOptions,
  adderCount,
  fromInputMajor,
  graphDepth,
  perInputBound,
  randomMatrix,
  solveCmvm,
  verifySolution,
} from '../generator/arith/index.js';
import { type BlockStrategy, BLOCK_STRATEGIES, buildCmvmBlock } from '../generator/arith/cmvm-block.js';
import { isIntegerDtype, npyToNumbers, readNpy } from '../generator/data/npy.js';
import { emitDesign } from '../generator/emit/index.js';
import { badInput } from '../generator/common/errors.js';
import { importModel } from '../generator/import/index.js';
import { quantizeWeightsPerChannel } from '../generator/quant/quantize.js';
import { yosysStat } from '../verify/sim/index.js';
import { seededRandom } from '../generator/common/seeded-random.js';
import { quantizeQdq } from '../generator/quant/quantize.js';
import type { QConvLayer } from '../generator/quant/ir.js';
import { convMatrix } from '../generator/ffe/conv.js';
import { scriptArgs } from './args.js';
import { MOBILENET_QDQ } from './photos.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = resolve(repoRoot, '../shared/bench/cmvm');

interface PeerFigures {
  readonly da4ml_min_depth_mode: { readonly adders: number; readonly adder_depth: number };
  readonly da4ml_adders: number;
  readonly da4ml_adder_depth: number;
  readonly da4ml_seconds_2_threads: number;
  readonly csd_adders: number;
  readonly per_input_sharing_bound: number;
}

interface StrategyResult {
  readonly adders: number;
  readonly depth: number;
  readonly seconds: number;
}

interface Row {
  readonly name: string;
  readonly shape: string;
  readonly nonzero: number;
  readonly bound: number;
  readonly results: Record<GraphStrategy, StrategyResult>;
  /** `shared` with the peer's default depth as its limit. */
  readonly atPeerDepth?: StrategyResult;
  readonly peer?: PeerSummary;
}

interface PeerSummary {
  readonly adders: number;
  readonly depth: number;
  readonly seconds: number;
  readonly csd: number;
  readonly bound: number;
  readonly minDepthAdders: number;
  readonly minDepth: number;
}

const STRATEGIES: readonly GraphStrategy[] = ['csd', 'per-input', 'shared'];

/** Solves every matrix of a case (verified), counts summed, depth the largest. */
function solveAll(name: string, matrices: readonly ConstMatrix[], options: SolveOptions): StrategyResult {
  let adders = 0;
  let depth = 0;
  let seconds = 0;
  for (const w of matrices) {
    const inputs = w[0]?.length ?? 0;
    const start = performance.now();
    const graph: AdderGraph = solveCmvm(w, inputs, options);
    seconds += (performance.now() - start) / 1000;
    const verdict = verifySolution(w, graph);
    if (!verdict.ok) throw new Error(`${name} ${options.strategy}: wrong solution: ${verdict.reason}`);
    adders += adderCount(graph);
    depth = Math.max(depth, graphDepth(graph));
  }
  return { adders, depth, seconds };
}

/** One benchmark case: one or more independent matrices (a depthwise layer is C of them), counts summed. */
function measure(name: string, shape: string, matrices: readonly ConstMatrix[], peer?: PeerFigures): Row {
  progress(`${name}`);
  const results = {} as Record<GraphStrategy, StrategyResult>;
  for (const strategy of STRATEGIES) results[strategy] = solveAll(name, matrices, { strategy });
  const nonzero = matrices.reduce((n, w) => n + w.flat().filter((c) => c !== 0).length, 0);
  const bound = matrices.reduce((n, w) => n + perInputBound(w, w[0]?.length ?? 0), 0);
  const row: Row = { name, shape, nonzero, bound, results };
  if (peer === undefined) return row;
  return {
    ...row,
    atPeerDepth: solveAll(name, matrices, { strategy: 'shared', maxDepth: peer.da4ml_adder_depth }),
    peer: {
      adders: peer.da4ml_adders,
      depth: peer.da4ml_adder_depth,
      seconds: peer.da4ml_seconds_2_threads,
      csd: peer.csd_adders,
      bound: peer.per_input_sharing_bound,
      minDepthAdders: peer.da4ml_min_depth_mode.adders,
      minDepth: peer.da4ml_min_depth_mode.adder_depth,
    },
  };
}

function progress(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

/** [inputs, outputs] as one matrix; [C, taps, 1] (depthwise) as C separate 1 x taps matrices. */
function matricesOfFile(path: string): { shape: string; matrices: ConstMatrix[] } {
  const npy = readNpy(path);
  if (!isIntegerDtype(npy.dtype)) throw badInput(`${path}: dtype ${npy.dtype}; the benchmark matrices are integer weights`);
  const array = { shape: npy.shape, data: npyToNumbers(npy, path) };
  const shape = array.shape.join('x');
  if (array.shape.length === 2) {
    const [inputs, outputs] = array.shape as [number, number];
    return { shape, matrices: [fromInputMajor(array.data, inputs, outputs)] };
  }
  const [channels, taps, outputs] = array.shape as [number, number, number];
  const per = taps * outputs;
  const matrices = Array.from({ length: channels }, (_, c) => fromInputMajor(array.data.subarray(c * per, (c + 1) * per), taps, outputs));
  return { shape, matrices };
}

function sumResults(results: readonly StrategyResult[]): StrategyResult {
  return {
    adders: results.reduce((n, r) => n + r.adders, 0),
    depth: Math.max(...results.map((r) => r.depth)),
    seconds: results.reduce((n, r) => n + r.seconds, 0),
  };
}

function sumRows(name: string, rows: readonly Row[]): Row {
  const results = {} as Record<GraphStrategy, StrategyResult>;
  for (const s of STRATEGIES) results[s] = sumResults(rows.map((r) => r.results[s]));
  const peers = rows.map((r) => r.peer).filter((p) => p !== undefined);
  const total: Row = {
    name,
    shape: '',
    nonzero: rows.reduce((n, r) => n + r.nonzero, 0),
    bound: rows.reduce((n, r) => n + r.bound, 0),
    results,
  };
  const atPeer = rows.map((r) => r.atPeerDepth).filter((r) => r !== undefined);
  if (peers.length !== rows.length || atPeer.length !== rows.length) return total;
  return {
    ...total,
    atPeerDepth: sumResults(atPeer),
    peer: {
      adders: peers.reduce((n, p) => n + p.adders, 0),
      depth: Math.max(...peers.map((p) => p.depth)),
      seconds: peers.reduce((n, p) => n + p.seconds, 0),
      csd: peers.reduce((n, p) => n + p.csd, 0),
      bound: peers.reduce((n, p) => n + p.bound, 0),
      minDepthAdders: peers.reduce((n, p) => n + p.minDepthAdders, 0),
      minDepth: Math.max(...peers.map((p) => p.minDepth)),
    },
  };
}

function benchFiles(): Row[] {
  if (!existsSync(benchDir)) {
    console.error(`note: ${benchDir} is absent; the peer comparison is skipped (random matrices only)`);
    return [];
  }
  const peerFile = JSON.parse(readFileSync(join(benchDir, 'peer-da4ml.json'), 'utf8')) as { matrices: Record<string, PeerFigures> };
  const rows: Row[] = [];
  const mobilenet: Row[] = [];
  for (const file of Object.keys(peerFile.matrices).sort()) {
    const { shape, matrices } = matricesOfFile(join(benchDir, file));
    const row = measure(file.replace(/\.npy$/, ''), shape, matrices, peerFile.matrices[file]);
    rows.push(row);
    if (file.startsWith('M3_')) mobilenet.push(row);
  }
  if (mobilenet.length > 0) rows.push(sumRows('MobileNet layers together', mobilenet));
  return rows;
}

function benchRandom(): Row[] {
  const sizes: Array<[number, number]> = [
    [8, 8],
    [16, 16],
    [32, 16],
    [16, 32],
    [64, 64],
  ];
  return sizes.map(([outputs, inputs], k) => {
    const w = randomMatrix(outputs, inputs, 127, 0.3, seededRandom(1000 + k));
    return measure(`random ${inputs}x${outputs}`, `${inputs}x${outputs}`, [w]);
  });
}

/**
 * Growth with size (issue 10): the MobileNet's 128x128 (layer 14) and 256x256 (layer 26) pointwise
 * layers, with the model's own integer weights, and a seeded random 512x512 8-bit matrix (30% zeros, as
 * the other random rows): seconds per 1,000 nonzero weights side by side show how time grows.
 */
function benchScale(): Row[] {
  const rows: Row[] = [];
  if (existsSync(MOBILENET_QDQ)) {
    const graph = quantizeQdq(importModel(MOBILENET_QDQ));
    for (const index of [14, 26]) {
      const layer = graph.layers[index] as QConvLayer;
      const w = convMatrix(layer, layer.weightShape[1]);
      rows.push(measure(`MobileNet pw L${index}`, `${w[0]!.length}x${w.length}`, [w]));
    }
  } else console.error(`note: ${MOBILENET_QDQ} is absent; the MobileNet pointwise rows are skipped`);
  rows.push(measure('random 512x512', '512x512', [randomMatrix(512, 512, 127, 0.3, seededRandom(512512))]));
  return rows;
}

function printGrowth(rows: readonly Row[]): void {
  console.log('\nGrowth with size: seconds per 1,000 nonzero weights (shared; csd and per-input beside):');
  formatColumns(
    ['matrix', 'nonzero', 'shared adders/nz', 'shared s/1k nz', 'csd s/1k nz', 'per-input s/1k nz'],
    rows.map((r) => [
      r.name,
      String(r.nonzero),
      (r.results.shared.adders / r.nonzero).toFixed(3),
      ((1000 * r.results.shared.seconds) / r.nonzero).toFixed(3),
      ((1000 * r.results.csd.seconds) / r.nonzero).toFixed(3),
      ((1000 * r.results['per-input'].seconds) / r.nonzero).toFixed(3),
    ]),
  );
}

const exampleModel = join(repoRoot, 'examples/mnist-mobilenet/model.onnx');

/**
 * The example model's weighted layers, weights quantized symmetric per output channel to int8 (the rule
 * of the benchmark README). A conv's inputs are (channel, row, column) of its window; a group of a
 * grouped conv (a depthwise conv: one per channel) is a matrix of its own.
 */
function exampleLayers(): Array<{ name: string; shape: string; matrices: ConstMatrix[] }> {
  if (!existsSync(exampleModel)) {
    console.error(`note: ${exampleModel} is absent; the example model's layers are skipped`);
    return [];
  }
  const graph = importModel(exampleModel);
  const layers: Array<{ name: string; shape: string; matrices: ConstMatrix[] }> = [];
  for (const layer of graph.layers) {
    if (layer.kind !== 'conv' && layer.kind !== 'gemm') continue;
    const outputs = layer.weights.shape[0]!;
    const perOutput = layer.weights.float.length / outputs;
    const ints = quantizeWeightsPerChannel(layer.weights.float, outputs, 8).ints;
    const groups = layer.kind === 'conv' ? layer.group : 1;
    const rowsPerGroup = outputs / groups;
    const matrices = Array.from({ length: groups }, (_, g) =>
      Array.from({ length: rowsPerGroup }, (_, r) => ints.slice((g * rowsPerGroup + r) * perOutput, (g * rowsPerGroup + r + 1) * perOutput)),
    );
    const shape = groups > 1 ? `${groups}x${perOutput}x${rowsPerGroup}` : `${perOutput}x${outputs}`;
    layers.push({ name: `example L${layer.index} ${layer.kind}${groups > 1 ? ' dw' : ''}`, shape, matrices });
  }
  return layers;
}

function benchExample(): Row[] {
  const rows = exampleLayers().map((l) => measure(l.name, l.shape, l.matrices));
  return rows.length > 0 ? [...rows, sumRows('example layers together', rows)] : [];
}

interface CellRow {
  readonly name: string;
  readonly cells: Record<BlockStrategy | 'shared+csa', number>;
}

/** Yosys cells of one block per strategy (combinational, unsigned 8-bit inputs). */
async function yosysCells(name: string, w: ConstMatrix): Promise<CellRow> {
  const cells = {} as Record<BlockStrategy | 'shared+csa', number>;
  const variants: Array<{ label: BlockStrategy | 'shared+csa'; strategy: BlockStrategy; sum: 'tree' | 'csa' }> = [
    ...BLOCK_STRATEGIES.map((strategy) => ({ label: strategy, strategy, sum: 'tree' as const })),
    { label: 'shared+csa', strategy: 'shared', sum: 'csa' },
  ];
  for (const { label, strategy, sum } of variants) {
    progress(`yosys ${name} ${label}`);
    const block = buildCmvmBlock({ name: `bench_${strategy}`, weights: w, inputRange: { min: 0n, max: 255n }, strategy, sum });
    const emitted = emitDesign(block.module, {});
    cells[label] = (await yosysStat(emitted.files, emitted.top)).cells;
  }
  return { name, cells };
}

/** Yosys grows steeply with size: the 16x32 random matrix and the example's small layers only. */
const YOSYS_MAX_WEIGHTS = 160;

async function benchYosys(): Promise<CellRow[]> {
  const rows = [await yosysCells('random 16x32', randomMatrix(32, 16, 127, 0.3, seededRandom(16032)))];
  for (const layer of exampleLayers()) {
    const weights = layer.matrices.reduce((n, w) => n + w.flat().filter((c) => c !== 0).length, 0);
    // A depthwise layer is simulated as one block per channel in hardware; here its first channel stands in.
    const w = layer.matrices[0]!;
    if (weights <= YOSYS_MAX_WEIGHTS || w.flat().filter((c) => c !== 0).length <= YOSYS_MAX_WEIGHTS / 4) {
      rows.push(await yosysCells(layer.matrices.length > 1 ? `${layer.name} (channel 0)` : layer.name, w));
    }
  }
  return rows;
}

function formatColumns(header: readonly string[], lines: readonly (readonly string[])[]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: readonly string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}

function printTable(rows: readonly Row[]): void {
  const header = ['matrix', 'shape', 'nonzero', 'csd', 'per-input', 'bound', 'shared', 'depth', 's', 'da4ml min-depth', 'ratio', 'shared@peer depth', 's', 'da4ml', 's', 'ratio'];
  const lines = rows.map((r) => {
    const s = r.results.shared;
    const at = r.atPeerDepth;
    const p = r.peer;
    return [
      r.name,
      r.shape,
      String(r.nonzero),
      String(r.results.csd.adders),
      String(r.results['per-input'].adders),
      String(r.bound),
      String(s.adders),
      String(s.depth),
      s.seconds.toFixed(2),
      p ? `${p.minDepthAdders} @${p.minDepth}` : '-',
      p ? (s.adders / p.minDepthAdders).toFixed(3) : '-',
      at ? `${at.adders} @${at.depth}` : '-',
      at ? at.seconds.toFixed(2) : '-',
      p ? `${p.adders} @${p.depth}` : '-',
      p ? p.seconds.toFixed(2) : '-',
      p && at ? (at.adders / p.adders).toFixed(3) : '-',
    ];
  });
  formatColumns(header, lines);
  console.log('\nAdders: one two-input add/subtract (shifts and output negations are wiring); "@d" = adder depth.');
  console.log('csd = every weight as CSD shift-adds, no sharing (what `multiply` amounts to at best); per-input = shared');
  console.log('constant multiplication per input; bound = the per-input sharing lower bound; shared = cross-input CSE at');
  console.log("the least possible depth; shared@peer depth = the same with da4ml's default depth as the limit; s = seconds");
  console.log('(ours single-threaded, da4ml 2 threads, from peer-da4ml.json). Peer figures: da4ml, peer-da4ml.json.');
}

function printCells(rows: readonly CellRow[]): void {
  console.log('\nYosys cells (synth -flatten; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; stat), combinational blocks, unsigned 8-bit inputs:');
  formatColumns(
    ['block', 'multiply', 'csd', 'shared', 'shared+csa', 'shared/multiply'],
    rows.map((r) => [
      r.name,
      String(r.cells.multiply),
      String(r.cells.csd),
      String(r.cells.shared),
      String(r.cells['shared+csa']),
      (r.cells.shared / r.cells.multiply).toFixed(3),
    ]),
  );
}

async function main(): Promise<void> {
  const { flags } = scriptArgs('npm run bench:arith [-- --json] [-- --no-yosys] [-- --scale-only]', { json: 'boolean', 'no-yosys': 'boolean', 'scale-only': 'boolean' });
  const json = flags.json;
  const only = flags['scale-only'];
  const scale = benchScale();
  const rows = only ? scale : [...benchFiles(), ...benchRandom(), ...benchExample(), ...scale];
  const cells = flags['no-yosys'] || only ? [] : await benchYosys();
  if (json) {
    console.log(JSON.stringify({ rows, yosysCells: cells }, null, 1));
    return;
  }
  printTable(rows);
  printGrowth(scale);
  if (cells.length > 0) printCells(cells);
}

await main();
