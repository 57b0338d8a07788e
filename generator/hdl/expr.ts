/**
 * Expressions: immutable trees (DAGs, when a sub-expression is reused) over constants and named signals.
 * Each node's interval is computed exactly from its operands' intervals when it is built, and its type
 * is the narrowest one holding that interval (see interval.ts).
 *
 * Operation nodes are hash-consed: building the same operation on the same operands (constants by
 * value) twice returns the first node, so a comparison written at two places in a generator is one
 * node, one wire in the Verilog and one figure in the cost counts. Identity is exact structure and
 * interval, never commutativity or algebra.
 */
import {
  HdlError,
  type BitType,
  type Interval,
  contains,
  containsValue,
  formatInterval,
  formatType,
  hull,
  interval,
  rangeOfType,
  typeOfInterval,
  toBits,
  fromBits,
} from './interval.js';

export type CompareKind = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type BitwiseKind = 'and' | 'or' | 'xor';

/** The operation of one expression node; discriminated on `op`. */
export type ExprNode =
  | { readonly op: 'const'; readonly value: bigint }
  | { readonly op: 'signal' }
  | { readonly op: 'add'; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'sub'; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'neg'; readonly a: Expr }
  /** Multiplication by a constant (the baseline `W * x` form; synthesis builds the multiplier). */
  | { readonly op: 'mulConst'; readonly a: Expr; readonly k: bigint }
  /** Product of two variable operands (a hardware multiplier: the accelerator's MACs and requantization). */
  | { readonly op: 'mul'; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'shl'; readonly a: Expr; readonly k: number }
  /** Floor division by 2^k (arithmetic shift right). */
  | { readonly op: 'shr'; readonly a: Expr; readonly k: number }
  /** Bits [hi:lo] of the operand's two's complement form, as an unsigned value. */
  | { readonly op: 'slice'; readonly a: Expr; readonly hi: number; readonly lo: number }
  /** Bits of the parts, first part most significant (as Verilog `{a, b}`); unsigned. */
  | { readonly op: 'concat'; readonly parts: readonly Expr[] }
  | { readonly op: 'cmp'; readonly kind: CompareKind; readonly a: Expr; readonly b: Expr }
  /** sel ? a : b */
  | { readonly op: 'mux'; readonly sel: Expr; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'bitwise'; readonly kind: BitwiseKind; readonly a: Expr; readonly b: Expr }
  | { readonly op: 'not'; readonly a: Expr }
  | { readonly op: 'reduce'; readonly kind: BitwiseKind; readonly a: Expr }
  /** Keep the low bits of the operand, reinterpreted in the node's type (intended truncation). */
  | { readonly op: 'wrap'; readonly a: Expr }
  /**
   * Narrow to a smaller interval the designer knows holds (e.g. a counter reset before it overflows).
   * Printed like `wrap`; the evaluator checks the claim on every evaluation.
   */
  | { readonly op: 'assume'; readonly a: Expr };

export type ExprLike = Expr | bigint | number;

let nextUid = 0;

/** Anything that owns signals (a Module); kept opaque here to avoid a module cycle. */
export type Owner = object;

export class Expr {
  readonly node: ExprNode;
  readonly range: Interval;
  readonly type: BitType;
  /** @internal A number unique to this node (the hash-consing key of its users). */
  readonly uid = nextUid++;
  /** @internal Operations already built with this node as first operand, by structural key. */
  users: Map<string, Expr> | undefined;

  constructor(node: ExprNode, range: Interval) {
    this.node = node;
    const folded = foldConstant(node, range);
    this.range = folded === undefined ? range : { min: folded, max: folded };
    // Bit-structural results keep their structural width even when folded to a constant: a slice [7:0]
    // of a constant is 8 bits, so a concatenation of it puts every later part at the intended position.
    this.type = structuralType(node) ?? typeOfInterval(this.range);
  }

  get width(): number {
    return this.type.width;
  }
  get signed(): boolean {
    return this.type.signed;
  }
  /** The single value when the interval is a point (the expression is a constant in effect). */
  get constValue(): bigint | undefined {
    return this.range.min === this.range.max ? this.range.min : undefined;
  }

  add(other: ExprLike): Expr {
    const b = lift(other);
    return node({ op: 'add', a: this, b }, interval(this.range.min + b.range.min, this.range.max + b.range.max));
  }
  sub(other: ExprLike): Expr {
    const b = lift(other);
    if (b === this) return constant(0); // x - x: exact, and what lint would fold anyway
    return node({ op: 'sub', a: this, b }, interval(this.range.min - b.range.max, this.range.max - b.range.min));
  }
  neg(): Expr {
    return node({ op: 'neg', a: this }, interval(-this.range.max, -this.range.min));
  }
  /** Multiply by a constant, or by another expression (a multiplier whose interval is the corners' hull). */
  mul(k: bigint | number | Expr): Expr {
    if (k instanceof Expr && k.constValue === undefined) {
      const corners = [this.range.min * k.range.min, this.range.min * k.range.max, this.range.max * k.range.min, this.range.max * k.range.max];
      const lo = corners.reduce((a, b) => (b < a ? b : a));
      const hi = corners.reduce((a, b) => (b > a ? b : a));
      return new Expr({ op: 'mul', a: this, b: k }, interval(lo, hi));
    }
    const kk = k instanceof Expr ? k.constValue! : BigInt(k);
    if (kk === 1n) return this;
    const p = this.range.min * kk;
    const q = this.range.max * kk;
    return node({ op: 'mulConst', a: this, k: kk }, p <= q ? interval(p, q) : interval(q, p));
  }
  /** Multiply by 2^k. */
  shl(k: number): Expr {
    checkShift(k);
    const f = 1n << BigInt(k);
    return node({ op: 'shl', a: this, k }, interval(this.range.min * f, this.range.max * f));
  }
  /** Floor division by 2^k (arithmetic shift right; drops the low k bits). */
  shr(k: number): Expr {
    checkShift(k);
    const s = BigInt(k);
    return node({ op: 'shr', a: this, k }, interval(this.range.min >> s, this.range.max >> s));
  }
  /** Bits [hi:lo] of the two's complement form, as an unsigned value. */
  slice(hi: number, lo: number): Expr {
    if (!Number.isInteger(hi) || !Number.isInteger(lo) || lo < 0 || hi < lo || hi >= this.width) {
      throw new HdlError(`slice [${hi}:${lo}] is outside the ${formatType(this.type)} operand (bits ${this.width - 1}..0)`);
    }
    return node({ op: 'slice', a: this, hi, lo }, rangeOfType({ width: hi - lo + 1, signed: false }));
  }
  bit(i: number): Expr {
    return this.slice(i, i);
  }
  /** The same bits read as an unsigned number (one shared node per expression, itself when unsigned). */
  asBits(): Expr {
    if (!this.signed) return this;
    this.bitsView ??= this.slice(this.width - 1, 0);
    return this.bitsView;
  }
  private bitsView: Expr | undefined;

  eq(other: ExprLike): Expr {
    return compare('eq', this, lift(other));
  }
  ne(other: ExprLike): Expr {
    return compare('ne', this, lift(other));
  }
  lt(other: ExprLike): Expr {
    return compare('lt', this, lift(other));
  }
  le(other: ExprLike): Expr {
    return compare('le', this, lift(other));
  }
  gt(other: ExprLike): Expr {
    return compare('gt', this, lift(other));
  }
  ge(other: ExprLike): Expr {
    return compare('ge', this, lift(other));
  }

  and(other: ExprLike): Expr {
    return bitwise('and', this, lift(other));
  }
  or(other: ExprLike): Expr {
    return bitwise('or', this, lift(other));
  }
  xor(other: ExprLike): Expr {
    return bitwise('xor', this, lift(other));
  }
  /** Bitwise complement of an unsigned operand (logical not of a 1-bit value). */
  not(): Expr {
    requireUnsigned('not', this);
    return node({ op: 'not', a: this }, rangeOfType(this.type));
  }
  reduceAnd(): Expr {
    return node({ op: 'reduce', kind: 'and', a: this }, interval(0, 1));
  }
  reduceOr(): Expr {
    return node({ op: 'reduce', kind: 'or', a: this }, interval(0, 1));
  }
  reduceXor(): Expr {
    return node({ op: 'reduce', kind: 'xor', a: this }, interval(0, 1));
  }

  /**
   * Intended truncation: keep the low `width` bits, read in the given signedness (default: this
   * expression's). The only way to make a value narrower than its interval without a proof.
   */
  resize(width: number, options: { wrap: true; signed?: boolean }): Expr {
    if (options.wrap !== true) throw new HdlError('resize() truncates: pass { wrap: true } to say it is intended');
    const type = { width, signed: options.signed ?? this.signed };
    const full = rangeOfType(type);
    // When the value already fits, wrapping changes nothing; keep the tighter interval.
    return node({ op: 'wrap', a: this }, contains(full, this.range) ? this.range : full);
  }
  /** Same as resize(width, {wrap: true}). */
  truncate(width: number): Expr {
    return this.resize(width, { wrap: true });
  }
  /** Saturate into [lo, hi] (e.g. ReLU6 on integers, or the output clamp of requantization). */
  clamp(lo: bigint | number, hi: bigint | number): Expr {
    const target = interval(lo, hi);
    const low = constant(target.min);
    const high = constant(target.max);
    const clamped = mux(this.lt(low), low, mux(this.gt(high), high, this));
    const min = this.range.min < target.min ? target.min : this.range.min > target.max ? target.max : this.range.min;
    const max = this.range.max > target.max ? target.max : this.range.max < target.min ? target.min : this.range.max;
    return node({ op: 'assume', a: clamped }, interval(min, max));
  }
  /**
   * Narrow the interval to one the designer knows holds but interval arithmetic cannot prove (a counter
   * that wraps by a compare). The TypeScript evaluator checks the claim every time it evaluates.
   */
  assume(min: bigint | number, max: bigint | number): Expr {
    return node({ op: 'assume', a: this }, interval(min, max));
  }

  toString(): string {
    return `${this.node.op} ${formatInterval(this.range)}`;
  }
}

/** A named, declared signal: a port, wire, register, memory read port, instance output or parameter. */
export type SignalKind = 'input' | 'output' | 'wire' | 'reg' | 'memread' | 'instout' | 'param';

export class Signal extends Expr {
  readonly kind: SignalKind;
  readonly name: string;
  readonly owner: Owner;
  private driverExpr: Expr | undefined;

  constructor(owner: Owner, kind: SignalKind, name: string, range: Interval) {
    super({ op: 'signal' }, range);
    this.owner = owner;
    this.kind = kind;
    this.name = name;
  }

  /** A note for a person reading the Verilog: what the signal holds (printed as a comment above it). */
  comment: string | undefined;
  /** Set the comment; returns the signal, to chain after its declaration. */
  describe(text: string): this {
    return Object.assign(this, { comment: text });
  }

  /** The expression that drives a wire or output, or a register's next value. */
  get driver(): Expr | undefined {
    return this.driverExpr;
  }

  /** Set the single driver; a second driver or one whose interval does not fit is an error. */
  protected setDriver(what: string, value: ExprLike): void {
    const kind = this.kind === 'reg' ? 'register' : this.kind;
    if (this.driverExpr !== undefined) throw new HdlError(`${kind} '${this.name}' already has a ${what}: one driver per signal`);
    const e = lift(value);
    if (!contains(this.range, e.range)) {
      throw new HdlError(
        `${kind} '${this.name}' holds ${formatInterval(this.range)} (${formatType(this.type)}) but its ${what} ` +
          `ranges over ${formatInterval(e.range)}; narrow it with .truncate(), .resize(w, {wrap: true}), .clamp() or .assume()`,
      );
    }
    this.driverExpr = e;
  }
}

/** How an operand enters a structural key: a constant leaf by value, anything else by identity. */
function operandKey(e: Expr): string {
  return e.node.op === 'const' ? `c${e.node.value}` : `#${e.uid}`;
}

/** The node's structure and interval as a string; equal keys print and evaluate identically. */
function structuralKey(n: ExprNode, range: Interval): string {
  const params = 'k' in n ? n.k : 'kind' in n ? n.kind : n.op === 'slice' ? `${n.hi}:${n.lo}` : '';
  const args = nodeOperands(n).map(operandKey).join(',');
  return `${n.op}|${params}|${args}|${range.min}|${range.max}`;
}

/** An operation node, or the identical one built before (see the file comment). */
function node(n: ExprNode, range: Interval): Expr {
  const first = nodeOperands(n)[0];
  if (first === undefined || first.node.op === 'const') return new Expr(n, range);
  const key = structuralKey(n, range);
  const known = first.users?.get(key);
  if (known !== undefined) return known;
  const made = new Expr(n, range);
  (first.users ??= new Map()).set(key, made);
  return made;
}

/** The type of a slice or concatenation: its bit count, unsigned, whatever its value. */
function structuralType(node: ExprNode): BitType | undefined {
  if (node.op === 'slice') return { width: node.hi - node.lo + 1, signed: false };
  if (node.op === 'concat') return { width: node.parts.reduce((w, e) => w + e.width, 0), signed: false };
  return undefined;
}

/**
 * The value of an operation whose operands are all constants in effect (point intervals), so that its
 * interval is exact too: what Verilator's constant folding would see, we see first.
 */
function foldConstant(node: ExprNode, range: Interval): bigint | undefined {
  if (node.op === 'const' || node.op === 'signal') return undefined;
  if (range.min === range.max) return undefined;
  const args = nodeOperands(node);
  if (!args.every((x) => x.constValue !== undefined)) return undefined;
  const v = computeOp(node, typeOfInterval(range), (x) => x.constValue!);
  if (!containsValue(range, v)) throw new HdlError(`constant ${v} (from a ${node.op} of constants) is outside ${formatInterval(range)}`);
  return v;
}

export function constant(value: bigint | number): Expr {
  const v = BigInt(value);
  return new Expr({ op: 'const', value: v }, interval(v, v));
}

export function lift(value: ExprLike): Expr {
  if (value instanceof Expr) return value;
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new HdlError(`constant ${value} is not a safe integer; pass a bigint`);
  }
  return constant(value);
}

/** sel ? whenTrue : whenFalse; sel must be a 1-bit unsigned value. */
export function mux(sel: ExprLike, whenTrue: ExprLike, whenFalse: ExprLike): Expr {
  const s = lift(sel);
  if (!contains(interval(0, 1), s.range)) throw new HdlError(`mux select must be 1-bit unsigned, got ${formatInterval(s.range)}`);
  const a = lift(whenTrue);
  const b = lift(whenFalse);
  // A select the intervals decide picks its branch now (no constant condition reaches the Verilog).
  if (s.constValue !== undefined) return s.constValue === 1n ? a : b;
  return node({ op: 'mux', sel: s, a, b }, hull(a.range, b.range));
}

/** Verilog `{a, b, ...}`: the first part is the most significant. */
export function concat(...parts: ExprLike[]): Expr {
  if (parts.length === 0) throw new HdlError('concat() needs at least one part');
  const es = parts.map(lift);
  const width = es.reduce((w, e) => w + e.width, 0);
  return node({ op: 'concat', parts: es }, rangeOfType({ width, signed: false }));
}

/** Select among many values by an index (a chain of muxes); out-of-range indices give the last value. */
export function select(index: Expr, values: readonly ExprLike[]): Expr {
  if (values.length === 0) throw new HdlError('select() needs at least one value');
  let result = lift(values[values.length - 1]!);
  for (let i = values.length - 2; i >= 0; i--) result = mux(index.eq(i), values[i]!, result);
  return result;
}

/** Sum of many terms as a balanced tree (log depth). */
export function sum(terms: readonly ExprLike[]): Expr {
  if (terms.length === 0) return constant(0);
  return balancedTree(terms.map(lift), (a, b) => a.add(b));
}

/** The largest of `values` (at least one), compared in a balanced tree: depth log2(n), not n - 1. */
export function maxTree(values: readonly ExprLike[]): Expr {
  if (values.length === 0) throw new Error('maxTree of no values');
  return balancedTree(values.map(lift), (a, b) => mux(a.gt(b), a, b));
}

/** `values` combined pairwise, level by level (an odd one out moves up a level). */
function balancedTree(values: readonly Expr[], combine: (a: Expr, b: Expr) => Expr): Expr {
  let level = [...values];
  while (level.length > 1) {
    const next: Expr[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(combine(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

function compare(kind: CompareKind, a: Expr, b: Expr): Expr {
  const self = a === b ? (kind === 'eq' || kind === 'le' || kind === 'ge' ? 1 : 0) : undefined;
  const known = self ?? decidedComparison(kind, a.range, b.range);
  return node({ op: 'cmp', kind, a, b }, known === undefined ? interval(0, 1) : interval(known, known));
}

/**
 * 1 or 0 when the intervals alone decide the comparison (the node is then a constant, and the printer
 * emits no comparison that lint would flag as constant), else undefined.
 */
function decidedComparison(kind: CompareKind, a: Interval, b: Interval): 0 | 1 | undefined {
  const lt = a.max < b.min ? 1 : a.min >= b.max ? 0 : undefined;
  const le = a.max <= b.min ? 1 : a.min > b.max ? 0 : undefined;
  const flip = (v: 0 | 1 | undefined): 0 | 1 | undefined => (v === undefined ? undefined : v === 1 ? 0 : 1);
  const disjoint = a.max < b.min || b.max < a.min;
  const samePoint = a.min === a.max && b.min === b.max && a.min === b.min;
  const eq = disjoint ? 0 : samePoint ? 1 : undefined;
  switch (kind) {
    case 'lt':
      return lt;
    case 'le':
      return le;
    case 'gt':
      return flip(le);
    case 'ge':
      return flip(lt);
    case 'eq':
      return eq;
    case 'ne':
      return flip(eq);
  }
}

function bitwise(kind: BitwiseKind, a: Expr, b: Expr): Expr {
  requireUnsigned(kind, a);
  requireUnsigned(kind, b);
  if (a === b) return kind === 'xor' ? constant(0) : a; // x & x = x | x = x, x ^ x = 0
  const width = Math.max(a.width, b.width);
  const range =
    kind === 'and' ? interval(0, a.range.max < b.range.max ? a.range.max : b.range.max) : rangeOfType({ width, signed: false });
  return node({ op: 'bitwise', kind, a, b }, range);
}

function requireUnsigned(what: string, e: Expr): void {
  if (e.signed) throw new HdlError(`${what} needs unsigned operands; use .asBits() on the ${formatType(e.type)} operand`);
}

function checkShift(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new HdlError(`shift amount must be a non-negative integer, got ${k}`);
}

export function checkValueInRange(what: string, value: bigint, range: Interval): void {
  if (!containsValue(range, value)) throw new HdlError(`${what}: value ${value} is outside ${formatInterval(range)}`);
}

// ---------------------------------------------------------------- operations

/**
 * The value of one operation from its operands' values: shared by the evaluator and by constant folding
 * when an expression is built (so both agree by construction).
 */
/** Operands of a node, in order. */
export function nodeOperands(n: ExprNode): readonly Expr[] {
  switch (n.op) {
    case 'const':
    case 'signal':
      return [];
    case 'add':
    case 'sub':
    case 'mul':
    case 'cmp':
    case 'bitwise':
      return [n.a, n.b];
    case 'mux':
      return [n.sel, n.a, n.b];
    case 'concat':
      return n.parts;
    case 'neg':
    case 'mulConst':
    case 'shl':
    case 'shr':
    case 'slice':
    case 'not':
    case 'reduce':
    case 'wrap':
    case 'assume':
      return [n.a];
  }
}

/**
 * Compute an operation (not a signal read) with `ev` giving operand values. `type` is the node's
 * result type (what a wrap keeps). An assume returns its operand's value; the caller checks the claim.
 */
export function computeOp(n: ExprNode, type: BitType, ev: (x: Expr) => bigint): bigint {
  switch (n.op) {
    case 'const':
      return n.value;
    case 'signal':
      throw new Error('computeOp: a signal is read, not computed');
    case 'add':
      return ev(n.a) + ev(n.b);
    case 'sub':
      return ev(n.a) - ev(n.b);
    case 'neg':
      return -ev(n.a);
    case 'mulConst':
      return ev(n.a) * n.k;
    case 'mul':
      return ev(n.a) * ev(n.b);
    case 'shl':
      return ev(n.a) << BigInt(n.k);
    case 'shr':
      return ev(n.a) >> BigInt(n.k);
    case 'slice':
      return BigInt.asUintN(n.hi - n.lo + 1, toBits(ev(n.a), n.a.width) >> BigInt(n.lo));
    case 'concat':
      return n.parts.reduce((acc, p) => (acc << BigInt(p.width)) | toBits(ev(p), p.width), 0n);
    case 'cmp':
      return compareValues(n.kind, ev(n.a), ev(n.b)) ? 1n : 0n;
    case 'mux':
      return ev(n.sel) === 1n ? ev(n.a) : ev(n.b);
    case 'bitwise':
      return bitwiseValues(n.kind, ev(n.a), ev(n.b));
    case 'not':
      return toBits(~ev(n.a), n.a.width);
    case 'reduce':
      return reduceBits(n.kind, toBits(ev(n.a), n.a.width), n.a.width);
    case 'wrap':
      return fromBits(toBits(ev(n.a), type.width), type);
    case 'assume':
      return ev(n.a);
  }
}

function compareValues(kind: CompareKind, a: bigint, b: bigint): boolean {
  switch (kind) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
  }
}

function bitwiseValues(kind: BitwiseKind, a: bigint, b: bigint): bigint {
  return kind === 'and' ? a & b : kind === 'or' ? a | b : a ^ b;
}

function reduceBits(kind: BitwiseKind, bits: bigint, width: number): bigint {
  if (kind === 'and') return bits === (1n << BigInt(width)) - 1n ? 1n : 0n;
  if (kind === 'or') return bits !== 0n ? 1n : 0n;
  let parity = 0n;
  for (let v = bits; v !== 0n; v >>= 1n) parity ^= v & 1n;
  return parity;
}
