/**
 * The default `shared` strategy: several greedy CSE runs (strategy-shared.ts) under a depth limit, the
 * fewest adders wins. The greedy choice is myopic, so different but equally good tie-breaks (selection
 * rule, the order of inputs and outputs) land a percent or two apart; trying a few and keeping the best is
 * cheap next to what an adder costs in silicon. Every run keeps the depth limit by construction.
 */
import type { AdderGraph, ConstMatrix, GraphNode, OutputRef } from './adder-graph.js';
import { seededRandom } from '../common/seeded-random.js';
import { adderCount, graphDepth } from './adder-graph.js';
import { solveCsd } from './strategy-csd.js';
import { joinParts, matrixParts } from './partition.js';
import { solveDecomposed } from './strategy-decomposed.js';
import { type SharedRunOptions, solveSharedRun } from './strategy-shared.js';

export interface SharedOptions {
  /** Adder levels allowed from input to output. Default: the least possible (balanced CSD sums) + depthSlack. */
  readonly maxDepth?: number;
  /** Extra levels over the least possible depth when maxDepth is not given (default 0). */
  readonly depthSlack?: number;
  /**
   * Greedy runs to try: the weighted rule, the shallow rule, then the weighted rule on shuffled input
   * and output orders. Default by size (defaultEffort): small matrices get more runs, as they are cheap.
   */
  readonly effort?: number;
  /** Equally ranked patterns compared by the sharing they destroy, per step (default: defaultLookahead). */
  readonly lookahead?: number;
  /** Inputs per block of the greedy's pairing (strategy-shared.ts; default: defaultBlockSize). */
  readonly blockSize?: number;
}

interface Permutation {
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, k) => k);
  for (let k = n - 1; k > 0; k -= 1) {
    const j = Math.floor(random() * (k + 1));
    [order[k], order[j]] = [order[j]!, order[k]!];
  }
  return order;
}

/**
 * Maps a graph solved for the permuted matrix (row p = output outputs[p], column k = input inputs[k])
 * back to the original numbering, keeping node k = input k.
 */
function permuteBack(graph: AdderGraph, perm: Permutation): AdderGraph {
  const n = graph.inputCount;
  const newId = (id: number) => (id < n ? perm.inputs[id]! : id);
  const nodes: GraphNode[] = graph.nodes.map((node, id) => {
    if (node.kind === 'input') return { kind: 'input', index: id };
    return { ...node, a: { ...node.a, node: newId(node.a.node) }, b: { ...node.b, node: newId(node.b.node) } };
  });
  const outputs = new Array<OutputRef>(graph.outputs.length);
  graph.outputs.forEach((out, p) => {
    outputs[perm.outputs[p]!] = out.kind === 'zero' ? out : { ...out, node: newId(out.node) };
  });
  return { inputCount: n, nodes, outputs };
}

function runPermuted(w: ConstMatrix, inputCount: number, perm: Permutation, options: SharedRunOptions): AdderGraph {
  const permuted = perm.outputs.map((o) => perm.inputs.map((i) => w[o]![i]!));
  return permuteBack(solveSharedRun(permuted, inputCount, options), perm);
}

function nonzeroCount(w: ConstMatrix): number {
  let nonzero = 0;
  for (const row of w) for (const c of row) if (c !== 0) nonzero += 1;
  return nonzero;
}

/**
 * More runs where a run is cheap: 4 up to 2,000 nonzero weights, else 1 (measured on the
 * 64x128 benchmark: the extra runs found nothing better there, and each costs seconds).
 */
export function defaultEffort(w: ConstMatrix): number {
  const nonzero = nonzeroCount(w);
  return nonzero <= 2000 ? 4 : 1;
}

/** Above this many nonzero weights a matrix is large: one cheap run (defaultLookahead, defaultBlockSize). */
export const LARGE_MATRIX = 8000;

/**
 * Candidates compared per step: 256 up to 2,000 nonzero weights, 16 up to LARGE_MATRIX, then 1. The
 * comparison scans every candidate's occurrences and their columns, which made it most of the time on
 * large matrices; measured on the MobileNet's 64x128 pointwise layer (7,537 nonzero weights, one run):
 * 128 candidates 5,626 adders in 33 s, 1 candidate 5,715 in 1.8 s (2-core machine under load).
 */
export function defaultLookahead(w: ConstMatrix): number {
  const nonzero = nonzeroCount(w);
  return nonzero <= 2000 ? 256 : nonzero <= LARGE_MATRIX ? 16 : 1;
}

/**
 * Inputs per pairing block: all of them up to LARGE_MATRIX nonzero weights, else 64. Measured on the
 * MobileNet's 128x128 pointwise layer (15,252 nonzero weights, one run, no depth limit): one block 11,065
 * adders in 31 s, blocks of 64 inputs 11,642 in 15 s; the 256x256 one (63,142) 49,163 adders in 126 s
 * (before the linked-list buckets of strategy-shared.ts, which cut the 256x256 layer's time about 9x).
 */
export function defaultBlockSize(w: ConstMatrix): number | undefined {
  return nonzeroCount(w) <= LARGE_MATRIX ? undefined : 64;
}

export function solveShared(w: ConstMatrix, inputCount: number, options: SharedOptions = {}): AdderGraph {
  // Independent parts (a depthwise layer: one per channel) share nothing: each is solved on its own.
  const parts = matrixParts(w, inputCount);
  if (parts.length > 1) return joinParts(inputCount, w.length, parts, parts.map((p) => solveConnected(p.matrix, p.inputs.length, options)));
  return solveConnected(w, inputCount, options);
}

function solveConnected(w: ConstMatrix, inputCount: number, options: SharedOptions): AdderGraph {
  const plain = solveCsd(w, inputCount);
  // Below the plain balanced sum's depth nothing is possible: the limit never goes under it.
  const maxDepth = Math.max(graphDepth(plain), options.maxDepth ?? graphDepth(plain) + (options.depthSlack ?? 0));
  const identity: Permutation = { inputs: w[0]?.map((_, i) => i) ?? [], outputs: w.map((_, o) => o) };
  const lookahead = options.lookahead ?? defaultLookahead(w);
  const effort = options.effort ?? defaultEffort(w);
  const blockSize = options.blockSize ?? defaultBlockSize(w);
  const run = (rule: 'weighted' | 'shallow', limit: number): SharedRunOptions => ({ rule, maxDepth: limit, lookahead, ...(blockSize !== undefined ? { blockSize } : {}) });
  let best = runPermuted(w, inputCount, identity, run('weighted', maxDepth));
  // A large matrix at the default effort: the one run (the candidates below cost a run each).
  if (options.effort === undefined && nonzeroCount(w) > LARGE_MATRIX) return best;
  const random = seededRandom(0x5eed);
  // Output differencing as further candidates (chains of one and of two links). The greedy is not
  // monotonic in the depth limit, so where runs are cheap, tighter limits are candidates too.
  const least = graphDepth(plain);
  const limits = effort > 2 ? [maxDepth, maxDepth - 1, maxDepth - 2].filter((d) => d >= least) : [maxDepth];
  for (const limit of limits) {
    for (const maxChain of [1, 2]) {
      const graph = solveDecomposed(w, inputCount, limit, maxChain, run('weighted', limit));
      if (graph !== undefined && adderCount(graph) < adderCount(best)) best = graph;
    }
    if (limit < maxDepth) {
      const graph = runPermuted(w, inputCount, identity, run('weighted', limit));
      if (adderCount(graph) < adderCount(best)) best = graph;
    }
  }
  for (let k = 1; k < effort; k += 1) {
    const perm = k === 1 ? identity : { inputs: shuffled(inputCount, random), outputs: shuffled(w.length, random) };
    const graph = runPermuted(w, inputCount, perm, run(k === 1 ? 'shallow' : 'weighted', maxDepth));
    if (adderCount(graph) < adderCount(best)) best = graph;
  }
  return best;
}
