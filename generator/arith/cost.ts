/**
 * The cost model of an adder graph, without synthesis: adders, adder bits, logic depth, and with
 * pipelining the register bits and latency. Widths come from exact intervals: every node is a linear
 * form sum c_i x_i, and over a box of input ranges its extremes are sum of min/max(c_i lo_i, c_i hi_i),
 * attained at a corner — so the width can neither overflow nor be wider than needed.
 */
import type { AdderGraph } from './adder-graph.js';
import { type SparseForm, nodeDepths, nodeSparseCoefficients } from './adder-graph.js';

export interface Interval {
  readonly min: bigint;
  readonly max: bigint;
}

export interface CostReport {
  readonly adders: number;
  /** Sum over adders of the bits that really add (see adderBits). */
  readonly adderBits: number;
  /** Adder levels on the longest input-to-output path. */
  readonly depth: number;
  /** A register stage every this many adder levels; 0 = purely combinational. */
  readonly pipelineEvery: number;
  /** Clock cycles from input to output (register stages). */
  readonly latency: number;
  readonly registerBits: number;
  readonly outputWidths: readonly number[];
}

/** Exact range of sum c_i x_i over x_i in ranges[i]. */
export function linearInterval(coeffs: readonly bigint[], ranges: readonly Interval[]): Interval {
  const inputs: number[] = [];
  const nonzero: bigint[] = [];
  coeffs.forEach((c, i) => {
    if (c === 0n) return;
    inputs.push(i);
    nonzero.push(c);
  });
  return sparseInterval({ inputs, coeffs: nonzero }, ranges);
}

/** Two's complement (signed) or plain binary (unsigned) width that holds every value of the interval. */
export function widthOf(range: Interval): { width: number; signed: boolean } {
  const bitLength = (v: bigint) => (v <= 0n ? 0 : v.toString(2).length);
  if (range.min >= 0n) return { width: Math.max(1, bitLength(range.max)), signed: false };
  const magnitude = Math.max(bitLength(-range.min - 1n), bitLength(range.max));
  return { width: magnitude + 1, signed: true };
}

/** Exact interval of every node. */
export function nodeIntervals(graph: AdderGraph, inputRanges: readonly Interval[]): Interval[] {
  return nodeSparseCoefficients(graph).map((form) => sparseInterval(form, inputRanges));
}

/** linearInterval of a sparse form. */
export function sparseInterval(form: SparseForm, ranges: readonly Interval[]): Interval {
  let min = 0n;
  let max = 0n;
  form.inputs.forEach((i, k) => {
    const c = form.coeffs[k]!;
    const r = ranges[i]!;
    const a = c * r.min;
    const b = c * r.max;
    min += a < b ? a : b;
    max += a < b ? b : a;
  });
  return { min, max };
}

/**
 * Pipeline schedule: an adder at level L works in stage floor((L - 1) / N); inputs are in stage 0;
 * with S = ceil(depth / N) stages the outputs are registered once more at the end, so latency is S.
 */
export function stageOfLevel(level: number, pipelineEvery: number): number {
  if (pipelineEvery <= 0 || level <= 0) return 0;
  return Math.floor((level - 1) / pipelineEvery);
}

export function pipelineLatency(depth: number, pipelineEvery: number): number {
  if (pipelineEvery <= 0) return 0;
  return Math.max(1, Math.ceil(depth / pipelineEvery));
}

/**
 * How many register delays each node's value needs: the farthest later stage that reads it (outputs
 * are read by the output register after the last stage). Delay chains are shared among readers.
 */
export function nodeDelays(graph: AdderGraph, pipelineEvery: number): number[] {
  const levels = nodeDepths(graph);
  let depth = 0;
  for (const out of graph.outputs) if (out.kind === 'term') depth = Math.max(depth, levels[out.node]!);
  const stage = levels.map((l) => stageOfLevel(l, pipelineEvery));
  const delays = new Array<number>(graph.nodes.length).fill(0);
  if (pipelineEvery <= 0) return delays;
  graph.nodes.forEach((node, id) => {
    if (node.kind !== 'add') return;
    for (const op of [node.a, node.b]) delays[op.node] = Math.max(delays[op.node]!, stage[id]! - stage[op.node]!);
  });
  const latency = pipelineLatency(depth, pipelineEvery);
  for (const out of graph.outputs) if (out.kind === 'term') delays[out.node] = Math.max(delays[out.node]!, latency - stage[out.node]!);
  return delays;
}

/**
 * Bits an adder really adds: the width of its sum, less the low bits that are zero (both operands
 * shifted) and the bits that pass straight through from the less-shifted operand (no carry can come
 * from below it). A negated pass-through operand needs its carry chain, so it does not pass through.
 */
function adderBits(graph: AdderGraph, id: number, sumWidth: number): number {
  const node = graph.nodes[id]!;
  if (node.kind !== 'add') return 0;
  const [low, high] = node.a.shift <= node.b.shift ? [node.a, node.b] : [node.b, node.a];
  const passThrough = low.negate ? 0 : high.shift - low.shift;
  return Math.max(1, sumWidth + node.rshift - low.shift - passThrough);
}

export function analyzeCost(graph: AdderGraph, inputRanges: readonly Interval[], pipelineEvery = 0): CostReport {
  const intervals = nodeIntervals(graph, inputRanges);
  const widths = intervals.map((r) => widthOf(r).width);
  const levels = nodeDepths(graph);
  let adders = 0;
  let bits = 0;
  graph.nodes.forEach((node, id) => {
    if (node.kind !== 'add') return;
    adders += 1;
    bits += adderBits(graph, id, widths[id]!);
  });
  let depth = 0;
  for (const out of graph.outputs) if (out.kind === 'term') depth = Math.max(depth, levels[out.node]!);
  const delays = nodeDelays(graph, pipelineEvery);
  const registerBits = delays.reduce((sum, d, id) => sum + d * widths[id]!, 0);
  const outputWidths = graph.outputs.map((out) => {
    if (out.kind === 'zero') return 1;
    const r = intervals[out.node]!;
    const scale = 1n << BigInt(out.shift);
    const scaled = out.negate ? { min: -r.max * scale, max: -r.min * scale } : { min: r.min * scale, max: r.max * scale };
    return widthOf(scaled).width;
  });
  return {
    adders,
    adderBits: bits,
    depth,
    pipelineEvery,
    latency: pipelineLatency(depth, pipelineEvery),
    registerBits,
    outputWidths,
  };
}
