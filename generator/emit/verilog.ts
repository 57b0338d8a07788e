/**
 * The Verilog printer: DSL modules -> Verilog-2005 text, one file per module (Verilator's style rules
 * want the file named after its module). Deterministic: names come from declaration order, nothing
 * depends on time, paths or hash iteration order.
 *
 * Readable: a named wire holds its own operation (`assign x = a + b`, no temporary between), a
 * temporary is named after the signal it helps compute (`acc_next_add`), a constant left shift is wiring
 * written inline (`{a, 2'd0}`), and a signal's or instance's comment (`describe()`) is printed above the
 * line that drives it. Identical operations are one node already (the DSL hash-conses them), so one wire.
 *
 * How widths stay exact: every operation gets its own named wire of exactly its type, and each operand
 * is first brought to the operation's width explicitly (sign/zero extension by concatenation, or a slice
 * of the low bits). Since an interval proves the result fits, arithmetic modulo 2^width is exact, and no
 * expression relies on Verilog's context-dependent width rules (so `verilator -Wall` has nothing to say).
 */
import { type Expr, Signal } from '../hdl/expr.js';
import { checkModule, operands } from '../hdl/check.js';
import { type BitType, toBits, typeOfInterval, hull } from '../hdl/interval.js';
import { type Instance, type Memory, type Module, type Reg } from '../hdl/module.js';
import { NameScope } from './identifiers.js';
import { type HeaderInfo, renderHeader } from './header.js';

export interface EmittedFile {
  /** `<module>.v` */
  readonly name: string;
  readonly text: string;
}

export interface EmittedDesign {
  /** Every module of the hierarchy, children before parents (a valid compile order). */
  readonly files: readonly EmittedFile[];
  /** The top module's Verilog name. */
  readonly top: string;
  /** Verilog names of the top module's ports, by DSL name. */
  readonly ports: ReadonlyMap<string, string>;
  /**
   * A module of the hierarchy as the Verilog declares it: its name and its ports in declaration order,
   * each with its description (`describePorts`; '' where it has none).
   */
  readonly moduleOf: (m: Module) => EmittedModule;
}

export interface EmittedPort {
  readonly name: string;
  readonly direction: 'input' | 'output';
  readonly width: number;
  readonly meaning: string;
}

export interface EmittedModule {
  readonly name: string;
  readonly ports: readonly EmittedPort[];
}

/** Longest line we aim for; long lists (concatenations, the unused-bit sink) wrap before it. */
const LINE_WIDTH = 100;
/** The sink for deliberately unused bits; Verilator's default --unused-regexp matches `*unused*`. */
const UNUSED_SINK = 'unused_ok';

/** Print a module and everything it instantiates. Checks the design first. */
export function emitDesign(top: Module, header: HeaderInfo = {}): EmittedDesign {
  checkModule(top);
  const order = postOrder(top);
  const moduleScope = new NameScope();
  const moduleNames = new Map<Module, string>(order.map((m) => [m, moduleScope.claim(m.name)]));
  const portNames = new Map<Module, Map<string, string>>();
  const files: EmittedFile[] = [];
  const headerText = renderHeader(header);
  for (const m of order) {
    const printer = new ModulePrinter(m, moduleNames, portNames);
    files.push({ name: `${moduleNames.get(m)!}.v`, text: headerText + printer.print() });
    portNames.set(m, printer.portNameMap());
  }
  const moduleOf = (m: Module): EmittedModule => {
    const names = portNames.get(m);
    if (names === undefined) throw new Error(`internal: module '${m.name}' is not in the emitted hierarchy`);
    const ports = m.signals.flatMap((sig): EmittedPort[] => (sig.kind === 'input' || sig.kind === 'output'
      ? [{ name: names.get(sig.name)!, direction: sig.kind, width: sig.width, meaning: sig.comment?.replace(/\s*\n\s*/g, ' ') ?? '' }]
      : []));
    return { name: moduleNames.get(m)!, ports };
  };
  return { files, top: moduleNames.get(top)!, ports: portNames.get(top)!, moduleOf };
}

function postOrder(top: Module): Module[] {
  const order: Module[] = [];
  const seen = new Set<Module>();
  const visit = (m: Module): void => {
    if (seen.has(m)) return;
    seen.add(m);
    for (const inst of m.instances) visit(inst.module);
    order.push(m);
  };
  visit(top);
  return order;
}

/** A printable operand: a declared identifier or a constant. */
type Operand = { readonly kind: 'ident'; readonly name: string; readonly type: BitType } | { readonly kind: 'const'; readonly value: bigint };

function declType(type: BitType): string {
  const sign = type.signed ? 'signed ' : '';
  return type.width === 1 ? sign : `${sign}[${type.width - 1}:0] `;
}

/** A sized literal of exactly `width` bits. */
function literal(value: bigint, width: number): string {
  if (width === 1) return `1'b${toBits(value, 1)}`;
  if (value < 0n) return `(-${width}'sd${toBits(-value, width)})`;
  return `${width}'d${toBits(value, width)}`;
}

/** A description as `//` comment lines: printable ASCII only (model names may hold anything). */
function commentLines(text: string): string[] {
  return text.split(/\r?\n/).map((line) => `// ${line.replace(/[^\x20-\x7e]/g, '?')}`.trimEnd());
}

/** A temporary's suffix: what its operation does (`lt`, `and`, `add`, `mux`, ...). */
function opTag(e: Expr): string {
  const n = e.node;
  if (n.op === 'cmp' || n.op === 'bitwise') return n.kind;
  if (n.op === 'reduce') return `red${n.kind}`;
  if (n.op === 'mulConst') return 'mul';
  return n.op;
}

function sameType(a: Expr, b: Expr): boolean {
  return a.width === b.width && a.signed === b.signed;
}

/** `n` copies of a bit, as a concatenation item. */
function replicate(n: number, bit: string): string {
  return n === 1 ? bit : `{${n}{${bit}}}`;
}

/** Join items as `open a, b, ... close`, breaking lines before LINE_WIDTH. */
function wrapList(open: string, items: readonly string[], close: string, indent: string): string {
  const lines: string[] = [];
  let line = open;
  items.forEach((item, i) => {
    const piece = item + (i < items.length - 1 ? ',' : '');
    if (line.length + piece.length + 1 > LINE_WIDTH && line.trim() !== open.trim()) {
      lines.push(line.trimEnd());
      line = indent + '  ';
    }
    line += (line.endsWith(open) || line.trim() === '' ? '' : ' ') + piece;
  });
  lines.push(line + close);
  return lines.join('\n');
}

class ModulePrinter {
  private readonly m: Module;
  private readonly moduleNames: ReadonlyMap<Module, string>;
  private readonly childPorts: ReadonlyMap<Module, ReadonlyMap<string, string>>;
  private readonly scope = new NameScope([UNUSED_SINK]);
  private readonly names = new Map<Signal, string>();
  private readonly memNames = new Map<Memory, string>();
  private readonly instNames = new Map<Instance, string>();
  /** Operation nodes already printed, by the wire holding them. */
  private readonly printed = new Map<Expr, Operand>();
  /** Which bits of each declared identifier something reads. */
  private readonly usedBits = new Map<string, boolean[]>();
  /** Declarations of every named signal and memory, printed before any statement reads them. */
  private readonly decls: string[] = [];
  private readonly body: string[] = [];
  private tempCount = 0;
  /** The signal whose value is being printed: temporaries are named after it. */
  private context: string | undefined;
  /** Logic only one computed-on-enable register group reads (see privateLogic), by node: the group's key. */
  private readonly privateTo: ReadonlyMap<Expr, string>;
  /** Wires printed inside a register group's block (their statement is printed on first use). */
  private readonly localWiresPrinted = new Set<Signal>();
  /** The register group being printed with its private logic: its keys, the block's declarations and statements. */
  private block: { readonly keys: ReadonlySet<string>; readonly decls: string[]; readonly stmts: string[]; readonly locals: string[] } | undefined;

  constructor(m: Module, moduleNames: ReadonlyMap<Module, string>, childPorts: ReadonlyMap<Module, ReadonlyMap<string, string>>) {
    this.m = m;
    this.moduleNames = moduleNames;
    this.childPorts = childPorts;
    // Parameters and ports first so they keep the most natural names.
    const ports = m.signals.filter((sig) => sig.kind === 'param' || sig.kind === 'input' || sig.kind === 'output');
    for (const sig of ports) this.names.set(sig, this.scope.claim(sig.name));
    for (const sig of m.signals) if (!this.names.has(sig)) this.names.set(sig, this.scope.claim(sig.name));
    for (const mem of m.memories) this.memNames.set(mem, this.scope.claim(mem.name));
    for (const inst of m.instances) this.instNames.set(inst, this.scope.claim(inst.name));
    this.privateTo = privateLogic(m);
  }

  /** Verilog names of the ports and parameters, by DSL name. */
  portNameMap(): Map<string, string> {
    const visible = this.m.signals.filter((sig) => sig.kind === 'param' || sig.kind === 'input' || sig.kind === 'output');
    return new Map(visible.map((sig) => [sig.name, this.names.get(sig)!]));
  }

  print(): string {
    for (const sig of this.m.signals) {
      if (sig.kind === 'input' || sig.kind === 'output' || sig.kind === 'param' || this.isLocalWire(sig)) continue;
      this.declare(this.names.get(sig)!, sig.type);
      if (sig.comment !== undefined && sig.kind !== 'wire') this.decls.push(...commentLines(sig.comment));
      this.decls.push(`${sig.kind === 'reg' || sig.kind === 'memread' ? 'reg' : 'wire'} ${declType(sig.type)}${this.names.get(sig)!};`);
    }
    for (const sig of this.m.signals) if (sig.kind === 'input' || sig.kind === 'param') this.usedBits.set(this.names.get(sig)!, new Array<boolean>(sig.width).fill(false));
    for (const mem of this.m.memories) this.printMemoryDecl(mem);
    for (const sig of [...this.m.wires, ...this.m.outputs]) if (!this.isLocalWire(sig)) this.printDriven(sig);
    this.printRegisters();
    for (const mem of this.m.memories) this.printMemoryPorts(mem);
    for (const inst of this.m.instances) this.printInstance(inst);
    const sink = this.unusedSink();
    const sections = [this.decls, this.body, sink === '' ? [] : [sink]].filter((lines) => lines.length > 0);
    const text = [this.moduleHeader(), ...sections.flatMap((lines) => ['', ...lines]), '', 'endmodule', ''].join('\n');
    return text.replace(/\n{3,}/g, '\n\n');
  }

  /**
   * A module whose every port is described (a top: its interface is documented) gets a port block above
   * its header, one line per port; its output ports' descriptions are not repeated at their assigns.
   */
  private portsDocumented(): boolean {
    const ports = this.m.signals.filter((sig) => sig.kind === 'input' || sig.kind === 'output');
    return ports.length > 0 && ports.every((sig) => sig.comment !== undefined);
  }

  private moduleHeader(): string {
    const ports = this.m.signals.filter((sig) => sig.kind === 'input' || sig.kind === 'output');
    const lines = ports.map((sig, i) => `  ${sig.kind} wire ${declType(sig.type)}${this.names.get(sig)!}${i < ports.length - 1 ? ',' : ''}`);
    const portDoc = !this.portsDocumented() ? [] : ['', 'Ports:', ...ports.map((sig) => {
      const name = this.names.get(sig)!;
      return `  ${name}${sig.width > 1 ? `[${sig.width - 1}:0]` : ''} (${sig.kind}): ${(sig.comment ?? '').replace(/\s*\n\s*/g, ' ')}`;
    })];
    const params = this.m.params.map(
      (p, i) => `  parameter ${declType(p.type)}${this.names.get(p)!} = ${literal(p.defaultValue, p.width)}${i < this.m.params.length - 1 ? ',' : ''}`,
    );
    const name = this.moduleNames.get(this.m)!;
    const head = params.length === 0 ? `module ${name}` : [`module ${name} #(`, ...params, ')'].join('\n');
    const doc = this.m.description === undefined && portDoc.length === 0 ? [] : commentLines([...(this.m.description === undefined ? [] : [this.m.description]), ...portDoc].join('\n').replace(/^\n/, ''));
    return [...doc, ports.length === 0 ? `${head};` : [`${head} (`, ...lines, ');'].join('\n')].join('\n');
  }

  /** Track an identifier's bit usage (for the unused-bit sink). */
  private declare(name: string, type: BitType): void {
    this.usedBits.set(name, new Array<boolean>(type.width).fill(false));
  }

  // ---- operands -------------------------------------------------------------------------------

  /** The operand holding an expression's value, printing wires for operation nodes on first use. */
  private ref(e: Expr): Operand {
    if (e instanceof Signal) {
      if (this.isLocalWire(e) && !this.localWiresPrinted.has(e)) this.printTree(e);
      // A signal pinned to one value (not a port or parameter) is read as that constant, so lint's
      // constant propagation never finds a comparison or select that our intervals did not.
      const pinned = e.constValue !== undefined && e.kind !== 'input' && e.kind !== 'param';
      return pinned ? { kind: 'const', value: e.constValue! } : { kind: 'ident', name: this.names.get(e)!, type: e.type };
    }
    const c = e.constValue;
    if (c !== undefined) return { kind: 'const', value: c };
    const done = this.printed.get(e);
    if (done !== undefined) return done;
    this.printTree(e);
    return this.printed.get(e)!;
  }

  /** True for nodes printed as an operation (not a signal, not a constant in effect). */
  private isOperation(e: Expr): boolean {
    return !(e instanceof Signal) && e.constValue === undefined;
  }

  /** A wire only a computed-on-enable register group reads: printed inside that group's always block. */
  private isLocalWire(e: Expr): boolean {
    return e instanceof Signal && e.kind === 'wire' && this.privateTo.has(e);
  }

  /** Printed already (an operation's wire, or a local wire's statement). */
  private isDone(e: Expr): boolean {
    return e instanceof Signal ? this.localWiresPrinted.has(e) : this.printed.has(e);
  }

  /**
   * Print every unprinted operation (and local wire) under `root`, operands first. Iterative (an explicit
   * stack) so that very deep expression chains do not exhaust the call stack.
   */
  private printTree(root: Expr): void {
    const stack: Array<{ e: Expr; expanded: boolean }> = [{ e: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (this.isDone(top.e)) continue;
      if (top.expanded) {
        if (top.e instanceof Signal) this.printDriven(top.e);
        else this.printNode(top.e);
        continue;
      }
      stack.push({ e: top.e, expanded: true });
      const reads = top.e instanceof Signal ? this.drivenReads(top.e) : this.printedOperands(top.e);
      for (const x of [...reads].reverse()) if (!this.isDone(x)) stack.push({ e: x, expanded: false });
    }
  }

  /** A constant left shift read at full width or wider: wiring, written inline as `{a, k'd0}`. */
  private isInlineShift(e: Expr): e is Expr & { node: { op: 'shl'; a: Expr; k: number } } {
    return e.node.op === 'shl' && this.isOperation(e) && !this.printed.has(e) && e.width - e.node.k >= 1;
  }

  /** The operations and local wires `e`'s text reads by name: its operands, looking through inline shifts. */
  private printedOperands(e: Expr): Expr[] {
    return operands(e).flatMap((x) => (this.isLocalWire(x) ? [x] : !this.isOperation(x) ? [] : this.isInlineShift(x) ? this.printedOperands(x) : [x]));
  }

  /** Print one operation whose operands are all printed already. */
  private printNode(e: Expr): void {
    const alias = this.sameBits(e);
    if (alias !== undefined) {
      this.printed.set(e, alias);
      return;
    }
    const name = this.scope.claim(this.context === undefined ? `t${this.tempCount++}_${opTag(e)}` : `${this.context}_${opTag(e)}`);
    this.declare(name, e.type);
    const rhs = this.operation(e);
    const block = this.isPrivateHere(e) ? this.block : undefined;
    const lhs = block === undefined ? `wire ${declType(e.type)}${name} = ` : `${name} = `;
    (block?.stmts ?? this.body).push(typeof rhs === 'string' ? `${lhs}${rhs};` : wrapList(`${lhs}{`, rhs, '};', ''));
    if (block !== undefined) this.declareLocal(block, name, e.type);
    this.printed.set(e, { kind: 'ident', name, type: e.type });
  }

  /** True when `e` is logic private to the register group being printed (it goes inside the group's block). */
  private isPrivateHere(e: Expr): boolean {
    const key = this.privateTo.get(e);
    return key !== undefined && this.block !== undefined && this.block.keys.has(key);
  }

  private declareLocal(block: NonNullable<ModulePrinter['block']>, name: string, type: BitType): void {
    this.declare(name, type);
    block.decls.push(`reg ${declType(type)}${name};`);
    block.locals.push(name);
  }

  /**
   * A wrap or assume that keeps the width, or a slice of every bit, changes no bit: reuse the operand's
   * wire, read in the node's type. Safe because no printed expression relies on a declared signedness:
   * every extension is an explicit concatenation by the operand's type, every signed compare a $signed().
   */
  private sameBits(e: Expr): Operand | undefined {
    const n = e.node;
    const whole = n.op === 'wrap' || n.op === 'assume' || (n.op === 'slice' && n.lo === 0 && n.hi === n.a.width - 1);
    if (!whole) return undefined;
    const inner = this.ref(n.a);
    return inner.kind === 'ident' && inner.type.width === e.width ? { kind: 'ident', name: inner.name, type: e.type } : undefined;
  }

  private markUsed(name: string, hi: number, lo: number): void {
    const bits = this.usedBits.get(name);
    if (bits === undefined) return;
    for (let i = lo; i <= hi && i < bits.length; i++) bits[i] = true;
  }

  /** An operand's value as exactly `width` bits (extended by its signedness, or its low bits). */
  private fit(e: Expr, width: number): string {
    if (this.isInlineShift(e) && width >= e.width) return `{${this.fit(e.node.a, width - e.node.k)}, ${e.node.k}'d0}`;
    const op = this.ref(e);
    if (op.kind === 'const') return literal(op.value, width);
    const w = op.type.width;
    if (w === width) {
      this.markUsed(op.name, w - 1, 0);
      return op.name;
    }
    if (w > width) return this.bits(e, width - 1, 0);
    this.markUsed(op.name, w - 1, 0);
    const pad = width - w;
    if (!op.type.signed) return `{${pad}'d0, ${op.name}}`;
    const msb = w === 1 ? op.name : `${op.name}[${w - 1}]`;
    return `{${replicate(pad, msb)}, ${op.name}}`;
  }

  /** Bits [hi:lo] of an operand's two's complement form; bits above its width repeat its sign. */
  private bits(e: Expr, hi: number, lo: number): string {
    if (this.isInlineShift(e)) {
      const k = e.node.k;
      if (lo >= k) return this.bits(e.node.a, hi - k, lo - k);
      if (hi < k) return literal(0n, hi - lo + 1);
      return `{${this.bits(e.node.a, hi - k, 0)}, ${k - lo}'d0}`;
    }
    const op = this.ref(e);
    if (op.kind === 'const') return literal(BigInt.asUintN(hi - lo + 1, toBits(op.value, hi + 1) >> BigInt(lo)), hi - lo + 1);
    const w = op.type.width;
    const top = Math.min(hi, w - 1);
    const pad = hi - top;
    const msb = w === 1 ? op.name : `${op.name}[${w - 1}]`;
    if (lo > w - 1) {
      this.markUsed(op.name, w - 1, w - 1);
      return op.type.signed ? (hi === lo ? msb : `{${replicate(hi - lo + 1, msb)}}`) : literal(0n, hi - lo + 1);
    }
    this.markUsed(op.name, top, lo);
    const core = w === 1 ? op.name : top === lo ? `${op.name}[${lo}]` : top === w - 1 && lo === 0 ? op.name : `${op.name}[${top}:${lo}]`;
    if (pad === 0) return core;
    return op.type.signed ? `{${replicate(pad, msb)}, ${core}}` : `{${pad}'d0, ${core}}`;
  }

  /** The right-hand side of one operation node, at exactly its own width (a list: concatenation items). */
  private operation(e: Expr): string | string[] {
    const n = e.node;
    const w = e.width;
    switch (n.op) {
      case 'add':
        return `${this.fit(n.a, w)} + ${this.fit(n.b, w)}`;
      case 'sub':
        return `${this.fit(n.a, w)} - ${this.fit(n.b, w)}`;
      case 'neg':
        return `-${this.fit(n.a, w)}`;
      case 'mulConst':
        return `${this.fit(n.a, w)} * ${literal(n.k, w)}`;
      case 'mul':
        return `${this.fit(n.a, w)} * ${this.fit(n.b, w)}`;
      case 'shl':
        return n.k === 0 ? this.fit(n.a, w) : `{${this.fit(n.a, w - n.k)}, ${n.k}'d0}`;
      case 'shr':
        return this.bits(n.a, n.k + w - 1, n.k);
      case 'slice':
        return this.bits(n.a, n.hi, n.lo);
      case 'concat':
        return n.parts.map((p) => this.fit(p, p.width));
      case 'cmp':
        return this.comparison(n.kind, n.a, n.b);
      case 'mux':
        return `${this.fit(n.sel, 1)} ? ${this.fit(n.a, w)} : ${this.fit(n.b, w)}`;
      case 'bitwise':
        return `${this.fit(n.a, w)} ${n.kind === 'and' ? '&' : n.kind === 'or' ? '|' : '^'} ${this.fit(n.b, w)}`;
      case 'not':
        return `~${this.fit(n.a, w)}`;
      case 'reduce':
        return `${n.kind === 'and' ? '&' : n.kind === 'or' ? '|' : '^'}${this.fit(n.a, n.a.width)}`;
      case 'wrap':
      case 'assume':
        return this.fit(n.a, w);
      case 'const':
      case 'signal':
        throw new Error('unreachable: leaves are operands, not operations');
    }
  }

  private comparison(kind: string, a: Expr, b: Expr): string {
    const common = typeOfInterval(hull(a.range, b.range));
    const symbol = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' }[kind]!;
    const x = this.fit(a, common.width);
    const y = this.fit(b, common.width);
    const signedOf = (t: string): string => `$signed(${t.startsWith('(') ? t.slice(1, -1) : t})`;
    if (common.signed && kind !== 'eq' && kind !== 'ne') return `${signedOf(x)} ${symbol} ${signedOf(y)}`;
    return `${x} ${symbol} ${y}`;
  }

  // ---- statements ------------------------------------------------------------------------------

  /**
   * A wire's or output's assign; a local wire (isLocalWire) is instead a blocking assignment inside the
   * register group's block being printed, declared there.
   */
  private printDriven(sig: Signal): void {
    const name = this.names.get(sig)!;
    const block = this.isLocalWire(sig) ? this.block : undefined;
    if (this.isLocalWire(sig)) {
      if (block === undefined || !this.isPrivateHere(sig)) throw new Error(`internal: local wire '${name}' read outside its register group`);
      this.localWiresPrinted.add(sig);
    }
    const outer = this.context;
    this.context = name;
    const { held, wrappers } = this.heldOperation(sig);
    const comment = sig.comment === undefined || (sig.kind === 'output' && this.portsDocumented()) ? [] : commentLines(sig.comment);
    const lhs = block === undefined ? `assign ${name} = ` : `${name} = `;
    const target = block?.stmts ?? this.body;
    if (this.canPrintInto(sig, held)) {
      // The wire or output itself holds the operation: no extra temporary.
      for (const x of this.printedOperands(held)) this.printTree(x);
      const rhs = this.operation(held);
      target.push(...comment, typeof rhs === 'string' ? `${lhs}${rhs};` : wrapList(`${lhs}{`, rhs, '};', ''));
      for (const e of [held, ...wrappers]) this.printed.set(e, { kind: 'ident', name, type: sig.type });
    } else {
      const rhs = this.fit(sig.driver!, sig.width);
      target.push(...comment, `${lhs}${rhs};`);
    }
    if (block !== undefined) this.declareLocal(block, name, sig.type);
    this.context = outer;
  }

  /** A wire's driver, looking through narrowings that keep every bit (an `.assume()` of the exact interval, say). */
  private heldOperation(sig: Signal): { held: Expr; wrappers: Expr[] } {
    const wrappers: Expr[] = [];
    let held = sig.driver!;
    while ((held.node.op === 'assume' || held.node.op === 'wrap') && this.isOperation(held.node.a) && !this.printed.has(held) && sameType(held.node.a, sig)) {
      wrappers.push(held);
      held = held.node.a;
    }
    return { held, wrappers };
  }

  /** What printing a local wire reads by name (printed before it). */
  private drivenReads(sig: Signal): Expr[] {
    const { held } = this.heldOperation(sig);
    if (this.canPrintInto(sig, held)) return this.printedOperands(held);
    const driver = sig.driver!;
    if (this.isLocalWire(driver)) return [driver];
    if (!this.isOperation(driver)) return [];
    return this.isInlineShift(driver) ? this.printedOperands(driver) : [driver];
  }

  /** An unprinted operation of exactly the signal's type, that is not a no-op narrowing. */
  private canPrintInto(sig: Signal, driver: Expr): boolean {
    if (!this.isOperation(driver) || this.printed.has(driver)) return false;
    if (!sameType(driver, sig)) return false;
    return this.sameBits(driver) === undefined;
  }

  /**
   * Registers with the same reset and enable share one always block. A group computed on its enable
   * (RegOptions.computeOnEnable) gets the logic only it reads inside the block, under the enable: a named
   * block whose variables are assigned with `=` before the registers load with `<=`.
   */
  private printRegisters(): void {
    const clock = this.m.clock;
    if (clock === undefined || this.m.regs.length === 0) return;
    const clk = this.fit(clock, 1);
    const groups = new Map<string, { reset: string | undefined; enable: string | undefined; regs: Reg[]; keys: Set<string> }>();
    for (const r of this.m.regs) {
      this.context = `${this.names.get(r)!}_en`;
      const reset = r.reset === undefined ? undefined : this.fit(r.reset, 1);
      const enable = r.enable === undefined ? undefined : this.fit(r.enable, 1);
      const key = `${r.computeOnEnable ? 'local|' : ''}${reset ?? ''}|${enable ?? ''}`;
      const g = groups.get(key) ?? { reset, enable, regs: [], keys: new Set<string>() };
      g.regs.push(r);
      if (r.computeOnEnable) g.keys.add(groupKey(r));
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      const block = g.keys.size === 0 ? undefined : { keys: g.keys, decls: [], stmts: [], locals: [] };
      this.block = block;
      // The group's wires first, in declaration order (as the module's wires are printed).
      for (const w of this.m.wires) if (block !== undefined && this.isPrivateHere(w) && !this.localWiresPrinted.has(w)) this.printDriven(w);
      const loads = g.regs.map((r) => {
        this.context = `${this.names.get(r)!}_next`;
        return `${this.names.get(r)!} <= ${this.fit(r.driver!, r.width)};`;
      });
      this.context = undefined;
      this.block = undefined;
      const label = block === undefined ? '' : ` : ${this.scope.claim(`${groupStem(g.regs.map((r) => this.names.get(r)!))}_compute`)}`;
      const computed = block === undefined ? [] : [...block.decls, ...this.localUnusedSink(block, label.slice(3)), ...block.stmts];
      const resets = g.regs.map((r) => `${this.names.get(r)!} <= ${literal(r.init, r.width)};`);
      this.body.push('', `always @(posedge ${clk}) begin`);
      const indent = (lines: string[], depth: number): string[] => lines.flatMap((l) => l.split('\n')).map((l) => '  '.repeat(depth) + l);
      const body = [...computed, ...loads];
      if (g.reset !== undefined) {
        this.body.push(`  if (${g.reset}) begin`, ...indent(resets, 2));
        if (g.enable !== undefined) this.body.push(`  end else if (${g.enable}) begin${label}`, ...indent(body, 2), '  end');
        else this.body.push('  end else begin', ...indent(loads, 2), '  end');
      } else if (g.enable !== undefined) {
        this.body.push(`  if (${g.enable}) begin${label}`, ...indent(body, 2), '  end');
      } else {
        this.body.push(...indent(loads, 1));
      }
      this.body.push('end', '');
    }
  }

  /**
   * The block's own sink for bits of its variables that nothing reads (a module-level sink cannot name
   * a block's variables): its declaration first, its statement last. Takes the variables out of the
   * module's sink.
   */
  private localUnusedSink(block: NonNullable<ModulePrinter['block']>, label: string): string[] {
    const items = unusedItems(block.locals.map((name) => [name, this.usedBits.get(name)!] as const));
    for (const name of block.locals) this.usedBits.delete(name);
    if (items.length === 0) return [];
    const sink = this.scope.claim(`${label}_unused`);
    block.stmts.push(wrapList(`${sink} = &{`, ['1\'b0', ...items], '};', ''));
    return [`reg ${sink};`];
  }

  private printMemoryDecl(mem: Memory): void {
    const type = typeOfInterval(mem.range);
    this.decls.push(`reg ${declType(type)}${this.memNames.get(mem)!} [0:${mem.depth - 1}];`);
  }

  private printMemoryPorts(mem: Memory): void {
    const clk = this.fit(this.m.clock!, 1);
    const name = this.memNames.get(mem)!;
    this.context = name;
    const type = typeOfInterval(mem.range);
    const always = (enable: Expr | undefined, statement: string): string[] =>
      enable === undefined || enable.constValue === 1n
        ? [`always @(posedge ${clk}) begin`, `  ${statement}`, 'end']
        : [`always @(posedge ${clk}) begin`, `  if (${this.fit(enable, 1)}) ${statement}`, 'end'];
    const w = mem.write;
    if (w === undefined) {
      this.body.push('', `// ROM '${name}': constant contents, registered read.`);
    } else {
      const store = `${name}[${this.fit(w.addr, mem.addrWidth)}] <= ${this.fit(w.data, type.width)};`;
      this.body.push('', `// RAM '${name}': synchronous write, registered read (inferred as block RAM).`, ...always(w.enable, store));
    }
    if (mem.init !== undefined) {
      this.body.push('initial begin', ...mem.init.map((v, i) => `  ${name}[${i}] = ${literal(v, type.width)};`), 'end');
    }
    for (const rd of mem.reads) {
      this.body.push(...always(rd.enable, `${this.names.get(rd)!} <= ${name}[${this.fit(rd.addr, mem.addrWidth)}];`));
    }
    this.context = undefined;
  }

  private printInstance(inst: Instance): void {
    const ports = this.childPorts.get(inst.module)!;
    const conns: string[] = [];
    for (const port of inst.module.signals) {
      this.context = `${this.instNames.get(inst)!}_${port.name}`;
      if (port.kind === 'input') conns.push(`.${ports.get(port.name)!}(${this.fit(inst.connections.get(port.name)!, port.width)})`);
      if (port.kind === 'output') conns.push(`.${ports.get(port.name)!}(${this.names.get(inst.out(port.name))!})`);
    }
    const params = [...inst.params].map(([p, v]) => {
      const width = inst.module.params.find((x) => x.name === p)!.width;
      return `.${ports.get(p)!}(${literal(v, width).replace(/^\((.*)\)$/, '$1')})`;
    });
    this.context = undefined;
    const list = (items: string[]): string[] => items.map((c, i) => `  ${c}${i < items.length - 1 ? ',' : ''}`);
    const head = params.length === 0 ? [this.moduleNames.get(inst.module)!] : [`${this.moduleNames.get(inst.module)!} #(`, ...list(params), ')'];
    const comment = inst.comment === undefined ? [] : commentLines(inst.comment);
    this.body.push('', ...comment, ...head.slice(0, -1), `${head[head.length - 1]!} ${this.instNames.get(inst)!} (`, ...list(conns), ');');
  }

  /** One wire that reads every bit nothing else reads, so -Wall's UNUSED check stays quiet by design. */
  private unusedSink(): string {
    const items = unusedItems([...this.usedBits]);
    if (items.length === 0) return '';
    return `// Bits no logic reads (Verilator's idiom for deliberately unused signals).\n${wrapList(`wire ${UNUSED_SINK} = &{`, ['1\'b0', ...items], '};', '')}`;
  }
}

/** The bit ranges nothing reads, of each identifier (by its usage map), as selects. */
function unusedItems(usage: ReadonlyArray<readonly [string, readonly boolean[]]>): string[] {
  const items: string[] = [];
  for (const [name, bits] of usage) {
    const w = bits.length;
    let i = 0;
    while (i < w) {
      if (bits[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < w && !bits[j + 1]) j++;
      items.push(w === 1 ? name : i === j ? `${name}[${i}]` : i === 0 && j === w - 1 ? name : `${name}[${j}:${i}]`);
      i = j + 1;
    }
  }
  return items;
}

/** Which computed-on-enable registers share their private logic: the same enable and reset. */
function groupKey(r: Reg): string {
  return `${r.reset?.uid ?? ''}|${r.enable!.uid}`;
}

/** A group's block is named after its registers: their common prefix without a trailing index (`st_y_0`, `st_y_1` -> `st_y`). */
function groupStem(names: readonly string[]): string {
  let prefix = names[0]!;
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const stem = prefix.replace(/[_0-9]+$/, '');
  return stem === '' ? names[0]! : stem;
}

/**
 * The logic (operation nodes and wires) that only one group of computed-on-enable registers reads,
 * through their next values, mapped to the group's key (groupKey). Everything any other consumer reads
 * (an output, another register, an enable or reset, a memory port, an instance) stays a continuous assign,
 * and so does everything under it. Linear: a node's owner changes at most twice (none, a group, shared).
 */
function privateLogic(m: Module): Map<Expr, string> {
  const SHARED = '';
  const owner = new Map<Expr, string>();
  const visit = (root: Expr, label: string): void => {
    const stack: Array<{ e: Expr; label: string }> = [{ e: root, label }];
    while (stack.length > 0) {
      const { e, label: from } = stack.pop()!;
      if (e.constValue !== undefined) continue;
      const prior = owner.get(e);
      if (prior === SHARED || prior === from) continue;
      const now = prior === undefined ? from : SHARED;
      owner.set(e, now);
      if (e instanceof Signal) {
        if (e.kind === 'wire' && e.driver !== undefined) stack.push({ e: e.driver, label: now });
      } else for (const x of operands(e)) stack.push({ e: x, label: now });
    }
  };
  const guarded = m.regs.filter((r) => r.computeOnEnable);
  if (guarded.length === 0) return new Map();
  for (const o of m.outputs) if (o.driver !== undefined) visit(o.driver, SHARED);
  for (const r of m.regs) {
    for (const x of [r.reset, r.enable]) if (x !== undefined) visit(x, SHARED);
    if (!r.computeOnEnable && r.driver !== undefined) visit(r.driver, SHARED);
  }
  for (const mem of m.memories) {
    const w = mem.write;
    for (const x of w === undefined ? [] : [w.addr, w.data, w.enable]) visit(x, SHARED);
    for (const rd of mem.reads) for (const x of rd.enable === undefined ? [rd.addr] : [rd.addr, rd.enable]) visit(x, SHARED);
  }
  for (const inst of m.instances) for (const x of inst.connections.values()) visit(x, SHARED);
  for (const r of guarded) if (r.driver !== undefined) visit(r.driver, groupKey(r));
  const result = new Map<Expr, string>();
  for (const [e, key] of owner) if (key !== SHARED && (!(e instanceof Signal) || e.kind === 'wire')) result.set(e, key);
  return result;
}
