/**
 * Resource figures of a design without running synthesis: operations by kind, adders and their bits,
 * register and memory bits, and the adder depth of the longest combinational path. Counts include every
 * instance (a child instantiated twice counts twice).
 */
import { type Expr, Signal, nodeOperands } from './expr.js';
import type { Module } from './module.js';
import { typeOfInterval } from './interval.js';

export interface DesignStats {
  /** Operation nodes by kind (constants folded away are not counted). */
  readonly ops: Readonly<Record<string, number>>;
  /** Two-input additions and subtractions (a negation counts as a subtraction from zero). */
  readonly adders: number;
  /** Sum of the result widths of those adders. */
  readonly adderBits: number;
  /** Constant multiplications left to synthesis (`W * x`). */
  readonly multipliers: number;
  readonly registerBits: number;
  readonly memoryBits: number;
  /**
   * Most adders on one combinational path inside a module (from an input, register or memory read, or
   * an instance output, to a register, memory port, output or instance input).
   */
  readonly adderDepth: number;
}

const ADDERS = new Set(['add', 'sub', 'neg']);

interface ModuleFigures {
  ops: Map<string, number>;
  adderBits: number;
  registerBits: number;
  memoryBits: number;
  adderDepth: number;
}

export function designStats(top: Module): DesignStats {
  const cache = new Map<Module, ModuleFigures>();
  const total = figuresOf(top, cache);
  const ops = Object.fromEntries([...total.ops].sort(([a], [b]) => (a < b ? -1 : 1)));
  const count = (kinds: Iterable<string>): number => [...kinds].reduce((n, k) => n + (total.ops.get(k) ?? 0), 0);
  return {
    ops,
    adders: count(ADDERS),
    adderBits: total.adderBits,
    multipliers: count(['mulConst', 'mul']),
    registerBits: total.registerBits,
    memoryBits: total.memoryBits,
    adderDepth: total.adderDepth,
  };
}

function figuresOf(m: Module, cache: Map<Module, ModuleFigures>): ModuleFigures {
  const hit = cache.get(m);
  if (hit !== undefined) return hit;
  const own = ownFigures(m);
  for (const inst of m.instances) {
    const child = figuresOf(inst.module, cache);
    for (const [k, n] of child.ops) own.ops.set(k, (own.ops.get(k) ?? 0) + n);
    own.adderBits += child.adderBits;
    own.registerBits += child.registerBits;
    own.memoryBits += child.memoryBits;
    own.adderDepth = Math.max(own.adderDepth, child.adderDepth);
  }
  cache.set(m, own);
  return own;
}

/** The roots whose cones make up a module's logic. */
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

function ownFigures(m: Module): ModuleFigures {
  const ops = new Map<string, number>();
  let adderBits = 0;
  const depth = new Map<Expr, number>();
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
      if (isOp) {
        ops.set(top.e.node.op, (ops.get(top.e.node.op) ?? 0) + 1);
        if (ADDERS.has(top.e.node.op)) adderBits += top.e.width;
      }
      depth.set(top.e, below + (isOp && ADDERS.has(top.e.node.op) ? 1 : 0));
    }
    return depth.get(root)!;
  };
  const adderDepth = roots(m).reduce((d, e) => Math.max(d, visit(e)), 0);
  const registerBits = [...m.regs, ...m.memories.flatMap((mem) => mem.reads)].reduce((n, r) => n + r.width, 0);
  const memoryBits = m.memories.reduce((n, mem) => n + mem.depth * typeOfInterval(mem.range).width, 0);
  return { ops, adderBits, registerBits, memoryBits, adderDepth };
}

/** Operands of an operation; a wire's or output's driver (combinational pass-through); nothing for sources. */
function dependencies(e: Expr): readonly Expr[] {
  if (e instanceof Signal) return (e.kind === 'wire' || e.kind === 'output') && e.driver !== undefined ? [e.driver] : [];
  if (e.constValue !== undefined) return [];
  return nodeOperands(e.node);
}
