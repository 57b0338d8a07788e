/**
 * Output differencing (the column decomposition da4ml uses): an output whose weight row is close to
 * another's, up to sign, is built as the other output plus the (sparser) difference,
 * y_o = d_o + s * y_parent, at one adder per link. The links form a tree found by Prim's algorithm, the
 * cost of a link being the CSD digits of the difference (+1 for its adder) against the digits of the row
 * itself. Real layers have similar filters (measured on the MobileNet pointwise layers: 10-17% fewer
 * digits); random matrices rarely do, and then the tree is flat and this equals the plain run.
 *
 * Depth: a link adds a level on top of its parent, so each difference gets its own depth limit (the
 * output's limit less the links below it and its own link), kept by the CSE's per-output Kraft budget,
 * and chains are at most `maxChain` links long.
 */
import type { AdderGraph, ConstMatrix, GraphNode, OutputRef } from './adder-graph.js';
import { graphDepth } from './adder-graph.js';
import { csdWeight } from './csd.js';
import { type SharedRunOptions, solveSharedRun } from './strategy-shared.js';

/** Below this share of CSD digits saved by the links, the run is skipped (random matrices: ~0.5%). */
const MIN_DIGIT_SAVING = 0.03;

interface OutputTree {
  /** Parent output, or -1 when the output is built on its own. */
  readonly parent: number[];
  /** y_o = d_o + sign * y_parent. */
  readonly sign: Array<1 | -1>;
  /** CSD digits of the rows, and of the differences plus one per link. */
  readonly digitsBefore: number;
  readonly digitsAfter: number;
}

function digitsOf(row: readonly number[]): number {
  let n = 0;
  for (const c of row) n += csdWeight(c);
  return n;
}

/** Least balanced-sum depth of a row with this many digits. */
function leastDepth(digits: number): number {
  return digits <= 1 ? 0 : Math.ceil(Math.log2(digits));
}

/**
 * Prim's tree over the outputs with a chain limit: an output is linked below another only when that
 * saves digits, the chain stays within maxChain links, and every difference on the chain still fits the
 * levels left to it (checked again when the link is made final, as later links lengthen chains).
 */
function outputTree(w: ConstMatrix, maxDepth: number, maxChain: number): OutputTree {
  const m = w.length;
  const parent = new Array<number>(m).fill(-1);
  const sign = new Array<1 | -1>(m).fill(1);
  const chain = new Array<number>(m).fill(0);
  const below = new Array<number>(m).fill(0);
  const own = w.map((row) => digitsOf(row));
  const diffDigits = own.slice();
  const cost = own.slice();
  const fits = (o: number, linksBelow: number) => leastDepth(diffDigits[o]!) <= maxDepth - linksBelow - (parent[o]! >= 0 ? 1 : 0);
  const left = new Set(w.map((_, o) => o));
  while (left.size > 0) {
    let next = -1;
    for (const o of left) if (next < 0 || cost[o]! < cost[next]!) next = o;
    left.delete(next);
    if (parent[next]! >= 0 && !ancestorsFit(next)) {
      parent[next] = -1;
      diffDigits[next] = own[next]!;
      chain[next] = 0;
    }
    for (let a = parent[next]!, links = 1; a >= 0; a = parent[a]!, links += 1) below[a] = Math.max(below[a]!, links);
    if (chain[next]! >= maxChain) continue;
    for (const o of left) {
      for (const s of [1, -1] as const) {
        const digits = digitsOf(w[o]!.map((c, i) => c - s * w[next]![i]!));
        if (digits + 1 < cost[o]! && leastDepth(digits) <= maxDepth - 1) {
          cost[o] = digits + 1;
          diffDigits[o] = digits;
          parent[o] = next;
          sign[o] = s;
          chain[o] = chain[next]! + 1;
        }
      }
    }
  }
  const digitsAfter = diffDigits.reduce((n, d, o) => n + d + (parent[o]! >= 0 ? 1 : 0), 0);
  return { parent, sign, digitsBefore: own.reduce((a, b) => a + b, 0), digitsAfter };

  function ancestorsFit(o: number): boolean {
    if (!fits(o, 0)) return false;
    for (let a = parent[o]!, links = 1; a >= 0; a = parent[a]!, links += 1) if (!fits(a, Math.max(below[a]!, links))) return false;
    return true;
  }
}

/** Levels each output's own difference may use: its limit less its own link and the links below it. */
function differenceLimits(tree: OutputTree, maxDepth: number): number[] {
  const below = new Array<number>(tree.parent.length).fill(0);
  tree.parent.forEach((_, o) => {
    for (let a = tree.parent[o]!, links = 1; a >= 0; a = tree.parent[a]!, links += 1) below[a] = Math.max(below[a]!, links);
  });
  return tree.parent.map((p, o) => maxDepth - below[o]! - (p >= 0 ? 1 : 0));
}

/** y = W x via differences; undefined when no output benefits (then the plain run is the same). */
export function solveDecomposed(w: ConstMatrix, inputCount: number, maxDepth: number, maxChain: number, options: SharedRunOptions): AdderGraph | undefined {
  const tree = outputTree(w, maxDepth, maxChain);
  if (tree.digitsAfter > tree.digitsBefore * (1 - MIN_DIGIT_SAVING)) return undefined;
  const differences = w.map((row, o) => {
    const p = tree.parent[o]!;
    return p < 0 ? row.slice() : row.map((c, i) => c - tree.sign[o]! * w[p]![i]!);
  });
  const limits = differenceLimits(tree, maxDepth);
  const inner = solveSharedRun(differences, inputCount, { ...options, maxDepthPerOutput: limits });
  const graph = linkOutputs(inner, tree);
  return graphDepth(graph) <= maxDepth ? graph : undefined;
}

/** Adds the link adders y_o = d_o + sign * y_parent, parents first. */
function linkOutputs(inner: AdderGraph, tree: OutputTree): AdderGraph {
  const nodes: GraphNode[] = inner.nodes.slice();
  const outputs = new Array<OutputRef | undefined>(inner.outputs.length);
  const build = (o: number): OutputRef => {
    const done = outputs[o];
    if (done !== undefined) return done;
    const d = inner.outputs[o]!;
    const p = tree.parent[o]!;
    let result: OutputRef = d;
    if (p >= 0) {
      const up = build(p);
      const flip = tree.sign[o]! < 0;
      if (up.kind === 'zero') result = d;
      else if (d.kind === 'zero') result = { ...up, negate: up.negate !== flip };
      else {
        const common = Math.min(d.shift, up.shift);
        nodes.push({
          kind: 'add',
          a: { node: d.node, shift: d.shift - common, negate: d.negate },
          b: { node: up.node, shift: up.shift - common, negate: up.negate !== flip },
          rshift: 0,
        });
        result = { kind: 'term', node: nodes.length - 1, shift: common, negate: false };
      }
    }
    outputs[o] = result;
    return result;
  };
  return { inputCount: inner.inputCount, nodes, outputs: inner.outputs.map((_, o) => build(o)) };
}
