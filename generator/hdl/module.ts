/**
 * The Module builder: ports, wires, registers, memories and instances of other modules. A module is
 * built by calling its methods; `checkModule` (check.ts) verifies it, `Simulator` (evaluate.ts) runs it,
 * and generator/emit prints it as Verilog.
 */
import { Expr, type ExprLike, Signal, checkValueInRange, lift, mux } from './expr.js';
import { HdlError, type BitType, type Interval, contains, formatInterval, interval, rangeOfType } from './interval.js';

/** A port or register type: an explicit bit type, or the exact interval of its values. */
export type TypeSpec = BitType | Interval;

/** Shorthands for port types. */
export const u = (width: number): BitType => ({ width, signed: false });
export const s = (width: number): BitType => ({ width, signed: true });
export const range = (min: bigint | number, max: bigint | number): Interval => interval(min, max);

export function intervalOf(spec: TypeSpec): Interval {
  return 'width' in spec ? rangeOfType(spec) : interval(spec.min, spec.max);
}

/** A wire or output port: driven once by an expression. */
export class Wire extends Signal {
  drive(value: ExprLike): this {
    this.setDriver('driver', value);
    return this;
  }
}

/** An input port; `isClock` marks the module's clock. */
export class Input extends Signal {
  readonly isClock: boolean;
  constructor(owner: Module, name: string, range: Interval, isClock: boolean) {
    super(owner, 'input', name, range);
    this.isClock = isClock;
  }
}

/**
 * A Verilog parameter: a value fixed per instance (a threshold, an offset, a zero point). Its interval is
 * the declared range, not the default, so every width derived from it holds for any value an instance
 * chooses within that range.
 */
export class Param extends Signal {
  readonly defaultValue: bigint;
  constructor(owner: Module, name: string, range: Interval, defaultValue: bigint) {
    super(owner, 'param', name, range);
    checkValueInRange(`parameter '${name}' default`, defaultValue, range);
    this.defaultValue = defaultValue;
  }
}

export interface RegOptions {
  /** Synchronous, active-high reset; the register loads `init` when it is 1. */
  readonly reset?: Expr;
  /** Value after reset (and the evaluator's value before the first clock). Default 0 (or the interval's min). */
  readonly init?: bigint | number;
  /** Load the next value only when this 1-bit signal is 1 (reset has priority). */
  readonly enable?: Expr;
  /**
   * Compute the next value only on clocks where `enable` is 1 (needs an enable). The logic that only
   * this register group reads is printed inside the group's always block, under the enable, as blocking
   * assignments to variables local to the block, instead of as continuous assigns: a simulator then
   * skips it on the other clocks (Verilator evaluates every continuous assign on every clock), while
   * synthesis sees the same logic. Meant for data registers that load only with a valid beat.
   */
  readonly computeOnEnable?: boolean;
}

/** A register clocked by the module's clock: next value set once with `next()`. */
export class Reg extends Signal {
  readonly reset: Expr | undefined;
  readonly enable: Expr | undefined;
  readonly computeOnEnable: boolean;
  readonly init: bigint;
  constructor(owner: Module, name: string, range: Interval, options: RegOptions) {
    super(owner, 'reg', name, range);
    this.reset = options.reset === undefined ? undefined : requireBit(`register '${name}' reset`, options.reset);
    this.enable = options.enable === undefined ? undefined : requireBit(`register '${name}' enable`, options.enable);
    this.computeOnEnable = options.computeOnEnable === true;
    if (this.computeOnEnable && this.enable === undefined) throw new HdlError(`register '${name}': computeOnEnable needs an enable`);
    const fallback = range.min > 0n ? range.min : range.max < 0n ? range.max : 0n;
    this.init = options.init === undefined ? fallback : BigInt(options.init);
    checkValueInRange(`register '${name}' init`, this.init, range);
  }
  next(value: ExprLike): this {
    this.setDriver('next value', value);
    return this;
  }
}

export interface MemoryWrite {
  readonly addr: Expr;
  readonly data: Expr;
  readonly enable: Expr;
}

/**
 * A memory synthesis infers as RAM: one synchronous write port and registered read ports (the
 * line-buffer pattern). A read of an address written in the same cycle returns the old word.
 */
export class Memory {
  readonly owner: Module;
  readonly name: string;
  readonly depth: number;
  readonly range: Interval;
  readonly addrWidth: number;
  readonly reads: MemReadPort[] = [];
  /** Initial contents (one word per address), e.g. a ROM of constants; printed as an initial block. */
  readonly init: readonly bigint[] | undefined;
  private writePort: MemoryWrite | undefined;

  constructor(owner: Module, name: string, depth: number, range: Interval, init?: readonly (bigint | number)[]) {
    if (!Number.isInteger(depth) || depth < 2) throw new HdlError(`memory '${name}': depth must be an integer >= 2, got ${depth}`);
    this.owner = owner;
    this.name = name;
    this.depth = depth;
    this.range = range;
    this.addrWidth = Math.max(1, (depth - 1).toString(2).length);
    if (init !== undefined && init.length !== depth) {
      throw new HdlError(`memory '${name}': init has ${init.length} words, depth is ${depth} (give one word per address)`);
    }
    this.init = init?.map((w, i) => {
      const v = BigInt(w);
      checkValueInRange(`memory '${name}' init word ${i}`, v, range);
      return v;
    });
  }

  get write(): MemoryWrite | undefined {
    return this.writePort;
  }

  /** The single write port: mem[addr] <= data when enable is 1 (at the clock edge). */
  setWrite(port: { addr: Expr; data: ExprLike; enable?: ExprLike }): void {
    if (this.writePort !== undefined) throw new HdlError(`memory '${this.name}' already has a write port (one per memory)`);
    const data = lift(port.data);
    if (!contains(this.range, data.range)) {
      throw new HdlError(`memory '${this.name}' holds ${formatInterval(this.range)} but write data ranges over ${formatInterval(data.range)}`);
    }
    this.writePort = {
      addr: this.checkAddr('write', port.addr),
      data,
      enable: requireBit(`memory '${this.name}' write enable`, lift(port.enable ?? 1)),
    };
  }

  /** A registered read port: the returned signal holds mem[addr] from the previous clock edge. */
  read(name: string, port: { addr: Expr; enable?: ExprLike }): MemReadPort {
    const signal = new MemReadPort(this.owner, name, this, this.checkAddr('read', port.addr), port.enable === undefined ? undefined : requireBit(`memory '${this.name}' read enable`, lift(port.enable)));
    this.owner.declare(signal);
    this.reads.push(signal);
    return signal;
  }

  private checkAddr(what: string, addr: Expr): Expr {
    if (!contains(interval(0, this.depth - 1), addr.range)) {
      throw new HdlError(`memory '${this.name}' (depth ${this.depth}): ${what} address ranges over ${formatInterval(addr.range)}, outside [0, ${this.depth - 1}]`);
    }
    return addr;
  }
}

export class MemReadPort extends Signal {
  readonly memory: Memory;
  readonly addr: Expr;
  readonly enable: Expr | undefined;
  constructor(owner: Module, name: string, memory: Memory, addr: Expr, enable: Expr | undefined) {
    super(owner, 'memread', name, memory.range);
    this.memory = memory;
    this.addr = addr;
    this.enable = enable;
  }
}

/** An instance of another module, with every input port connected. */
export class Instance {
  readonly owner: Module;
  readonly name: string;
  readonly module: Module;
  readonly connections: ReadonlyMap<string, Expr>;
  /** Parameter values this instance sets (the others keep their defaults). */
  readonly params: ReadonlyMap<string, bigint>;
  readonly outputs: ReadonlyMap<string, InstanceOutput>;

  constructor(owner: Module, name: string, module: Module, connections: ReadonlyMap<string, Expr>, params: ReadonlyMap<string, bigint>) {
    this.owner = owner;
    this.name = name;
    this.module = module;
    this.connections = connections;
    this.params = params;
    const outs = new Map<string, InstanceOutput>();
    for (const port of module.outputs) outs.set(port.name, new InstanceOutput(owner, `${name}_${port.name}`, this, port.name, port.range));
    this.outputs = outs;
  }

  /** A note printed above the instance in the Verilog (e.g. which layer it computes); see Signal.describe. */
  comment: string | undefined;
  describe(text: string): this {
    return Object.assign(this, { comment: text });
  }

  /** The signal carrying one of the child's outputs. */
  out(port: string): InstanceOutput {
    const o = this.outputs.get(port);
    if (o === undefined) {
      throw new HdlError(`instance '${this.name}' of '${this.module.name}' has no output '${port}'; outputs: ${[...this.outputs.keys()].join(', ') || '(none)'}`);
    }
    return o;
  }
}

export class InstanceOutput extends Signal {
  readonly instance: Instance;
  readonly port: string;
  constructor(owner: Module, name: string, instance: Instance, port: string, range: Interval) {
    super(owner, 'instout', name, range);
    this.instance = instance;
    this.port = port;
  }
}

export class Module {
  readonly name: string;
  readonly inputs: Input[] = [];
  readonly params: Param[] = [];
  readonly outputs: Wire[] = [];
  readonly wires: Wire[] = [];
  readonly regs: Reg[] = [];
  readonly memories: Memory[] = [];
  readonly instances: Instance[] = [];
  /** Every named signal in declaration order (the emitter names them in this order). */
  readonly signals: Signal[] = [];
  private readonly names = new Set<string>();
  private clockPort: Input | undefined;

  /** Printed as a comment above the module (what it is, where it came from). */
  readonly description: string | undefined;
  /**
   * What the module's logic is for, when a cost figure singles it out (designCosts totals each role
   * apart, e.g. `products`: the constant weight products of a fixed layer). Not printed.
   */
  readonly role: string | undefined;

  constructor(name: string, options: { description?: string; role?: string } = {}) {
    if (name.length === 0) throw new HdlError('a module needs a name');
    this.name = name;
    this.description = options.description;
    this.role = options.role;
  }

  get clock(): Input | undefined {
    return this.clockPort;
  }

  /**
   * Describe ports by name (one line each; a port already described keeps its text). A module whose
   * every port is described gets a port block in its Verilog (generator/emit) and its ports' meanings in
   * the manifest.
   */
  describePorts(meanings: Readonly<Record<string, string>>): this {
    for (const sig of this.signals) {
      const text = meanings[sig.name];
      if ((sig.kind === 'input' || sig.kind === 'output') && sig.comment === undefined && text !== undefined) sig.describe(text);
    }
    return this;
  }

  /** @internal Register a named signal; names are unique within a module. */
  declare<T extends Signal>(signal: T): T {
    this.claimName(signal.name);
    this.signals.push(signal);
    return signal;
  }

  /** The clock input (one clock domain per module); registers and memories use it. */
  addClock(name = 'clk'): Input {
    if (this.clockPort !== undefined) throw new HdlError(`module '${this.name}' already has clock '${this.clockPort.name}'`);
    this.clockPort = this.declare(new Input(this, name, interval(0, 1), true));
    this.inputs.push(this.clockPort);
    return this.clockPort;
  }

  /** A Verilog parameter with a declared range and a default; instances may set it within the range. */
  parameter(name: string, options: { type: TypeSpec; default: bigint | number }): Param {
    const p = this.declare(new Param(this, name, intervalOf(options.type), BigInt(options.default)));
    this.params.push(p);
    return p;
  }

  input(name: string, type: TypeSpec): Input {
    const port = this.declare(new Input(this, name, intervalOf(type), false));
    this.inputs.push(port);
    return port;
  }

  /** An output port; driven now when `value` is given, else later with `.drive()`. Type defaults to the value's. */
  output(name: string, value: ExprLike): Wire;
  output(name: string, type: TypeSpec, value?: ExprLike): Wire;
  output(name: string, typeOrValue: TypeSpec | ExprLike, value?: ExprLike): Wire {
    const port = this.declare(this.makeDriven('output', name, typeOrValue, value));
    this.outputs.push(port);
    return port;
  }

  /** A named wire; driven now when `value` is given, else later with `.drive()`. */
  wire(name: string, value: ExprLike): Wire;
  wire(name: string, type: TypeSpec, value?: ExprLike): Wire;
  wire(name: string, typeOrValue: TypeSpec | ExprLike, value?: ExprLike): Wire {
    const w = this.declare(this.makeDriven('wire', name, typeOrValue, value));
    this.wires.push(w);
    return w;
  }

  /** A register of the given type; set its next value with `.next()`. */
  reg(name: string, type: TypeSpec, options: RegOptions = {}): Reg {
    this.requireClock(`register '${name}'`);
    const r = this.declare(new Reg(this, name, intervalOf(type), options));
    this.regs.push(r);
    return r;
  }

  /** A register that delays `value` by one clock, typed by the value's interval (and its init). */
  pipe(name: string, value: ExprLike, options: RegOptions = {}): Reg {
    const v = lift(value);
    const init = BigInt(options.init ?? 0);
    const range = interval(v.range.min < init ? v.range.min : init, v.range.max > init ? v.range.max : init);
    return this.reg(name, range, options).next(v);
  }

  /** A RAM (or, with `init` and no write port, a ROM) with registered reads. */
  /** `value` delayed by `cycles` clocks through a chain of registers named `<name>_1` ... `<name>_<cycles>`. */
  delay(name: string, value: ExprLike, cycles: number, options: RegOptions = {}): Expr {
    if (!Number.isInteger(cycles) || cycles < 0) throw new HdlError(`delay '${name}': cycles must be a non-negative integer, got ${cycles}`);
    let v = lift(value);
    for (let i = 1; i <= cycles; i++) v = this.pipe(`${name}_${i}`, v, options);
    return v;
  }

  /**
   * A counter 0, 1, ..., modulo-1, 0, ... advancing when `enable` is 1 (always, without one); `last`
   * is 1 on its final value (use it to advance the next counter of a nest, e.g. columns then rows).
   */
  counter(name: string, modulo: number, options: { enable?: Expr; reset?: Expr } = {}): { value: Reg; last: Expr } {
    if (!Number.isInteger(modulo) || modulo < 1) throw new HdlError(`counter '${name}': modulo must be a positive integer, got ${modulo}`);
    const value = this.reg(name, interval(0, modulo - 1), { ...options, init: 0 });
    const last = value.eq(modulo - 1);
    value.next(mux(last, 0, value.add(1)).assume(0, modulo - 1));
    return { value, last };
  }

  memory(name: string, options: { depth: number; type: TypeSpec; init?: readonly (bigint | number)[] }): Memory {
    this.requireClock(`memory '${name}'`);
    this.claimName(name);
    const mem = new Memory(this, name, options.depth, intervalOf(options.type), options.init);
    this.memories.push(mem);
    return mem;
  }

  /**
   * Instantiate `child`; `connections` maps each child input to an expression of this module. The
   * child's clock is connected to this module's clock when not given. Each value must fit its port.
   * `params` sets the child's parameters (each within its declared range).
   */
  instance(name: string, child: Module, connections: Record<string, ExprLike>, params: Record<string, bigint | number> = {}): Instance {
    if (child === this) throw new HdlError(`module '${this.name}' cannot instantiate itself`);
    this.claimName(name);
    const conns = new Map<string, Expr>();
    const known = new Set(child.inputs.map((p) => p.name));
    for (const key of Object.keys(connections).sort()) {
      if (!known.has(key)) {
        throw new HdlError(`instance '${name}' of '${child.name}': no input port '${key}'; inputs: ${[...known].join(', ') || '(none)'}`);
      }
    }
    for (const port of child.inputs) {
      const given = connections[port.name];
      const value = given !== undefined ? lift(given) : port.isClock ? this.requireClock(`instance '${name}'`) : undefined;
      if (value === undefined) throw new HdlError(`instance '${name}' of '${child.name}': input '${port.name}' is not connected`);
      if (!contains(port.range, value.range)) {
        throw new HdlError(`instance '${name}' of '${child.name}': input '${port.name}' holds ${formatInterval(port.range)} but is connected to a value in ${formatInterval(value.range)}`);
      }
      conns.set(port.name, value);
    }
    const inst = new Instance(this, name, child, conns, checkParams(name, child, params));
    for (const out of inst.outputs.values()) this.declare(out);
    this.instances.push(inst);
    return inst;
  }

  private makeDriven(kind: 'output' | 'wire', name: string, typeOrValue: TypeSpec | ExprLike, value: ExprLike | undefined): Wire {
    const isValue = typeOrValue instanceof Expr || typeof typeOrValue === 'bigint' || typeof typeOrValue === 'number';
    const driver = isValue ? lift(typeOrValue) : value === undefined ? undefined : lift(value);
    const range = isValue ? lift(typeOrValue).range : intervalOf(typeOrValue);
    const w = new Wire(this, kind, name, range);
    if (driver !== undefined) w.drive(driver);
    return w;
  }

  private requireClock(what: string): Input {
    if (this.clockPort === undefined) throw new HdlError(`${what} in module '${this.name}' needs a clock: call addClock() first`);
    return this.clockPort;
  }

  private claimName(name: string): void {
    if (name.length === 0) throw new HdlError(`module '${this.name}': a signal needs a name`);
    if (this.names.has(name)) throw new HdlError(`module '${this.name}' already has a signal, memory or instance named '${name}'`);
    this.names.add(name);
  }
}

function checkParams(instName: string, child: Module, params: Record<string, bigint | number>): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const key of Object.keys(params).sort()) {
    const p = child.params.find((x) => x.name === key);
    if (p === undefined) {
      throw new HdlError(`instance '${instName}' of '${child.name}': no parameter '${key}'; parameters: ${child.params.map((x) => x.name).join(', ') || '(none)'}`);
    }
    const v = BigInt(params[key]!);
    checkValueInRange(`instance '${instName}' of '${child.name}': parameter '${key}'`, v, p.range);
    values.set(key, v);
  }
  return values;
}

function requireBit(what: string, e: Expr): Expr {
  if (!contains(interval(0, 1), e.range)) throw new HdlError(`${what} must be a 1-bit value, got ${formatInterval(e.range)}`);
  return e;
}
