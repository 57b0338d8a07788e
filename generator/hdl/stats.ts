/**
 * The cost model: resource figures of a design counted from the DSL netlist itself, without synthesis.
 * Every cost figure fixynn reports (the manifest, `generate`'s summary, the benchmarks, the coming energy
 * model and report) comes from here; docs/costs.md defines each figure. Counts include every instance (a
 * child instantiated twice counts twice); an operation folded to a constant is no hardware and not counted.
 */
import { type Expr, Signal, nodeOperands } from './expr.js';
import type { Module } from './module.js';
import { typeOfInterval, hull } from './interval.js';

/** The figures that add up over a hierarchy (adderDepth takes the maximum). */
export interface CostFigures {
  /** Two-input additions and subtractions; a negation counts as a subtraction from zero. */
  readonly adders: number;
  /** Sum of the adders' result widths. */
  readonly adderBits: number;
  /** Ordering comparisons (<, <=, >, >=; equality tests are not counted: they have no carry chain). */
  readonly comparators: number;
  /** Sum of the comparators' operand widths (both operands brought to one width). */
  readonly comparatorBits: number;
  /** Constant multiplications left to synthesis (`x * W`, the `multiply` arithmetic). */
  readonly multipliers: number;
  /** Sum of the multipliers' result widths. */
  readonly multiplierBits: number;
  /** Flip-flops: registers and the output registers of memory read ports. */
  readonly registerBits: number;
  /** Memory words x word width. */
  readonly memoryBits: number;
  /**
   * Most adders on one combinational path inside a module (from an input, register or memory read, or
   * an instance output, to a register, memory port, output or instance input).
   */
  readonly adderDepth: number;
}

export interface DesignCosts extends CostFigures {
  /** Operation nodes by kind. */
  readonly ops: Readonly<Record<string, number>>;
  /** The figures of the modules marked with each role (Module's `role`), their instances included. */
  readonly roles: Readonly<Record<string, CostFigures>>;
  /** The module's own logic, without its instances. */
  readonly own: CostFigures;
}

export const ZERO_COSTS: CostFigures = {
  adders: 0, adderBits: 0, comparators: 0, comparatorBits: 0, multipliers: 0, multiplierBits: 0, registerBits: 0, memoryBits: 0, adderDepth: 0,
};

const ADDERS = new Set(['add', 'sub', 'neg']);
const ORDERING = new Set(['lt', 'le', 'gt', 'ge']);

interface Tally {
  readonly ops: ReadonlyMap<string, number>;
  readonly figures: CostFigures;
}

/** The cost model: every figure of `top` and everything it instantiates (`cache` shares work across calls). */
export function designCosts(top: Module, cache: Map<Module, DesignCosts> = new Map()): DesignCosts {
  const hit = cache.get(top);
  if (hit !== undefined) return hit;
  const own = ownTally(top);
  let figures = own.figures;
  const ops = new Map(own.ops);
  const roles = new Map<string, CostFigures>();
  for (const inst of top.instances) {
    const child = designCosts(inst.module, cache);
    figures = addCosts(figures, child);
    for (const [k, n] of Object.entries(child.ops)) ops.set(k, (ops.get(k) ?? 0) + n);
    for (const [role, f] of Object.entries(child.roles)) roles.set(role, addCosts(roles.get(role) ?? ZERO_COSTS, f));
  }
  if (top.role !== undefined) roles.set(top.role, figures);
  const result: DesignCosts = {
    ...figures,
    own: own.figures,
    ops: Object.fromEntries([...ops].sort(([a], [b]) => (a < b ? -1 : 1))),
    roles: Object.fromEntries([...roles].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  cache.set(top, result);
  return result;
}

/** Figures of two disjoint pieces of hardware together. */
export function addCosts(a: CostFigures, b: CostFigures): CostFigures {
  return {
    adders: a.adders + b.adders,
    adderBits: a.adderBits + b.adderBits,
    comparators: a.comparators + b.comparators,
    comparatorBits: a.comparatorBits + b.comparatorBits,
    multipliers: a.multipliers + b.multipliers,
    multiplierBits: a.multiplierBits + b.multiplierBits,
    registerBits: a.registerBits + b.registerBits,
    memoryBits: a.memoryBits + b.memoryBits,
    adderDepth: Math.max(a.adderDepth, b.adderDepth),
  };
}

/** Only the CostFigures fields of a DesignCosts (for strict schemas). */
export function costFiguresOf(c: CostFigures): CostFigures {
  return {
    adders: c.adders, adderBits: c.adderBits, comparators: c.comparators, comparatorBits: c.comparatorBits, multipliers: c.multipliers,
    multiplierBits: c.multiplierBits, registerBits: c.registerBits, memoryBits: c.memoryBits, adderDepth: c.adderDepth,
  };
}

/** The roots whose cones make up a module's logic (the same the Verilog printer prints from). */
function roots(m: Module): Expr[] {
  const out: Expr[] = [];
  const add = (e: Expr | undefined): void => {
    if (e !== undefined) out.push(e);
  };
  for (const sig of [...m.outputs, ...m.wires, ...m.regs]) add(sig.driver);
  for (const r of m.regs) [r.reset, r.enable].forEach(add);
  for (const mem of m.memories) {
    if (mem.write !== undefined) [mem.write.addr, mem.write.data, mem.write.enable].forEach(add);
    for (const rd of mem.reads) [rd.addr, rd.enable].forEach(add);
  }
  for (const inst of m.instances) inst.connections.forEach(add);
  return out;
}

function ownTally(m: Module): Tally {
  const ops = new Map<string, number>();
  let adders = 0;
  let adderBits = 0;
  let comparators = 0;
  let comparatorBits = 0;
  let multipliers = 0;
  let multiplierBits = 0;
  const depth = new Map<Expr, number>();
  const count = (e: Expr): void => {
    const n = e.node;
    ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
    if (ADDERS.has(n.op)) {
      adders++;
      adderBits += e.width;
    } else if (n.op === 'mulConst' || n.op === 'mul') {
      multipliers++;
      multiplierBits += e.width;
    } else if (n.op === 'cmp' && ORDERING.has(n.kind)) {
      comparators++;
      comparatorBits += typeOfInterval(hull(n.a.range, n.b.range)).width;
    }
  };
  // Post-order over operation nodes (iterative: designs can be deep); wires pass their driver's depth on.
  const visit = (root: Expr): number => {
    const stack: Array<{ e: Expr; expanded: boolean }> = [{ e: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (depth.has(top.e)) continue;
      const deps = dependencies(top.e);
      if (!top.expanded) {
        stack.push({ e: top.e, expanded: true });
        for (const d of deps) if (!depth.has(d)) stack.push({ e: d, expanded: false });
        continue;
      }
      const below = deps.reduce((d, x) => Math.max(d, depth.get(x) ?? 0), 0);
      const isOp = !(top.e instanceof Signal) && top.e.constValue === undefined;
      if (isOp) count(top.e);
      depth.set(top.e, below + (isOp && ADDERS.has(top.e.node.op) ? 1 : 0));
    }
    return depth.get(root)!;
  };
  const adderDepth = roots(m).reduce((d, e) => Math.max(d, visit(e)), 0);
  const registerBits = [...m.regs, ...m.memories.flatMap((mem) => mem.reads)].reduce((n, r) => n + r.width, 0);
  const memoryBits = m.memories.reduce((n, mem) => n + mem.depth * typeOfInterval(mem.range).width, 0);
  const figures: CostFigures = { adders, adderBits, comparators, comparatorBits, multipliers, multiplierBits, registerBits, memoryBits, adderDepth };
  return { ops, figures };
}

/** Operands of an operation; a wire's or output's driver (combinational pass-through); nothing for sources. */
function dependencies(e: Expr): readonly Expr[] {
  if (e instanceof Signal) return (e.kind === 'wire' || e.kind === 'output') && e.driver !== undefined ? [e.driver] : [];
  if (e.constValue !== undefined) return [];
  return nodeOperands(e.node);
}
