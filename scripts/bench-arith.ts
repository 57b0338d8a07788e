/**
 * npm run bench:arith [--json]
 *
 * Adders (one two-input add or subtract; shifts and output negations are wiring) of each strategy on the
 * constant matrix-vector benchmark in ../shared/bench/cmvm/, beside the peer's (da4ml) figures from
 * peer-da4ml.json measured on the same matrices, and on seeded random matrices of other sizes.
 * Every solution is verified exact (verifySolution) before it is counted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AdderGraph,
  type ConstMatrix,
  type GraphStrategy,
  adderCount,
  fromInputMajor,
  graphDepth,
  perInputBound,
  randomMatrix,
  seededRandom,
  solveCmvm,
  verifySolution,
} from '../generator/arith/index.js';
import { readIntNpy } from '../generator/arith/npy-int.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = resolve(repoRoot, '../shared/bench/cmvm');

interface PeerFigures {
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
  readonly peer?: { adders: number; depth: number; seconds: number; csd: number; bound: number };
}

const STRATEGIES: readonly GraphStrategy[] = ['csd', 'per-input', 'shared'];

/** One benchmark case: one or more independent matrices (a depthwise layer is C of them), counts summed. */
function measure(name: string, shape: string, matrices: readonly ConstMatrix[], peer?: PeerFigures): Row {
  const results = {} as Record<GraphStrategy, StrategyResult>;
  for (const strategy of STRATEGIES) {
    let adders = 0;
    let depth = 0;
    let seconds = 0;
    for (const w of matrices) {
      const inputs = w[0]?.length ?? 0;
      const start = performance.now();
      const graph: AdderGraph = solveCmvm(w, inputs, { strategy });
      seconds += (performance.now() - start) / 1000;
      const verdict = verifySolution(w, graph);
      if (!verdict.ok) throw new Error(`${name} ${strategy}: wrong solution: ${verdict.reason}`);
      adders += adderCount(graph);
      depth = Math.max(depth, graphDepth(graph));
    }
    results[strategy] = { adders, depth, seconds };
  }
  const nonzero = matrices.reduce((n, w) => n + w.flat().filter((c) => c !== 0).length, 0);
  const bound = matrices.reduce((n, w) => n + perInputBound(w, w[0]?.length ?? 0), 0);
  const row: Row = { name, shape, nonzero, bound, results };
  if (peer === undefined) return row;
  return {
    ...row,
    peer: {
      adders: peer.da4ml_adders,
      depth: peer.da4ml_adder_depth,
      seconds: peer.da4ml_seconds_2_threads,
      csd: peer.csd_adders,
      bound: peer.per_input_sharing_bound,
    },
  };
}

/** [inputs, outputs] as one matrix; [C, taps, 1] (depthwise) as C separate 1 x taps matrices. */
function matricesOfFile(path: string): { shape: string; matrices: ConstMatrix[] } {
  const array = readIntNpy(path);
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

function sumRows(name: string, rows: readonly Row[]): Row {
  const results = {} as Record<GraphStrategy, StrategyResult>;
  for (const s of STRATEGIES) {
    results[s] = {
      adders: rows.reduce((n, r) => n + r.results[s].adders, 0),
      depth: Math.max(...rows.map((r) => r.results[s].depth)),
      seconds: rows.reduce((n, r) => n + r.results[s].seconds, 0),
    };
  }
  const peers = rows.map((r) => r.peer).filter((p) => p !== undefined);
  const total: Row = {
    name,
    shape: '',
    nonzero: rows.reduce((n, r) => n + r.nonzero, 0),
    bound: rows.reduce((n, r) => n + r.bound, 0),
    results,
  };
  if (peers.length !== rows.length) return total;
  return {
    ...total,
    peer: {
      adders: peers.reduce((n, p) => n + p.adders, 0),
      depth: Math.max(...peers.map((p) => p.depth)),
      seconds: peers.reduce((n, p) => n + p.seconds, 0),
      csd: peers.reduce((n, p) => n + p.csd, 0),
      bound: peers.reduce((n, p) => n + p.bound, 0),
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

function printTable(rows: readonly Row[]): void {
  const header = ['matrix', 'in x out', 'nonzero', 'csd', 'per-input', 'bound', 'shared', 'depth', 'seconds', 'peer', 'peer depth', 'peer s', 'shared/peer'];
  const lines = rows.map((r) => {
    const s = r.results.shared;
    return [
      r.name,
      r.shape,
      String(r.nonzero),
      String(r.results.csd.adders),
      String(r.results['per-input'].adders),
      String(r.bound),
      String(s.adders),
      String(s.depth),
      s.seconds.toFixed(3),
      r.peer ? String(r.peer.adders) : '-',
      r.peer ? String(r.peer.depth) : '-',
      r.peer ? r.peer.seconds.toFixed(3) : '-',
      r.peer ? (s.adders / r.peer.adders).toFixed(3) : '-',
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: readonly string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(format(header));
  for (const line of lines) console.log(format(line));
  console.log('\nAdders: one two-input add/subtract (shifts and output negations are wiring). csd = the multiply');
  console.log('baseline written as CSD shift-adds; bound = per-input sharing lower bound; peer = da4ml (peer-da4ml.json).');
}

function main(): void {
  const json = process.argv.includes('--json');
  const rows = [...benchFiles(), ...benchRandom()];
  if (json) console.log(JSON.stringify({ rows }, null, 1));
  else printTable(rows);
}

main();
