/**
 * The constant matrix-vector product block, the building block of every fixed layer: inputs x[0..n),
 * a constant W (m x n), outputs y = W x, built with the DSL (generator/hdl).
 *
 * Strategies: `multiply` writes one `W * x` per weight and leaves the multiplier to synthesis (what the
 * paper's own flow did: our baseline); `csd` and `shared` build the adder graph of generator/arith.
 * Every node is a named wire whose width comes from the node's exact interval (a linear form over the
 * input box: see cost.ts), asserted with `.assume()` so that the evaluator checks it on every value.
 *
 * `pipeline N` puts a register stage every N adder levels (stage schedule in cost.ts): operands from
 * earlier stages are delayed to match, and outputs are registered once more at the end, so the latency
 * is ceil(depth / N) cycles. For `multiply` a product counts as one level.
 */
import { type Expr, type Interval as HdlInterval, Module, constant, interval as hdlInterval } from '../hdl/index.js';
import { badInput } from '../errors.js';
import type { AdderGraph, ConstMatrix, Operand } from './adder-graph.js';
import { nodeDepths } from './adder-graph.js';
import { type CostReport, type Interval, analyzeCost, linearInterval, nodeIntervals, pipelineLatency, stageOfLevel } from './cost.js';
import { type GraphStrategy, checkMatrix, solveCmvm } from './index.js';
import type { SharedOptions } from './shared-search.js';

export const BLOCK_STRATEGIES = ['multiply', 'csd', 'shared'] as const;
export type BlockStrategy = (typeof BLOCK_STRATEGIES)[number];

export interface CmvmBlockOptions {
  /** Module name (a legal Verilog identifier is kept as is). */
  readonly name: string;
  /** W[output][input]. */
  readonly weights: ConstMatrix;
  /** Value range of every input (e.g. 0..255 for unsigned 8-bit), or one range per input. */
  readonly inputRange: Interval | readonly Interval[];
  readonly strategy?: BlockStrategy;
  /** A register stage every this many adder levels; 0 or absent: combinational. */
  readonly pipeline?: number;
  readonly shared?: SharedOptions;
}

export interface CmvmBlock {
  readonly module: Module;
  readonly strategy: BlockStrategy;
  /** Input ports x0..x{n-1} and output ports y0..y{m-1}, in order. */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Cycles from an input vector to its outputs. */
  readonly latency: number;
  /** The adder graph (absent for `multiply`). */
  readonly graph?: AdderGraph;
  /**
   * Adders, adder bits, depth, register bits of the adder graph; for `multiply` those of the CSD graph,
   * the best a synthesis tool can be expected to make of its constant multipliers without sharing.
   */
  readonly cost: CostReport;
  /** Exact range of each output. */
  readonly outputRanges: readonly Interval[];
}

/** Delays values to later pipeline stages, sharing one register chain per value. */
class StageDelays {
  private readonly chains = new Map<string, Expr[]>();
  constructor(
    private readonly module: Module,
    private readonly prefix: string,
  ) {}

  /** `value` (produced in stage `from`) as seen `delay` register stages later. */
  delayed(key: string, value: Expr, delay: number): Expr {
    let chain = this.chains.get(key);
    if (chain === undefined) {
      chain = [value];
      this.chains.set(key, chain);
    }
    while (chain.length <= delay) chain.push(this.module.pipe(`${this.prefix}${key}_d${chain.length}`, chain[chain.length - 1]!));
    return chain[delay]!;
  }
}

function toHdl(range: Interval): HdlInterval {
  return hdlInterval(range.min, range.max);
}

function rangesOf(options: CmvmBlockOptions, inputCount: number): Interval[] {
  const given = options.inputRange;
  const ranges = Array.isArray(given) ? (given as readonly Interval[]).slice() : Array.from({ length: inputCount }, () => given as Interval);
  if (ranges.length !== inputCount) throw badInput(`CMVM block '${options.name}': ${ranges.length} input ranges for ${inputCount} inputs`);
  for (const r of ranges) if (r.min > r.max) throw badInput(`CMVM block '${options.name}': input range [${r.min}, ${r.max}] is empty`);
  return ranges;
}

function signedOperand(value: Expr, op: Operand): { expr: Expr; negate: boolean } {
  return { expr: op.shift > 0 ? value.shl(op.shift) : value, negate: op.negate };
}

/** a + b with the operands' signs applied: a - b, b - a, or -(a + b). */
function addSigned(a: { expr: Expr; negate: boolean }, b: { expr: Expr; negate: boolean }): Expr {
  if (!a.negate && !b.negate) return a.expr.add(b.expr);
  if (!a.negate) return a.expr.sub(b.expr);
  if (!b.negate) return b.expr.sub(a.expr);
  return a.expr.add(b.expr).neg();
}

/** The adder graph as DSL wires, pipelined by the stage schedule. */
function buildGraph(m: Module, prefix: string, graph: AdderGraph, inputs: readonly Expr[], ranges: readonly Interval[], every: number): { outputs: Expr[]; latency: number } {
  const intervals = nodeIntervals(graph, ranges);
  const levels = nodeDepths(graph);
  const stage = levels.map((l) => stageOfLevel(l, every));
  const delays = new StageDelays(m, `${prefix}p_`);
  const values: Expr[] = [];
  const operand = (op: Operand, atStage: number) =>
    signedOperand(delays.delayed(`n${op.node}`, values[op.node]!, atStage - stage[op.node]!), op);
  graph.nodes.forEach((node, id) => {
    if (node.kind === 'input') {
      values.push(inputs[node.index]!);
      return;
    }
    const sum = addSigned(operand(node.a, stage[id]!), operand(node.b, stage[id]!));
    const exact = (node.rshift > 0 ? sum.shr(node.rshift) : sum).assume(intervals[id]!.min, intervals[id]!.max);
    values.push(m.wire(`${prefix}n${id}`, exact));
  });
  let depth = 0;
  for (const out of graph.outputs) if (out.kind === 'term') depth = Math.max(depth, levels[out.node]!);
  const latency = pipelineLatency(depth, every);
  const outputs = graph.outputs.map((out) => {
    if (out.kind === 'zero') return constant(0);
    const v = delays.delayed(`n${out.node}`, values[out.node]!, latency - stage[out.node]!);
    const shifted = out.shift > 0 ? v.shl(out.shift) : v;
    return out.negate ? shifted.neg() : shifted;
  });
  return { outputs, latency };
}


/**
 * The `multiply` baseline: each product a `*` (one level), each output a sum tree adding the earliest
 * arriving values first, pipelined by the same schedule as the adder graphs.
 */
function buildMultiply(m: Module, prefix: string, w: ConstMatrix, inputs: readonly Expr[], every: number): { outputs: Expr[]; latency: number } {
  const delays = new StageDelays(m, `${prefix}p_`);
  let wireCount = 0;
  const rows = w.map((row, o) => {
    let terms = row.flatMap((c, i) => (c === 0 ? [] : [{ key: `y${o}_t${i}`, expr: c === 1 ? inputs[i]! : inputs[i]!.mul(c), level: c === 1 ? 0 : 1 }]));
    while (terms.length > 1) {
      terms.sort((a, b) => a.level - b.level);
      const [a, b] = [terms[0]!, terms[1]!];
      const level = Math.max(a.level, b.level) + 1;
      const at = stageOfLevel(level, every);
      const sum = delays.delayed(a.key, a.expr, at - stageOfLevel(a.level, every)).add(delays.delayed(b.key, b.expr, at - stageOfLevel(b.level, every)));
      const key = `${prefix}s${wireCount++}`;
      terms = [{ key, expr: m.wire(key, sum), level }, ...terms.slice(2)];
    }
    return terms[0];
  });
  const depth = Math.max(0, ...rows.map((t) => t?.level ?? 0));
  const latency = pipelineLatency(depth, every);
  const outputs = rows.map((t) => (t === undefined ? constant(0) : delays.delayed(t.key, t.expr, latency - stageOfLevel(t.level, every))));
  return { outputs, latency };
}

export interface CmvmOptions {
  /** W[output][input]. */
  readonly weights: ConstMatrix;
  readonly strategy?: BlockStrategy;
  /** A register stage every this many adder levels (the module needs a clock); 0 or absent: combinational. */
  readonly pipeline?: number;
  readonly shared?: SharedOptions;
  /** Prefix of every wire and register created, so that several products can live in one module. */
  readonly prefix?: string;
}

/** What emitCmvm adds to a module. */
export interface CmvmResult {
  /** y = W x, one expression per output (exact interval, narrowest width). */
  readonly outputs: readonly Expr[];
  /** Cycles from the inputs to the outputs. */
  readonly latency: number;
  readonly graph?: AdderGraph;
  readonly cost: CostReport;
  readonly outputRanges: readonly Interval[];
}

/**
 * y = W x inside an existing module, on any input expressions (their intervals are the input ranges):
 * the form a layer generator uses to put a product inline next to its line buffers.
 */
export function emitCmvm(m: Module, inputs: readonly Expr[], options: CmvmOptions): CmvmResult {
  const w = options.weights;
  const where = `constant product${options.prefix ? ` '${options.prefix}'` : ''} in module '${m.name}'`;
  checkMatrix(w, inputs.length, where);
  if (w.length === 0) throw badInput(`${where}: W has no rows (at least one output is needed)`);
  const every = options.pipeline ?? 0;
  if (!Number.isInteger(every) || every < 0) throw badInput(`${where}: pipeline ${every} must be a whole number >= 0`);
  if (every > 0 && m.clock === undefined) throw badInput(`${where}: pipeline ${every} needs a clock in the module (addClock())`);
  const strategy = options.strategy ?? 'shared';
  const prefix = options.prefix ?? '';
  const ranges: Interval[] = inputs.map((x) => ({ min: x.range.min, max: x.range.max }));
  const graphStrategy: GraphStrategy = strategy === 'multiply' ? 'csd' : strategy;
  const graph = solveCmvm(w, inputs.length, { strategy: graphStrategy, ...(options.shared ?? {}) });
  const built = strategy === 'multiply' ? buildMultiply(m, prefix, w, inputs, every) : buildGraph(m, prefix, graph, inputs, ranges, every);
  return {
    outputs: built.outputs,
    latency: built.latency,
    ...(strategy === 'multiply' ? {} : { graph }),
    cost: analyzeCost(graph, ranges, every),
    outputRanges: w.map((row) => linearInterval(row.map((c) => BigInt(c)), ranges)),
  };
}

/** A standalone module: inputs x0..x{n-1}, outputs y0..y{m-1}, a clock `clk` when pipelined. */
export function buildCmvmBlock(options: CmvmBlockOptions): CmvmBlock {
  const w = options.weights;
  const inputCount = w[0]?.length ?? 0;
  checkMatrix(w, inputCount, `CMVM block '${options.name}'`);
  const ranges = rangesOf(options, inputCount);
  const m = new Module(options.name);
  if ((options.pipeline ?? 0) > 0) m.addClock();
  const inputNames = ranges.map((_, i) => `x${i}`);
  const inputs = ranges.map((r, i) => m.input(inputNames[i]!, toHdl(r)));
  const result = emitCmvm(m, inputs, {
    weights: w,
    strategy: options.strategy ?? 'shared',
    pipeline: options.pipeline ?? 0,
    ...(options.shared === undefined ? {} : { shared: options.shared }),
  });
  const outputNames = w.map((_, o) => `y${o}`);
  result.outputs.forEach((e, o) => m.output(outputNames[o]!, e));
  return { module: m, strategy: options.strategy ?? 'shared', inputNames, outputNames, ...result };
}
