/**
 * The TypeScript evaluator: simulates a module (and the modules it instantiates) cycle by cycle with
 * exact bigint values. Usage: `set()` inputs, `get()` outputs or internal signals (combinational logic
 * settles on demand), `step()` one clock edge. The first rung of the verification ladder: the emitted
 * Verilog must agree with it cycle for cycle.
 */
import { checkModule, operands } from './check.js';
import { type Expr, Signal, computeOp } from './expr.js';
import { HdlError, containsValue, formatInterval } from './interval.js';
import type { Input, Instance, InstanceOutput, Memory, MemReadPort, Module, Param, Reg } from './module.js';

/** Where a child module's inputs come from: an instance in a parent state. */
interface Parent {
  readonly state: ModuleState;
  readonly instance: Instance;
}

/** A value inside an interval: 0 when allowed, else the bound nearest to 0 (the power-on value of RAM). */
function restValue(sig: { range: { min: bigint; max: bigint } }): bigint {
  return sig.range.min > 0n ? sig.range.min : sig.range.max < 0n ? sig.range.max : 0n;
}

class ModuleState {
  readonly module: Module;
  readonly parent: Parent | undefined;
  readonly inputs = new Map<Input, bigint>();
  readonly regs = new Map<Reg, bigint>();
  readonly memories = new Map<Memory, bigint[]>();
  readonly reads = new Map<MemReadPort, bigint>();
  readonly children = new Map<Instance, ModuleState>();
  private cache = new Map<Expr, bigint>();

  constructor(module: Module, parent: Parent | undefined) {
    this.module = module;
    this.parent = parent;
    for (const r of module.regs) this.regs.set(r, r.init);
    for (const mem of module.memories) {
      this.memories.set(mem, mem.init === undefined ? new Array<bigint>(mem.depth).fill(restValue(mem)) : [...mem.init]);
      for (const rd of mem.reads) this.reads.set(rd, restValue(mem));
    }
    for (const inst of module.instances) this.children.set(inst, new ModuleState(inst.module, { state: this, instance: inst }));
  }

  invalidate(): void {
    this.cache = new Map();
    for (const child of this.children.values()) child.invalidate();
  }

  /**
   * The value of an expression. Iterative (an explicit stack, operands first) so that very deep
   * expression chains do not exhaust the call stack; a mux evaluates only the branch it selects.
   */
  evaluate(root: Expr): bigint {
    const hit = this.cache.get(root);
    if (hit !== undefined) return hit;
    const stack: Expr[] = [root];
    while (stack.length > 0) {
      const e = stack[stack.length - 1]!;
      if (this.cache.has(e)) {
        stack.pop();
        continue;
      }
      const pending = this.pendingOperands(e);
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      const value = this.compute(e);
      if (!containsValue(e.range, value)) {
        // Cannot happen for well-formed expressions (intervals are exact); kept as a guard for the DSL itself.
        throw new HdlError(`module '${this.module.name}': value ${value} of ${e.toString()} escapes its interval`);
      }
      this.cache.set(e, value);
    }
    return this.cache.get(root)!;
  }

  /** Operands (in this module) that must have values before `e` can be computed. */
  private pendingOperands(e: Expr): Expr[] {
    if (e instanceof Signal) {
      const driven = (e.kind === 'wire' || e.kind === 'output') && e.driver !== undefined;
      return driven && !this.cache.has(e.driver!) ? [e.driver!] : [];
    }
    if (e.node.op === 'mux') {
      const sel = this.cache.get(e.node.sel);
      if (sel === undefined) return [e.node.sel];
      const chosen = sel === 1n ? e.node.a : e.node.b;
      return this.cache.has(chosen) ? [] : [chosen];
    }
    return operands(e).filter((x) => !this.cache.has(x));
  }

  private readSignal(sig: Signal): bigint {
    switch (sig.kind) {
      case 'input':
        return this.readInput(sig as Input);
      case 'output':
      case 'wire':
        return this.evaluate(sig.driver!);
      case 'reg':
        return this.regs.get(sig as Reg)!;
      case 'param':
        return this.parent?.instance.params.get(sig.name) ?? (sig as Param).defaultValue;
      case 'memread':
        return this.reads.get(sig as MemReadPort)!;
      case 'instout': {
        const out = sig as InstanceOutput;
        const child = this.children.get(out.instance)!;
        return child.evaluate(out.instance.module.outputs.find((o) => o.name === out.port)!);
      }
    }
  }

  private readInput(port: Input): bigint {
    if (this.parent !== undefined) return this.parent.state.evaluate(this.parent.instance.connections.get(port.name)!);
    const v = this.inputs.get(port);
    if (v === undefined) throw new HdlError(`module '${this.module.name}': input '${port.name}' was read before it was set`);
    return v;
  }

  private compute(e: Expr): bigint {
    if (e instanceof Signal) return this.readSignal(e);
    // A node the intervals pin to one value is that constant (folded when it was built).
    if (e.constValue !== undefined) return e.constValue;
    const v = computeOp(e.node, e.type, (x) => this.evaluate(x));
    if (e.node.op === 'assume' && !containsValue(e.range, v)) {
      throw new HdlError(`module '${this.module.name}': an assumed range ${formatInterval(e.range)} does not hold: value ${v}`);
    }
    return v;
  }

  /** Compute every register's and memory's next state (before any of them changes). */
  collectUpdates(updates: Array<() => void>): void {
    for (const r of this.module.regs) {
      const next = this.nextRegValue(r);
      updates.push(() => this.regs.set(r, next));
    }
    for (const mem of this.module.memories) this.collectMemoryUpdates(mem, updates);
    for (const child of this.children.values()) child.collectUpdates(updates);
  }

  private nextRegValue(r: Reg): bigint {
    if (r.reset !== undefined && this.evaluate(r.reset) === 1n) return r.init;
    if (r.enable !== undefined && this.evaluate(r.enable) !== 1n) return this.regs.get(r)!;
    return this.evaluate(r.driver!);
  }

  private collectMemoryUpdates(mem: Memory, updates: Array<() => void>): void {
    const words = this.memories.get(mem)!;
    for (const rd of mem.reads) {
      if (rd.enable !== undefined && this.evaluate(rd.enable) !== 1n) continue;
      const word = words[Number(this.evaluate(rd.addr))]!;
      updates.push(() => this.reads.set(rd, word));
    }
    const w = mem.write;
    if (w !== undefined && this.evaluate(w.enable) === 1n) {
      const addr = Number(this.evaluate(w.addr));
      const data = this.evaluate(w.data);
      updates.push(() => {
        words[addr] = data;
      });
    }
  }
}

export class Simulator {
  readonly module: Module;
  private readonly root: ModuleState;
  private readonly byName: Map<string, Signal>;
  private cycleCount = 0;

  /** Checks the module first (an unsound design is not simulated). */
  constructor(module: Module) {
    checkModule(module);
    this.module = module;
    this.root = new ModuleState(module, undefined);
    this.byName = new Map(module.signals.map((sig) => [sig.name, sig]));
  }

  /** Clock edges so far. */
  get cycle(): number {
    return this.cycleCount;
  }

  /** Drive a top-level input; the value must lie in the port's interval. */
  set(name: string, value: bigint | number): this {
    const sig = this.byName.get(name);
    if (sig === undefined || sig.kind !== 'input') throw new HdlError(`module '${this.module.name}' has no input '${name}'`);
    const v = BigInt(value);
    if (!containsValue(sig.range, v)) throw new HdlError(`input '${name}' holds ${formatInterval(sig.range)}; ${v} is outside`);
    this.root.inputs.set(sig as Input, v);
    this.root.invalidate();
    return this;
  }

  /** Set many inputs at once. */
  setAll(values: Readonly<Record<string, bigint | number>>): this {
    for (const [name, v] of Object.entries(values)) this.set(name, v);
    return this;
  }

  /**
   * The current value of a signal: a top-level name, a dotted path into instances
   * ('u_stage.acc'), or a Signal object of the top module.
   */
  get(target: string | Signal): bigint {
    if (target instanceof Signal) {
      if (target.owner !== this.module) throw new HdlError(`signal '${target.name}' is not in module '${this.module.name}'`);
      return this.root.evaluate(target);
    }
    const path = target.split('.');
    let state = this.root;
    for (const instName of path.slice(0, -1)) {
      const inst = state.module.instances.find((i) => i.name === instName);
      if (inst === undefined) throw new HdlError(`module '${state.module.name}' has no instance '${instName}' (path '${target}')`);
      state = state.children.get(inst)!;
    }
    const last = path[path.length - 1]!;
    const sig = state.module.signals.find((x) => x.name === last);
    if (sig === undefined) throw new HdlError(`module '${state.module.name}' has no signal '${last}' (path '${target}')`);
    return state.evaluate(sig);
  }

  /** Read every output of the top module. */
  outputs(): Record<string, bigint> {
    return Object.fromEntries(this.module.outputs.map((o) => [o.name, this.root.evaluate(o)]));
  }

  /** One (or more) rising clock edges: registers and memories load their next values. */
  step(cycles = 1): this {
    for (let i = 0; i < cycles; i++) {
      const updates: Array<() => void> = [];
      this.root.collectUpdates(updates);
      for (const apply of updates) apply();
      this.root.invalidate();
      this.cycleCount++;
    }
    return this;
  }
}

