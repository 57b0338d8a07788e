/**
 * A faster evaluator for long runs: the hierarchy is flattened once and compiled to straight-line
 * JavaScript over bigint slots (one statement per operation, in dependency order), run once per input
 * change and once per clock edge. Same interface and results as `Simulator` (evaluate.ts), which stays
 * the reference; this one evaluates every node eagerly, so an `assume` is checked even where a mux does
 * not select its value (the hardware computes it there too).
 */
import { checkModule } from './check.js';
import { type Expr, Signal, nodeOperands } from './expr.js';
import { HdlError, containsValue, formatInterval, typeOfInterval } from './interval.js';
import type { Input, Instance, InstanceOutput, Memory, Module, Param, Reg } from './module.js';

/** One module instance in the flattened design. */
interface Scope {
  readonly module: Module;
  readonly path: string;
  readonly parent: { readonly scope: Scope; readonly instance: Instance } | undefined;
  readonly children: Map<Instance, Scope>;
  /** JavaScript expression (a slot `v[i]` or a literal) holding each resolved expression. */
  readonly refs: Map<Expr, string>;
}

/** Statements per generated function: small enough for V8 to optimize each. */
const CHUNK = 2000;

/**
 * Designs whose every value has at most this many bits run on JavaScript numbers (exact below 2^53,
 * and an order of magnitude faster than bigint); wider designs run on bigint.
 */
const NUMBER_MODE_BITS = 52;

type Value = number | bigint;

/** Helpers the generated code calls (passed in, so the code needs no globals). */
const helpers = {
  /** a mod m in [0, m). */
  umod: (a: number, m: number): number => ((a % m) + m) % m,
  /** Two's complement wrap of a to w bits, read signed. */
  wrapSigned: (a: number, w: number): number => {
    const m = 2 ** w;
    const bits = ((a % m) + m) % m;
    return bits >= m / 2 ? bits - m : bits;
  },
  /** Bitwise operations on unsigned values wider than 31 bits (JavaScript's operators are 32-bit). */
  wideBitwise: (kind: string, a: number, b: number): number => {
    const x = BigInt(a);
    const y = BigInt(b);
    return Number(kind === 'and' ? x & y : kind === 'or' ? x | y : x ^ y);
  },
  parity: (bits: number): number => {
    let p = 0;
    for (let v = bits; v > 0; v = Math.floor(v / 2)) p ^= v % 2;
    return p;
  },
  parityBig: (x: bigint): bigint => {
    let p = 0n;
    for (let v = x; v !== 0n; v >>= 1n) p ^= v & 1n;
    return p;
  },
};

type Kernel = (v: Value[], mems: Value[][], fail: (what: number, value: Value) => never, h: typeof helpers) => void;

export class CompiledSimulator {
  readonly module: Module;
  /** 'number' when every value fits NUMBER_MODE_BITS bits, else 'bigint'. */
  readonly mode: 'number' | 'bigint';
  private readonly values: Value[] = [];
  private readonly mems: Value[][] = [];
  private readonly comb: Kernel[];
  private readonly clock: Kernel[];
  private readonly failures: string[] = [];
  private readonly root: Scope;
  private readonly inputSlots = new Map<string, { slot: number; input: Input }>();
  private dirty = true;
  private cycleCount = 0;
  /** Inputs the logic reads that have not been set yet. */
  private readonly unsetInputs = new Set<string>();
  private readonly combLines: string[] = [];
  private readonly clockLines: string[] = [];

  constructor(module: Module) {
    checkModule(module);
    this.module = module;
    this.mode = widestValue(module) <= NUMBER_MODE_BITS ? 'number' : 'bigint';
    this.root = this.makeScope(module, '', undefined);
    for (const input of module.inputs) {
      const slot = this.newSlot(0n);
      this.root.refs.set(input, `v[${slot}]`);
      this.inputSlots.set(input.name, { slot, input });
    }
    this.allocateState(this.root);
    this.resolveAll(this.root);
    this.emitClock(this.root);
    this.comb = this.compile(this.combLines);
    this.clock = this.compile(this.clockLines);
    // Like the interpreter, refuse to run with an input the logic reads but nobody set.
    const code = [...this.combLines, ...this.clockLines].join('\n');
    for (const [name, { slot }] of this.inputSlots) if (code.includes(`v[${slot}]`)) this.unsetInputs.add(name);
  }

  get cycle(): number {
    return this.cycleCount;
  }

  set(name: string, value: bigint | number): this {
    const entry = this.inputSlots.get(name);
    if (entry === undefined) throw new HdlError(`module '${this.module.name}' has no input '${name}'`);
    const v = BigInt(value);
    if (!containsValue(entry.input.range, v)) throw new HdlError(`input '${name}' holds ${formatInterval(entry.input.range)}; ${v} is outside`);
    this.values[entry.slot] = this.native(v);
    this.unsetInputs.delete(name);
    this.dirty = true;
    return this;
  }

  setAll(values: Readonly<Record<string, bigint | number>>): this {
    for (const [name, v] of Object.entries(values)) this.set(name, v);
    return this;
  }

  /** A top-level signal name, a dotted path into instances ('u0.acc'), or a Signal of the top module. */
  get(target: string | Signal): bigint {
    this.settle();
    if (target instanceof Signal) return this.read(this.root, target);
    const path = target.split('.');
    let scope = this.root;
    for (const instName of path.slice(0, -1)) {
      const inst = scope.module.instances.find((i) => i.name === instName);
      if (inst === undefined) throw new HdlError(`module '${scope.module.name}' has no instance '${instName}' (path '${target}')`);
      scope = scope.children.get(inst)!;
    }
    const last = path[path.length - 1]!;
    const sig = scope.module.signals.find((x) => x.name === last);
    if (sig === undefined) throw new HdlError(`module '${scope.module.name}' has no signal '${last}' (path '${target}')`);
    return this.read(scope, sig);
  }

  outputs(): Record<string, bigint> {
    this.settle();
    return Object.fromEntries(this.module.outputs.map((o) => [o.name, this.read(this.root, o)]));
  }

  step(cycles = 1): this {
    for (let i = 0; i < cycles; i++) {
      this.settle();
      this.run(this.clock);
      this.dirty = true;
      this.cycleCount++;
    }
    return this;
  }

  // ---- running --------------------------------------------------------------------------------

  private native(v: bigint): Value {
    return this.mode === 'number' ? Number(v) : v;
  }

  private settle(): void {
    if (!this.dirty) return;
    if (this.unsetInputs.size > 0) {
      throw new HdlError(`module '${this.module.name}': input '${[...this.unsetInputs][0]!}' was read before it was set`);
    }
    this.run(this.comb);
    this.dirty = false;
  }

  private run(kernels: readonly Kernel[]): void {
    const fail = (what: number, value: Value): never => {
      throw new HdlError(`module '${this.module.name}': ${this.failures[what]!} does not hold: value ${value}`);
    };
    for (const k of kernels) k(this.values, this.mems, fail, helpers);
  }

  private read(scope: Scope, sig: Signal): bigint {
    const ref = scope.refs.get(sig);
    if (ref === undefined) throw new HdlError(`signal '${sig.name}' is not in module '${scope.module.name}'`);
    const slot = /^v\[(\d+)\]$/.exec(ref);
    if (slot !== null) return BigInt(this.values[Number(slot[1])]!);
    return BigInt(ref.replace(/[()n]/g, ''));
  }

  private compile(lines: readonly string[]): Kernel[] {
    const kernels: Kernel[] = [];
    for (let i = 0; i < lines.length; i += CHUNK) {
      kernels.push(new Function('v', 'mems', 'fail', 'h', `'use strict';\n${lines.slice(i, i + CHUNK).join('\n')}`) as Kernel);
    }
    return kernels;
  }

  // ---- flattening -----------------------------------------------------------------------------

  private makeScope(module: Module, path: string, parent: Scope['parent']): Scope {
    const scope: Scope = { module, path, parent, children: new Map(), refs: new Map() };
    for (const inst of module.instances) {
      scope.children.set(inst, this.makeScope(inst.module, path === '' ? inst.name : `${path}.${inst.name}`, { scope, instance: inst }));
    }
    return scope;
  }

  private newSlot(initial: bigint): number {
    this.values.push(this.native(initial));
    return this.values.length - 1;
  }

  /** A literal in the generated code's number type. */
  private lit(v: bigint): string {
    const text = this.mode === 'number' ? `${v}` : `${v}n`;
    return v < 0n ? `(${text})` : text;
  }

  /** Slots for registers and memory read ports, arrays for memories, constants for parameters. */
  private allocateState(scope: Scope): void {
    const m = scope.module;
    for (const r of m.regs) scope.refs.set(r, `v[${this.newSlot(r.init)}]`);
    for (const mem of m.memories) {
      const rest = mem.range.min > 0n ? mem.range.min : mem.range.max < 0n ? mem.range.max : 0n;
      const words = mem.init === undefined ? new Array<bigint>(mem.depth).fill(rest) : mem.init;
      this.mems.push(words.map((w) => this.native(w)));
      for (const rd of mem.reads) scope.refs.set(rd, `v[${this.newSlot(rest)}]`);
    }
    for (const p of m.params) scope.refs.set(p, this.lit(scope.parent?.instance.params.get(p.name) ?? (p as Param).defaultValue));
    for (const child of scope.children.values()) this.allocateState(child);
  }

  /** Resolve every signal of every scope, so each can be read and each register can load. */
  private resolveAll(scope: Scope): void {
    const m = scope.module;
    for (const sig of m.signals) this.resolve(scope, sig);
    for (const r of m.regs) for (const e of [r.driver!, r.reset, r.enable]) if (e !== undefined) this.resolve(scope, e);
    for (const mem of m.memories) {
      if (mem.write !== undefined) for (const e of [mem.write.addr, mem.write.data, mem.write.enable]) this.resolve(scope, e);
      for (const rd of mem.reads) for (const e of [rd.addr, rd.enable]) if (e !== undefined) this.resolve(scope, e);
    }
    for (const child of scope.children.values()) this.resolveAll(child);
  }

  /** What must be resolved before `e` in `scope` (iterative resolution keeps deep designs off the call stack). */
  private dependencies(scope: Scope, e: Expr): Array<[Scope, Expr]> {
    if (e instanceof Signal) {
      switch (e.kind) {
        case 'input':
          return scope.parent === undefined ? [] : [[scope.parent.scope, scope.parent.instance.connections.get(e.name)!]];
        case 'wire':
        case 'output':
          return [[scope, e.driver!]];
        case 'instout': {
          const out = e as InstanceOutput;
          const child = scope.children.get(out.instance)!;
          return [[child, out.instance.module.outputs.find((o) => o.name === out.port)!]];
        }
        default:
          return [];
      }
    }
    if (e.constValue !== undefined) return [];
    return nodeOperands(e.node).map((x): [Scope, Expr] => [scope, x]);
  }

  private resolve(scope: Scope, root: Expr): string {
    const stack: Array<[Scope, Expr]> = [[scope, root]];
    while (stack.length > 0) {
      const [s, e] = stack[stack.length - 1]!;
      if (s.refs.has(e)) {
        stack.pop();
        continue;
      }
      const pending = this.dependencies(s, e).filter(([ds, de]) => !ds.refs.has(de));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      s.refs.set(e, this.define(s, e));
    }
    return scope.refs.get(root)!;
  }

  /** The reference for `e`, once its dependencies have references: an alias, a literal, or a new slot. */
  private define(scope: Scope, e: Expr): string {
    const ref = (x: Expr, s: Scope = scope): string => s.refs.get(x)!;
    if (e instanceof Signal) {
      const [dep] = this.dependencies(scope, e);
      if (dep === undefined) throw new Error(`unreachable: ${e.kind} '${e.name}' has no slot`);
      return ref(dep[1], dep[0]);
    }
    if (e.constValue !== undefined) return this.lit(e.constValue);
    const target = `v[${this.newSlot(0n)}]`;
    const rhs = this.mode === 'number' ? this.numberOperation(e, (x) => ref(x)) : this.bigintOperation(e, (x) => ref(x));
    this.combLines.push(`${target} = ${rhs};`);
    if (e.node.op === 'assume') {
      this.failures.push(`in '${scope.path || scope.module.name}', an assumed range ${formatInterval(e.range)}`);
      this.combLines.push(`if (${target} < ${this.lit(e.range.min)} || ${target} > ${this.lit(e.range.max)}) fail(${this.failures.length - 1}, ${target});`);
    }
    return target;
  }

  private bigintOperation(e: Expr, ref: (x: Expr) => string): string {
    const n = e.node;
    const bits = (x: Expr): string => `BigInt.asUintN(${x.width}, ${ref(x)})`;
    switch (n.op) {
      case 'add':
        return `${ref(n.a)} + ${ref(n.b)}`;
      case 'sub':
        return `${ref(n.a)} - ${ref(n.b)}`;
      case 'neg':
        return `-${ref(n.a)}`;
      case 'mulConst':
        return `${ref(n.a)} * ${this.lit(n.k)}`;
      case 'shl':
        return `${ref(n.a)} << ${n.k}n`;
      case 'shr':
        return `${ref(n.a)} >> ${n.k}n`;
      case 'slice':
        return `BigInt.asUintN(${n.hi - n.lo + 1}, ${ref(n.a)} >> ${n.lo}n)`;
      case 'concat':
        return n.parts.reduce((acc, p, i) => (i === 0 ? bits(p) : `((${acc}) << ${p.width}n) | ${bits(p)}`), '');
      case 'cmp':
        return `(${ref(n.a)} ${COMPARE[n.kind]} ${ref(n.b)} ? 1n : 0n)`;
      case 'mux':
        return `(${ref(n.sel)} === 1n ? ${ref(n.a)} : ${ref(n.b)})`;
      case 'bitwise':
        return `${ref(n.a)} ${BITWISE[n.kind]} ${ref(n.b)}`;
      case 'not':
        return `BigInt.asUintN(${n.a.width}, ~${ref(n.a)})`;
      case 'reduce':
        if (n.kind === 'and') return `(${bits(n.a)} === ${this.lit((1n << BigInt(n.a.width)) - 1n)} ? 1n : 0n)`;
        if (n.kind === 'or') return `(${ref(n.a)} !== 0n ? 1n : 0n)`;
        return `h.parityBig(${bits(n.a)})`;
      case 'wrap':
        return `BigInt.as${e.signed ? 'Int' : 'Uint'}N(${e.width}, ${ref(n.a)})`;
      case 'assume':
        return ref(n.a);
      case 'const':
      case 'signal':
        throw new Error('unreachable: leaves are references, not operations');
    }
  }

  /** The same operations on numbers: exact, since every value (and so every result) is below 2^52. */
  private numberOperation(e: Expr, ref: (x: Expr) => string): string {
    const n = e.node;
    const pow = (k: number): string => String(2 ** k);
    const bits = (x: Expr): string => (x.signed ? `h.umod(${ref(x)}, ${pow(x.width)})` : ref(x));
    switch (n.op) {
      case 'add':
        return `${ref(n.a)} + ${ref(n.b)}`;
      case 'sub':
        return `${ref(n.a)} - ${ref(n.b)}`;
      case 'neg':
        return `-${ref(n.a)}`;
      case 'mulConst':
        return `${ref(n.a)} * ${this.lit(n.k)}`;
      case 'shl':
        return `${ref(n.a)} * ${pow(n.k)}`;
      case 'shr':
        return `Math.floor(${ref(n.a)} / ${pow(n.k)})`;
      case 'slice':
        return `Math.floor(h.umod(${ref(n.a)}, ${pow(n.hi + 1)}) / ${pow(n.lo)})`;
      case 'concat':
        return n.parts.reduce((acc, p, i) => (i === 0 ? bits(p) : `(${acc}) * ${pow(p.width)} + ${bits(p)}`), '');
      case 'cmp':
        return `(${ref(n.a)} ${COMPARE[n.kind]} ${ref(n.b)} ? 1 : 0)`;
      case 'mux':
        return `(${ref(n.sel)} === 1 ? ${ref(n.a)} : ${ref(n.b)})`;
      case 'bitwise':
        // Operands are unsigned; JavaScript's operators are exact on them up to 31 bits.
        return e.width <= 31 ? `(${ref(n.a)} ${BITWISE[n.kind]} ${ref(n.b)})` : `h.wideBitwise('${n.kind}', ${ref(n.a)}, ${ref(n.b)})`;
      case 'not':
        return `${String(2 ** n.a.width - 1)} - ${ref(n.a)}`;
      case 'reduce':
        if (n.kind === 'and') return `(${bits(n.a)} === ${String(2 ** n.a.width - 1)} ? 1 : 0)`;
        if (n.kind === 'or') return `(${ref(n.a)} !== 0 ? 1 : 0)`;
        return `h.parity(${bits(n.a)})`;
      case 'wrap':
        return e.signed ? `h.wrapSigned(${ref(n.a)}, ${e.width})` : `h.umod(${ref(n.a)}, ${pow(e.width)})`;
      case 'assume':
        return ref(n.a);
      case 'const':
      case 'signal':
        throw new Error('unreachable: leaves are references, not operations');
    }
  }

  // ---- the clock edge -------------------------------------------------------------------------

  /**
   * Every next value goes to a slot of its own first, then all are committed: every register and
   * memory sees the same old state (and the statements can be split into chunks safely).
   */
  private emitClock(scope: Scope): void {
    const computes: string[] = [];
    const commits: string[] = [];
    let memIndex = 0;
    const walk = (s: Scope): void => {
      const ref = (x: Expr): string => s.refs.get(x)!;
      for (const r of s.module.regs) this.emitRegister(r, ref, computes, commits);
      for (const mem of s.module.memories) this.emitMemory(mem, memIndex++, ref, computes, commits);
      for (const child of s.children.values()) walk(child);
    };
    walk(scope);
    this.clockLines.push(...computes, ...commits);
  }

  private nextSlot(): string {
    return `v[${this.newSlot(0n)}]`;
  }

  private emitRegister(r: Reg, ref: (x: Expr) => string, computes: string[], commits: string[]): void {
    const one = this.lit(1n);
    const self = ref(r);
    const next = this.nextSlot();
    let value = ref(r.driver!);
    if (r.enable !== undefined) value = `(${ref(r.enable)} === ${one} ? ${value} : ${self})`;
    if (r.reset !== undefined) value = `(${ref(r.reset)} === ${one} ? ${this.lit(r.init)} : ${value})`;
    computes.push(`${next} = ${value};`);
    commits.push(`${self} = ${next};`);
  }

  private emitMemory(mem: Memory, index: number, ref: (x: Expr) => string, computes: string[], commits: string[]): void {
    const one = this.lit(1n);
    const words = `mems[${index}]`;
    for (const rd of mem.reads) {
      const self = ref(rd);
      const next = this.nextSlot();
      const read = `${words}[Number(${ref(rd.addr)})]`;
      computes.push(`${next} = ${rd.enable === undefined ? read : `(${ref(rd.enable)} === ${one} ? ${read} : ${self})`};`);
      commits.push(`${self} = ${next};`);
    }
    const w = mem.write;
    if (w === undefined) return;
    const [enable, addr, data] = [this.nextSlot(), this.nextSlot(), this.nextSlot()];
    computes.push(`${enable} = ${ref(w.enable)};`, `${addr} = ${ref(w.addr)};`, `${data} = ${ref(w.data)};`);
    commits.push(`if (${enable} === ${one}) ${words}[Number(${addr})] = ${data};`);
  }
}

const COMPARE = { eq: '===', ne: '!==', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;
const BITWISE = { and: '&', or: '|', xor: '^' } as const;

/** The widest value anywhere in the design (signals, memories, every expression node). */
function widestValue(top: Module): number {
  let widest = 0;
  const seen = new Set<Expr>();
  const visitExpr = (root: Expr | undefined): void => {
    const stack = root === undefined ? [] : [root];
    while (stack.length > 0) {
      const e = stack.pop()!;
      if (seen.has(e)) continue;
      seen.add(e);
      widest = Math.max(widest, e.width);
      if (!(e instanceof Signal)) stack.push(...nodeOperands(e.node));
    }
  };
  const modules = new Set<Module>();
  const visitModule = (m: Module): void => {
    if (modules.has(m)) return;
    modules.add(m);
    for (const sig of m.signals) {
      visitExpr(sig);
      visitExpr(sig.driver);
    }
    for (const r of m.regs) [r.reset, r.enable].forEach(visitExpr);
    for (const mem of m.memories) {
      widest = Math.max(widest, typeOfInterval(mem.range).width);
      if (mem.write !== undefined) [mem.write.addr, mem.write.data, mem.write.enable].forEach(visitExpr);
      for (const rd of mem.reads) [rd.addr, rd.enable].forEach(visitExpr);
    }
    for (const inst of m.instances) {
      inst.connections.forEach((e) => visitExpr(e));
      visitModule(inst.module);
    }
  };
  visitModule(top);
  return widest;
}
