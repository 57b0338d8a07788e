/**
 * The value of one operation from its operands' values: shared by the evaluator and by constant folding
 * when an expression is built (so both agree by construction).
 */
import type { BitwiseKind, CompareKind, Expr, ExprNode } from './expr.js';
import { type BitType, toBits, fromBits } from './interval.js';

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
