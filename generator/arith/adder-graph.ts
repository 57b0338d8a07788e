/**
 * The adder-graph IR for a constant matrix-vector product y = W x.
 *
 * Nodes are inputs or two-input adders `((±(a << sa)) + (±(b << sb))) >> rshift`; the right shift exists
 * for odd-normalized fundamentals (u + v of two odd numbers is even) and must always be exact. Outputs are
 * `±(node << shift)` or the constant zero. Shifts and negated outputs are wiring; only adders cost.
 * Nodes are stored in topological order: an operand always names an earlier node.
 */
import { seededRandom } from '../common/seeded-random.js';

export interface Operand {
  readonly node: number;
  readonly shift: number;
  readonly negate: boolean;
}

export type GraphNode =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'add'; readonly a: Operand; readonly b: Operand; readonly rshift: number };

export type OutputRef =
  | { readonly kind: 'zero' }
  | { readonly kind: 'term'; readonly node: number; readonly shift: number; readonly negate: boolean };

export interface AdderGraph {
  readonly inputCount: number;
  readonly nodes: readonly GraphNode[];
  readonly outputs: readonly OutputRef[];
}

/** W[output][input]: y[o] = sum_i W[o][i] * x[i]. Entries are safe integers. */
export type ConstMatrix = readonly (readonly number[])[];

export const ZERO_OUTPUT: OutputRef = { kind: 'zero' };

/** Adders in the graph (inputs are free). */
export function adderCount(graph: AdderGraph): number {
  let count = 0;
  for (const node of graph.nodes) if (node.kind === 'add') count += 1;
  return count;
}

/** Adder levels from the inputs to each node (inputs are level 0). */
export function nodeDepths(graph: AdderGraph): number[] {
  const depths: number[] = [];
  for (const node of graph.nodes) {
    depths.push(node.kind === 'input' ? 0 : 1 + Math.max(depths[node.a.node]!, depths[node.b.node]!));
  }
  return depths;
}

/** The deepest output's adder levels: the combinational logic depth of the block. */
export function graphDepth(graph: AdderGraph): number {
  const depths = nodeDepths(graph);
  let deepest = 0;
  for (const out of graph.outputs) if (out.kind === 'term') deepest = Math.max(deepest, depths[out.node]!);
  return deepest;
}

/** Structural check: topological operands, valid indices and shifts. Returns the problems found. */
export function checkGraph(graph: AdderGraph): string[] {
  const problems: string[] = [];
  const validShift = (s: number) => Number.isInteger(s) && s >= 0 && s < 1024;
  graph.nodes.forEach((node, id) => {
    if (node.kind === 'input') {
      if (!Number.isInteger(node.index) || node.index < 0 || node.index >= graph.inputCount) {
        problems.push(`node ${id}: input index ${node.index} outside 0..${graph.inputCount - 1}`);
      }
      return;
    }
    for (const op of [node.a, node.b]) {
      if (!Number.isInteger(op.node) || op.node < 0 || op.node >= id) problems.push(`node ${id}: operand ${op.node} is not an earlier node`);
      if (!validShift(op.shift)) problems.push(`node ${id}: bad shift ${op.shift}`);
    }
    if (!validShift(node.rshift)) problems.push(`node ${id}: bad right shift ${node.rshift}`);
  });
  graph.outputs.forEach((out, o) => {
    if (out.kind === 'zero') return;
    if (!Number.isInteger(out.node) || out.node < 0 || out.node >= graph.nodes.length) problems.push(`output ${o}: no node ${out.node}`);
    if (!validShift(out.shift)) problems.push(`output ${o}: bad shift ${out.shift}`);
  });
  return problems;
}

function applyOperand(values: readonly bigint[], op: Operand): bigint {
  const v = values[op.node]! << BigInt(op.shift);
  return op.negate ? -v : v;
}

function exactRightShift(value: bigint, rshift: number, where: string): bigint {
  if (rshift === 0) return value;
  const divisor = 1n << BigInt(rshift);
  if (value % divisor !== 0n) throw new Error(`${where}: right shift by ${rshift} of ${value} drops nonzero bits`);
  return value / divisor;
}

/**
 * Every node's value for one input vector, exact (bigint). A right shift that would drop a nonzero bit
 * throws: the IR promises exact shifts, so that is a broken graph, not a rounding choice.
 */
export function evaluateNodes(graph: AdderGraph, x: readonly bigint[]): bigint[] {
  const values: bigint[] = [];
  graph.nodes.forEach((node, id) => {
    if (node.kind === 'input') {
      values.push(x[node.index]!);
      return;
    }
    const sum = applyOperand(values, node.a) + applyOperand(values, node.b);
    values.push(exactRightShift(sum, node.rshift, `node ${id}`));
  });
  return values;
}

export function evaluateOutput(out: OutputRef, values: readonly bigint[]): bigint {
  if (out.kind === 'zero') return 0n;
  const v = values[out.node]! << BigInt(out.shift);
  return out.negate ? -v : v;
}

/** y = graph(x), exact. */
export function evaluateGraph(graph: AdderGraph, x: readonly bigint[]): bigint[] {
  const values = evaluateNodes(graph, x);
  return graph.outputs.map((out) => evaluateOutput(out, values));
}

/**
 * Each node as a linear form over the inputs: coefficient vectors (bigint). Found by propagating
 * coefficient vectors, which is the same as evaluating the graph on every unit vector at once.
 */
export function nodeCoefficients(graph: AdderGraph): bigint[][] {
  const coeffs: bigint[][] = [];
  graph.nodes.forEach((node, id) => {
    if (node.kind === 'input') {
      const unit = new Array<bigint>(graph.inputCount).fill(0n);
      unit[node.index] = 1n;
      coeffs.push(unit);
      return;
    }
    const ca = coeffs[node.a.node]!;
    const cb = coeffs[node.b.node]!;
    const row: bigint[] = [];
    for (let i = 0; i < graph.inputCount; i += 1) {
      const a = ca[i]! << BigInt(node.a.shift);
      const b = cb[i]! << BigInt(node.b.shift);
      const sum = (node.a.negate ? -a : a) + (node.b.negate ? -b : b);
      row.push(exactRightShift(sum, node.rshift, `node ${id} coefficient of input ${i}`));
    }
    coeffs.push(row);
  });
  return coeffs;
}

/** A linear form with its nonzero coefficients only: inputs ascending, coefficients beside them. */
export interface SparseForm {
  readonly inputs: readonly number[];
  readonly coeffs: readonly bigint[];
}

/**
 * nodeCoefficients without the zeros: a node's form holds only the inputs it depends on, so the whole
 * costs the sum of the forms' sizes, not nodes x inputs (on the MobileNet's 256x256 layer, 55,000 adders
 * over 256 inputs, the dense vectors were 14 million bigints, built twice per block).
 */
export function nodeSparseCoefficients(graph: AdderGraph): SparseForm[] {
  const forms: SparseForm[] = [];
  graph.nodes.forEach((node, id) => {
    if (node.kind === 'input') {
      forms.push({ inputs: [node.index], coeffs: [1n] });
      return;
    }
    const a = forms[node.a.node]!;
    const b = forms[node.b.node]!;
    const [sa, sb] = [BigInt(node.a.shift), BigInt(node.b.shift)];
    const inputs: number[] = [];
    const coeffs: bigint[] = [];
    let i = 0;
    let j = 0;
    while (i < a.inputs.length || j < b.inputs.length) {
      const ia = i < a.inputs.length ? a.inputs[i]! : Infinity;
      const ib = j < b.inputs.length ? b.inputs[j]! : Infinity;
      const input = Math.min(ia, ib);
      let sum = 0n;
      if (ia === input) {
        const v = a.coeffs[i++]! << sa;
        sum += node.a.negate ? -v : v;
      }
      if (ib === input) {
        const v = b.coeffs[j++]! << sb;
        sum += node.b.negate ? -v : v;
      }
      const c = exactRightShift(sum, node.rshift, `node ${id} coefficient of input ${input}`);
      if (c !== 0n) {
        inputs.push(input);
        coeffs.push(c);
      }
    }
    forms.push({ inputs, coeffs });
  });
  return forms;
}

/** Output coefficient rows: the matrix the graph actually computes. */
export function graphMatrix(graph: AdderGraph): bigint[][] {
  const coeffs = nodeCoefficients(graph);
  const zeros = new Array<bigint>(graph.inputCount).fill(0n);
  return graph.outputs.map((out) => {
    if (out.kind === 'zero') return zeros.slice();
    return coeffs[out.node]!.map((c) => {
      const v = c << BigInt(out.shift);
      return out.negate ? -v : v;
    });
  });
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };


export interface VerifyOptions {
  /** Random vectors evaluated directly, on top of the unit-vector proof. */
  readonly randomVectors?: number;
  /** Inputs of the random vectors are drawn from [min, max]. */
  readonly inputMin?: number;
  readonly inputMax?: number;
  readonly seed?: number;
}

/**
 * Proves that the graph computes exactly W x for every integer x.
 *
 * Why unit vectors suffice: every node is built from inputs by additions, subtractions, left shifts and
 * right shifts; the right shifts are exact (checked on the coefficients: if every coefficient of a node's
 * pre-shift sum is divisible by 2^r, so is the sum for every integer x). Without truncation every node is
 * therefore a linear form sum_i c_i x_i, and a linear form is fixed by its values on the unit vectors.
 * Evaluating on e_i is what nodeCoefficients does, so "coefficients equal W" is a proof, not a sample.
 * The random vectors then exercise the plain evaluator as an independent second path.
 */
export function verifySolution(w: ConstMatrix, graph: AdderGraph, options: VerifyOptions = {}): Verdict {
  const problems = checkGraph(graph);
  if (problems.length > 0) return { ok: false, reason: `malformed graph: ${problems.slice(0, 3).join('; ')}` };
  if (graph.outputs.length !== w.length) return { ok: false, reason: `graph has ${graph.outputs.length} outputs, W has ${w.length} rows` };
  let computed: bigint[][];
  try {
    computed = graphMatrix(graph);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  for (let o = 0; o < w.length; o += 1) {
    const row = w[o]!;
    if (row.length !== graph.inputCount) return { ok: false, reason: `W row ${o} has ${row.length} entries, graph has ${graph.inputCount} inputs` };
    for (let i = 0; i < row.length; i += 1) {
      if (computed[o]![i] !== BigInt(row[i]!)) {
        return { ok: false, reason: `output ${o}, input ${i}: graph computes ${computed[o]![i]}, W has ${row[i]}` };
      }
    }
  }
  return verifyRandomVectors(w, graph, options);
}

function verifyRandomVectors(w: ConstMatrix, graph: AdderGraph, options: VerifyOptions): Verdict {
  const random = seededRandom(options.seed ?? 1);
  const lo = options.inputMin ?? 0;
  const hi = options.inputMax ?? 255;
  for (let v = 0; v < (options.randomVectors ?? 8); v += 1) {
    const x: bigint[] = [];
    for (let i = 0; i < graph.inputCount; i += 1) x.push(BigInt(lo + Math.floor(random() * (hi - lo + 1))));
    const y = evaluateGraph(graph, x);
    for (let o = 0; o < w.length; o += 1) {
      let expected = 0n;
      w[o]!.forEach((c, i) => (expected += BigInt(c) * x[i]!));
      if (y[o] !== expected) return { ok: false, reason: `random vector ${v}, output ${o}: graph ${y[o]}, W x ${expected}` };
    }
  }
  return { ok: true };
}

/** A linear form as text over named inputs, e.g. `5*x3 - 2*x4 + x7` (`0` when every coefficient is 0). */
export function formatLinearForm(coeffs: readonly (bigint | number)[], name: (input: number) => string): string {
  const inputs: number[] = [];
  const nonzero: bigint[] = [];
  coeffs.forEach((raw, i) => {
    const c = BigInt(raw);
    if (c === 0n) return;
    inputs.push(i);
    nonzero.push(c);
  });
  return formatSparseForm({ inputs, coeffs: nonzero }, name);
}

/** formatLinearForm of a sparse form (the same text). */
export function formatSparseForm(form: SparseForm, name: (input: number) => string): string {
  let text = '';
  form.inputs.forEach((i, k) => {
    const c = form.coeffs[k]!;
    if (c === 0n) return;
    const size = c < 0n ? -c : c;
    const term = size === 1n ? name(i) : `${size}*${name(i)}`;
    text += text === '' ? (c < 0n ? `-${term}` : term) : c < 0n ? ` - ${term}` : ` + ${term}`;
  });
  return text === '' ? '0' : text;
}

/**
 * For each node, the one output whose value depends on it, or `shared` when several outputs do (and
 * `unused` for a node no output reads). Tells a node private to one output sum from a common term.
 */
export function nodeOwners(graph: AdderGraph): Array<number | 'shared' | 'unused'> {
  const owner: Array<number | 'shared' | 'unused'> = graph.nodes.map(() => 'unused');
  graph.outputs.forEach((out, o) => {
    if (out.kind === 'zero') return;
    const stack = [out.node];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const was = owner[id]!;
      if (was === o || was === 'shared') continue;
      owner[id] = was === 'unused' ? o : 'shared';
      const node = graph.nodes[id]!;
      if (node.kind === 'add') stack.push(node.a.node, node.b.node);
    }
  });
  return owner;
}

function formatOperand(op: Operand): string {
  const shifted = op.shift > 0 ? `n${op.node}<<${op.shift}` : `n${op.node}`;
  return op.negate ? `-${shifted}` : shifted;
}

/** A text form that diffs cleanly: one line per node and per output. */
export function printGraph(graph: AdderGraph): string {
  const lines = [`adder-graph inputs=${graph.inputCount} adders=${adderCount(graph)} depth=${graphDepth(graph)}`];
  graph.nodes.forEach((node, id) => {
    if (node.kind === 'input') lines.push(`n${id} = x${node.index}`);
    else {
      const sum = `${formatOperand(node.a)} + ${formatOperand(node.b)}`;
      lines.push(`n${id} = ${node.rshift > 0 ? `(${sum}) >> ${node.rshift}` : sum}`);
    }
  });
  graph.outputs.forEach((out, o) => {
    if (out.kind === 'zero') lines.push(`y${o} = 0`);
    else lines.push(`y${o} = ${formatOperand({ node: out.node, shift: out.shift, negate: out.negate })}`);
  });
  return lines.join('\n') + '\n';
}
