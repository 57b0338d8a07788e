/**
 * Requantization in shift-add logic: y = clamp(((acc * M + 2^(s-1)) >> s) + zo, lo, hi)
 * (docs/arithmetic.md), with acc = bias' + dot where dot is the CMVM output.
 *
 * Everything constant is gathered into one addend: acc*M + 2^(s-1) + zo*2^s = dot*M + K with
 * K = bias'*M + 2^(s-1) + zo*2^s. Adding zo*2^s before the floor shift equals adding zo after it
 * (zo*2^s is a multiple of 2^s), so the bias, the rounding constant and the zero point cost one adder
 * together. dot*M is the CSD form of the constant M: one shifted copy of dot per nonzero digit, summed
 * as a balanced tree (positive digits) minus a tree of the negative ones. No multiplier.
 */
import { toCsd } from '../arith/index.js';
import { type Expr, type Module, constant, mux, sum } from '../hdl/index.js';

export interface ChannelRequant {
  readonly multiplier: number;
  readonly shift: number;
  /** bias' in acc = bias' + dot (the layer's bias with the input zero point folded in). */
  readonly accOffset: bigint;
  readonly outputZeroPoint: number;
  readonly clampMin: number;
  readonly clampMax: number;
  /** A leaky activation: where acc = accOffset + dot < 0, this multiplier and shift instead (see quant/ir.ts). */
  readonly negative?: { readonly multiplier: number; readonly shift: number };
}

/** The constant K of the file comment. */
export function requantAddend(r: ChannelRequant): bigint {
  const s = BigInt(r.shift);
  return r.accOffset * BigInt(r.multiplier) + (1n << (s - 1n)) + BigInt(r.outputZeroPoint) * (1n << s);
}

/** dot * M as shift-add terms (CSD). */
export function timesConstant(dot: Expr, multiplier: number | bigint): Expr {
  const digits = toCsd(multiplier);
  const shifted = (shift: number): Expr => (shift === 0 ? dot : dot.shl(shift));
  const positive = digits.filter((d) => d.sign > 0).map((d) => shifted(d.shift));
  const negative = digits.filter((d) => d.sign < 0).map((d) => shifted(d.shift));
  if (positive.length === 0 && negative.length === 0) return constant(0);
  if (negative.length === 0) return sum(positive);
  if (positive.length === 0) return sum(negative).neg();
  return sum(positive).sub(sum(negative));
}

/**
 * The requantized value of one channel. Given `named`, as two commented wires a reader can find:
 * `<name>_scaled` = dot * M and `<name>` = the clamped result (the requantization of that channel).
 * A leaky activation (r.negative) computes both sides; acc's sign (dot below -accOffset) chooses.
 */
export function requantize(dot: Expr, r: ChannelRequant, named?: { readonly module: Module; readonly name: string }): Expr {
  const positive = requantizeSide(dot, r, named);
  if (!r.negative) return positive;
  const below: ChannelRequant = { ...r, multiplier: r.negative.multiplier, shift: r.negative.shift };
  const negative = requantizeSide(dot, below, named && { module: named.module, name: `${named.name}_below0` });
  const chosen = mux(dot.lt(-r.accOffset), negative, positive);
  return named === undefined ? chosen : named.module.wire(`${named.name}_leaky`, chosen).describe('leaky activation: the negative side where acc < 0');
}

function requantizeSide(dot: Expr, r: ChannelRequant, named?: { readonly module: Module; readonly name: string }): Expr {
  const product = timesConstant(dot, r.multiplier);
  const scaled = named === undefined ? product : named.module.wire(`${named.name}_scaled`, product).describe(`requantization: dot * M, M = ${r.multiplier} as CSD shift-adds`);
  const addend = requantAddend(r);
  const result = scaled.add(addend).shr(r.shift).clamp(r.clampMin, r.clampMax);
  if (named === undefined) return result;
  return named.module
    .wire(named.name, result)
    .describe(`requantized: clamp((scaled ${addend < 0n ? '-' : '+'} ${addend < 0n ? -addend : addend}) >> ${r.shift}, ${r.clampMin}, ${r.clampMax}); the addend holds bias, rounding and zero point ${r.outputZeroPoint}`);
}
