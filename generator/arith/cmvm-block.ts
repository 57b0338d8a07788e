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
 *
 * Names say what a wire holds (inputs x<i> unless the caller names them, outputs y<o>):
 *  - an adder whose value only output o uses is `y<o>_...`: `y<o>_x<i>_m<c>` when it is c*x<i>, else
 *    `y<o>_s<k>` (the k-th partial sum of y<o>), so a change in row o touches only names starting `y<o>_`;
 *  - an adder several outputs share is named after its value: `x<i>_m<c>` for c*x<i> (`mn<c>` when
 *    negative), `x<i>_m<a>_x<j>_m<b>` for up to three terms, else `s<k>`;
 *  - every multi-term wire carries its linear form as a comment (up to 16 terms), every output its row of W;
 *  - pipeline registers are `<wire>_d<stages>`.
 */
import { type Expr, type Interval as HdlInterval, Module, constant, interval as hdlInterval } from '../hdl/index.js';
import { badInput } from '../common/errors.js';
import type { AdderGraph, ConstMatrix, Operand } from './adder-graph.js';
import { formatLinearForm, formatSparseForm, graphMatrix, nodeDepths, nodeOwners, nodeSparseCoefficients } from './adder-graph.js';
import { type CostReport, type Interval, analyzeCost, linearInterval, nodeIntervals, pipelineLatency, stageOfLevel, widthOf } from './cost.js';
import { type GraphStrategy, type SolveOptions, checkMatrix, solveCmvm } from './index.js';
import type { SharedOptions } from './shared-search.js';

export const BLOCK_STRATEGIES = ['multiply', 'csd', 'shared'] as const;

/** The role of every CMVM block module: the cost model totals its adders as `productAdders` (docs/costs.md). */
export const PRODUCTS_ROLE = 'products';
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
  /**
   * Combinational blocks only: register the outputs inside the block (`y<o>_q`), loading when the input
   * `en` is 1, with the adder graph computed on those clocks only (RegOptions.computeOnEnable): a layer
   * that takes a beat once in several clocks then costs a simulator nothing on the others. Latency 1.
   */
  readonly registerOutputs?: boolean;
  readonly shared?: SharedOptions;
  /** `tree` (default) or `csa`: see CmvmOptions.sum. */
  readonly sum?: 'tree' | 'csa';
  /** Input port names (default x0..x{n-1}); the wires' names and comments are built from them. */
  readonly inputNames?: readonly string[];
  /** See CmvmOptions.solve. */
  readonly solve?: CmvmSolver;
}

/** What finds the adder graph: solveCmvm, or a lookup of graphs solved ahead (solve-pool.ts) with the same results. */
export type CmvmSolver = (w: ConstMatrix, inputCount: number, options: SolveOptions) => AdderGraph;

/** A standalone block: the module and its port names, with everything emitCmvm reports. */
export interface CmvmBlock extends CmvmResult {
  readonly module: Module;
  readonly strategy: BlockStrategy;
  /** Input ports x0..x{n-1} and output ports y0..y{m-1}, in order. */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

/** Delays values to later pipeline stages, sharing one register chain per value. */
class StageDelays {
  private readonly chains = new Map<string, Expr[]>();
  constructor(
    private readonly module: Module,
    private readonly prefix: string,
  ) {}

  /** `value` (the wire `key`) as seen `delay` register stages later: registers `<prefix><key>_d<k>`. */
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

/** Most terms a wire's comment spells out (an output's comment always gives its whole row). */
const MAX_COMMENT_TERMS = 16;

/** `c*x` as a name part: `x_m5`, `x_mn3` for -3. */
function termName(input: string, c: bigint): string {
  return `${input}_m${c < 0n ? `n${-c}` : c}`;
}

/** Each adder's wire name and, when the name does not say it, its linear form (see the file comment). */
function nodeLabels(graph: AdderGraph, inputNames: readonly string[]): Array<{ name: string; value: string | undefined }> {
  const forms = nodeSparseCoefficients(graph);
  const owners = nodeOwners(graph);
  const partials = new Map<number | 'shared' | 'unused', number>();
  const taken = new Set(inputNames);
  // Two adders may hold the same value (the optimizers do not promise otherwise): the later one gets _2, _3...
  const unique = (name: string): string => {
    let candidate = name;
    for (let n = 2; taken.has(candidate); n++) candidate = `${name}_${n}`;
    taken.add(candidate);
    return candidate;
  };
  return graph.nodes.map((node, id) => {
    if (node.kind === 'input') return { name: inputNames[node.index]!, value: undefined };
    const form = forms[id]!;
    const terms = form.inputs.map((i, k) => termName(inputNames[i]!, form.coeffs[k]!));
    const owner = owners[id]!;
    // Long forms would make comments the bulk of a large layer's file: past a few terms, say the count.
    const value = terms.length <= MAX_COMMENT_TERMS ? formatSparseForm(form, (i) => inputNames[i]!) : `a sum of ${terms.length} weighted inputs`;
    const next = (): number => {
      const k = partials.get(owner) ?? 0;
      partials.set(owner, k + 1);
      return k;
    };
    if (typeof owner === 'number') return terms.length === 1 ? { name: unique(`y${owner}_${terms[0]!}`), value: undefined } : { name: unique(`y${owner}_s${next()}`), value };
    return terms.length <= 3 ? { name: unique(terms.join('_')), value: terms.length === 1 ? undefined : value } : { name: unique(`s${next()}`), value };
  });
}

/** The adder graph as DSL wires, pipelined by the stage schedule. */
function buildGraph(
  m: Module,
  prefix: string,
  graph: AdderGraph,
  inputs: readonly Expr[],
  inputNames: readonly string[],
  ranges: readonly Interval[],
  every: number,
  carrySave: boolean,
): { outputs: Expr[]; latency: number; compressors: number } {
  const csa = carrySave ? carrySaveSums(graph) : { leaves: new Map<number, SumLeaf[]>(), absorbed: new Set<number>() };
  const intervals = nodeIntervals(graph, ranges);
  const levels = nodeDepths(graph);
  const stage = levels.map((l) => stageOfLevel(l, every));
  const labels = nodeLabels(graph, inputNames);
  const delays = new StageDelays(m, prefix);
  const values: Expr[] = [];
  const operand = (op: Operand, atStage: number) =>
    signedOperand(delays.delayed(labels[op.node]!.name, values[op.node]!, atStage - stage[op.node]!), op);
  graph.nodes.forEach((node, id) => {
    if (node.kind === 'input') {
      values.push(inputs[node.index]!);
      return;
    }
    if (csa.absorbed.has(id)) {
      values.push(constant(0)); // never read: its output is built by a compressor tree
      return;
    }
    const sum = addSigned(operand(node.a, stage[id]!), operand(node.b, stage[id]!));
    const exact = (node.rshift > 0 ? sum.shr(node.rshift) : sum).assume(intervals[id]!.min, intervals[id]!.max);
    const wire = m.wire(`${prefix}${labels[id]!.name}`, exact);
    const value = labels[id]!.value;
    values.push(value === undefined ? wire : wire.describe(`= ${value}`));
  });
  let depth = 0;
  for (const out of graph.outputs) if (out.kind === 'term') depth = Math.max(depth, levels[out.node]!);
  const latency = pipelineLatency(depth, every);
  let compressors = 0;
  const outputs = graph.outputs.map((out, o) => {
    if (out.kind === 'zero') return constant(0);
    const leaves = csa.leaves.get(o);
    if (leaves !== undefined) {
      const built = carrySaveSum(m, `${prefix}y${o}_csa`, leaves, values, linearInterval(graphMatrixRow(graph, o), ranges));
      compressors += built.compressors;
      return built.expr;
    }
    const v = delays.delayed(labels[out.node]!.name, values[out.node]!, latency - stage[out.node]!);
    const shifted = out.shift > 0 ? v.shl(out.shift) : v;
    return out.negate ? shifted.neg() : shifted;
  });
  return { outputs, latency, compressors };
}

/** The coefficients output o computes (its row of W, read back from the graph). */
function graphMatrixRow(graph: AdderGraph, o: number): bigint[] {
  return graphMatrix({ ...graph, outputs: [graph.outputs[o]!] })[0]!;
}


/** A leaf of an output's sum: ±(node << shift). */
interface SumLeaf {
  readonly node: number;
  readonly shift: number;
  readonly negate: boolean;
}

/**
 * The sums to build as carry-save trees: for each output, its adders that feed nothing else, flattened
 * into leaves. Only outputs with at least three leaves are worth a compressor tree.
 */
function carrySaveSums(graph: AdderGraph): { leaves: Map<number, SumLeaf[]>; absorbed: Set<number> } {
  const fanout = new Array<number>(graph.nodes.length).fill(0);
  for (const node of graph.nodes) {
    if (node.kind !== 'add') continue;
    fanout[node.a.node]! += 1;
    fanout[node.b.node]! += 1;
  }
  for (const out of graph.outputs) if (out.kind === 'term') fanout[out.node]! += 1;
  const leaves = new Map<number, SumLeaf[]>();
  const absorbed = new Set<number>();
  graph.outputs.forEach((out, o) => {
    if (out.kind === 'zero') return;
    const inner: number[] = [];
    const found: SumLeaf[] = [];
    const expand = (node: number, shift: number, negate: boolean): void => {
      const n = graph.nodes[node]!;
      if (n.kind === 'add' && n.rshift === 0 && fanout[node] === 1) {
        inner.push(node);
        expand(n.a.node, shift + n.a.shift, negate !== n.a.negate);
        expand(n.b.node, shift + n.b.shift, negate !== n.b.negate);
      } else found.push({ node, shift, negate });
    };
    expand(out.node, out.shift, out.negate);
    if (found.length < 3) return;
    leaves.set(o, found);
    for (const node of inner) absorbed.add(node);
  });
  return { leaves, absorbed };
}

/**
 * sum of the leaves as a carry-save (3:2 compressor) tree and one final adder, computed modulo 2^W
 * where W holds the output's exact range: two's complement sums wrap consistently, so the low W bits
 * are exact, and reading them with the output's signedness gives the value. -v is ~v + 1; the +1s are
 * gathered into one constant operand.
 */
function carrySaveSum(m: Module, name: string, leaves: readonly SumLeaf[], values: readonly Expr[], range: Interval): { expr: Expr; compressors: number } {
  const { width, signed } = widthOf(range);
  let corrections = 0n;
  let operands: Expr[] = leaves.map((leaf) => {
    const value = values[leaf.node]!;
    const modular = (leaf.shift > 0 ? value.shl(leaf.shift) : value).resize(width, { wrap: true, signed: false });
    if (!leaf.negate) return modular;
    corrections += 1n;
    // XOR with all ones, not .not(): a value that already fits keeps its own (narrower) width.
    return constant((1n << BigInt(width)) - 1n).xor(modular);
  });
  const modulus = 1n << BigInt(width);
  if (corrections % modulus !== 0n) operands.push(constant(corrections % modulus));
  let compressors = 0;
  while (operands.length > 2) {
    const [a, b, c] = [operands[0]!, operands[1]!, operands[2]!];
    const sum = m.wire(`${name}_s${compressors}`, a.xor(b).xor(c));
    const carry = m.wire(`${name}_c${compressors}`, a.and(b).or(a.and(c)).or(b.and(c)).shl(1).truncate(width));
    operands = [...operands.slice(3), sum, carry];
    compressors += 1;
  }
  const total = operands.length === 1 ? operands[0]! : operands[0]!.add(operands[1]!).truncate(width);
  return { expr: total.resize(width, { wrap: true, signed }).assume(range.min, range.max), compressors };
}

/**
 * The `multiply` baseline: each product a `*` (one level), each output a sum tree adding the earliest
 * arriving values first, pipelined by the same schedule as the adder graphs.
 */
function buildMultiply(m: Module, prefix: string, w: ConstMatrix, inputs: readonly Expr[], inputNames: readonly string[], every: number): { outputs: Expr[]; latency: number } {
  const delays = new StageDelays(m, prefix);
  const rows = w.map((row, o) => {
    let wireCount = 0;
    let terms = row.flatMap((c, i) =>
      c === 0 ? [] : [{ key: `y${o}_${termName(inputNames[i]!, BigInt(c))}`, expr: c === 1 ? inputs[i]! : inputs[i]!.mul(c), level: c === 1 ? 0 : 1 }],
    );
    while (terms.length > 1) {
      terms.sort((a, b) => a.level - b.level);
      const [a, b] = [terms[0]!, terms[1]!];
      const level = Math.max(a.level, b.level) + 1;
      const at = stageOfLevel(level, every);
      const sum = delays.delayed(a.key, a.expr, at - stageOfLevel(a.level, every)).add(delays.delayed(b.key, b.expr, at - stageOfLevel(b.level, every)));
      const key = `y${o}_s${wireCount++}`;
      terms = [{ key, expr: m.wire(`${prefix}${key}`, sum), level }, ...terms.slice(2)];
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
  /**
   * How each output's own adders are built: `tree` (two-input adders, default) or `csa` (3:2 compressors
   * and one final adder; combinational only, graph strategies only).
   */
  readonly sum?: 'tree' | 'csa';
  /** What to call the inputs in wire names and comments (default x0..x{n-1}). */
  readonly inputNames?: readonly string[];
  /** The solver (default solveCmvm); it must return what solveCmvm would, e.g. the same graph solved ahead. */
  readonly solve?: CmvmSolver;
}

/** What emitCmvm adds to a module. */
export interface CmvmResult {
  /** y = W x, one expression per output (exact interval, narrowest width). */
  readonly outputs: readonly Expr[];
  /** Cycles from the inputs to the outputs. */
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
  /** 3:2 compressors used by `sum: 'csa'` (0 otherwise). */
  readonly compressors: number;
  /** Each output's row of W as text over the input names, e.g. `5*x0 - x3` (for comments). */
  readonly outputForms: readonly string[];
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
  const carrySave = options.sum === 'csa';
  if (carrySave && (every > 0 || strategy === 'multiply')) {
    throw badInput(`${where}: carry-save sums are supported for the csd and shared strategies without pipelining (got ${strategy}, pipeline ${every})`);
  }
  const ranges: Interval[] = inputs.map((x) => ({ min: x.range.min, max: x.range.max }));
  const inputNames = options.inputNames ?? inputs.map((_, i) => `x${i}`);
  if (inputNames.length !== inputs.length) throw badInput(`${where}: ${inputNames.length} input names for ${inputs.length} inputs`);
  const graphStrategy: GraphStrategy = strategy === 'multiply' ? 'csd' : strategy;
  const graph = (options.solve ?? solveCmvm)(w, inputs.length, { strategy: graphStrategy, ...(options.shared ?? {}) });
  const built =
    strategy === 'multiply'
      ? { ...buildMultiply(m, prefix, w, inputs, inputNames, every), compressors: 0 }
      : buildGraph(m, prefix, graph, inputs, inputNames, ranges, every, carrySave);
  return {
    compressors: built.compressors,
    outputs: built.outputs,
    latency: built.latency,
    ...(strategy === 'multiply' ? {} : { graph }),
    cost: analyzeCost(graph, ranges, every),
    outputRanges: w.map((row) => linearInterval(row.map((c) => BigInt(c)), ranges)),
    outputForms: w.map((row) => formatLinearForm(row, (i) => inputNames[i]!)),
  };
}

/** A long formula as comment lines of at most ~96 characters, broken before a + or -. */
function wrapComment(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const piece of text.split(/ (?=[+-] )/)) {
    if (line !== '' && line.length + piece.length + 1 > 96) {
      lines.push(line);
      line = `   ${piece}`;
    } else line = line === '' ? piece : `${line} ${piece}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/**
 * A standalone module: inputs x0..x{n-1}, outputs y0..y{m-1}, a clock `clk` when pipelined or with
 * registered outputs (then also the load enable `en`, the first input port).
 */
export function buildCmvmBlock(options: CmvmBlockOptions): CmvmBlock {
  const w = options.weights;
  const inputCount = w[0]?.length ?? 0;
  checkMatrix(w, inputCount, `CMVM block '${options.name}'`);
  const ranges = rangesOf(options, inputCount);
  const registered = options.registerOutputs === true;
  if (registered && (options.pipeline ?? 0) > 0) throw badInput(`CMVM block '${options.name}': registered outputs are for a combinational block (pipeline 0), got pipeline ${options.pipeline}`);
  const m = new Module(options.name, { role: PRODUCTS_ROLE });
  if ((options.pipeline ?? 0) > 0 || registered) m.addClock();
  const inputNames = options.inputNames ?? ranges.map((_, i) => `x${i}`);
  if (inputNames.length !== inputCount) throw badInput(`CMVM block '${options.name}': ${inputNames.length} input names for ${inputCount} inputs`);
  const load = registered ? m.input('en', { width: 1, signed: false }).describe('load the outputs with the product of this clock\'s inputs') : undefined;
  const inputs = ranges.map((r, i) => m.input(inputNames[i]!, toHdl(r)));
  const result = emitCmvm(m, inputs, {
    weights: w,
    strategy: options.strategy ?? 'shared',
    pipeline: options.pipeline ?? 0,
    sum: options.sum ?? 'tree',
    inputNames,
    ...(options.shared === undefined ? {} : { shared: options.shared }),
    ...(options.solve === undefined ? {} : { solve: options.solve }),
  });
  const outputNames = w.map((_, o) => `y${o}`);
  const outputs = load === undefined ? result.outputs : result.outputs.map((e, o) => (e.constValue !== undefined ? e : m.pipe(`${outputNames[o]!}_q`, e, { enable: load, computeOnEnable: true })));
  outputs.forEach((e, o) => m.output(outputNames[o]!, e).describe(wrapComment(`${outputNames[o]!} = ${result.outputForms[o]!}`)));
  return { module: m, strategy: options.strategy ?? 'shared', inputNames, outputNames, ...result, latency: result.latency + (registered ? 1 : 0) };
}
