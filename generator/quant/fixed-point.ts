/**
 * Turning real scales into the integers of the one requantization rule (docs/arithmetic.md). These run at
 * quantization time (floats are allowed here); what they return is exact integers.
 */
import { badInput } from '../common/errors.js';
import type { QuantParams } from './ir.js';
import { qRange } from './ir.js';

/** Widest M of the rule: 32 bits, unsigned (docs/arithmetic.md §2). */
export const MULTIPLIER_BITS_MAX = 32;
/** Narrowest M a user may force (--requant-bits). */
export const MULTIPLIER_BITS_MIN = 8;
/** The width a float-calibrated model uses unless forced: the 16 bits measured sufficient there. */
export const CALIBRATED_MULTIPLIER_BITS = 16;
/** Largest M: 32 bits, unsigned. */
export const MULTIPLIER_MAX = 2 ** MULTIPLIER_BITS_MAX - 1;
/** Largest shift we emit: beyond it M * acc could never reach the rounding point for any sane layer. */
export const SHIFT_MAX = 62;

export interface FixedMultiplier {
  readonly multiplier: number;
  readonly shift: number;
}

/** Bits of an unsigned M (0 for M = 0). */
export function multiplierBits(multiplier: number): number {
  let bits = 0;
  while (bits < 64 && 2 ** bits <= multiplier) bits++;
  return bits;
}

/**
 * The (M, s) with M / 2^s closest to `real` and M in [2^(bits-1), 2^bits) (full precision of that width:
 * relative error at most 2^-bits). A zero multiplier (a channel whose weights are all zero) gives M = 0, s = 1.
 */
export function chooseMultiplier(real: number, what: string, bits = CALIBRATED_MULTIPLIER_BITS): FixedMultiplier {
  if (!Number.isFinite(real) || real < 0) throw badInput(`${what}: requantization multiplier ${real} is not a finite non-negative number`);
  if (real === 0) return { multiplier: 0, shift: 1 };
  let shift = bits - 1 - Math.floor(Math.log2(real));
  let multiplier = Math.round(real * 2 ** shift);
  // log2 may be off by one at exact powers of two; renormalise into [2^(bits-1), 2^bits).
  while (multiplier >= 2 ** bits) { shift -= 1; multiplier = Math.round(real * 2 ** shift); }
  while (multiplier < 2 ** (bits - 1) && shift < SHIFT_MAX) { shift += 1; multiplier = Math.round(real * 2 ** shift); }
  if (shift < 1) throw badInput(`${what}: requantization multiplier ${real} is >= 2^${bits - 1}; the output scale is far too small for its input (supported: multipliers below ${2 ** (bits - 1)} with ${bits}-bit M)`);
  if (shift > SHIFT_MAX) return { multiplier: 0, shift: 1 }; // below 2^-47: the product never reaches 1/2 LSB
  return { multiplier, shift };
}

/** Neighbours of the nearest M that `chooseMultiplierForOutputs` tries on each side. */
const MULTIPLIER_SEARCH = 2;
/** Above this many output levels the search is skipped (16-bit outputs: the nearest M is already fine). */
const SEARCH_LEVEL_LIMIT = 1024;

/**
 * Like chooseMultiplier, but among the nearest M and its neighbours (same s) picks the one whose rule
 * `floor((acc * M + 2^(s-1)) / 2^s)` equals the exact rounding `round(acc * real)` for the most
 * accumulators that land inside the output range [yLo, yHi] (output minus zero point, i.e. the clamp
 * bounds). A 16-bit M is off by up to 2^-17 relative; near a rounding boundary that flips an output by
 * 1 LSB, and the flips then spread through the following layers. Those boundaries are few (one per
 * output level), so counting the flips at each is cheap, and a neighbour of the nearest M often flips
 * fewer (or none).
 */
export function chooseMultiplierForOutputs(real: number, yLo: number, yHi: number, what: string, bits = CALIBRATED_MULTIPLIER_BITS): FixedMultiplier {
  const nearest = chooseMultiplier(real, what, bits);
  if (nearest.multiplier === 0 || yHi - yLo > SEARCH_LEVEL_LIMIT) return nearest;
  let best = nearest;
  let bestFlips = roundingFlips(real, nearest, yLo, yHi);
  for (let d = 1; d <= MULTIPLIER_SEARCH && bestFlips > 0; d++) {
    for (const multiplier of [nearest.multiplier - d, nearest.multiplier + d]) {
      if (multiplier < 2 ** (bits - 1) || multiplier >= 2 ** bits) continue;
      const candidate = { multiplier, shift: nearest.shift };
      const flips = roundingFlips(real, candidate, yLo, yHi);
      if (flips < bestFlips) { best = candidate; bestFlips = flips; }
    }
  }
  return best;
}

/** How many accumulators near the rounding boundaries inside [yLo, yHi] the fixed rule rounds differently. */
function roundingFlips(real: number, fixed: FixedMultiplier, yLo: number, yHi: number): number {
  const divisor = 2 ** fixed.shift;
  const half = 2 ** (fixed.shift - 1);
  const approx = fixed.multiplier / divisor;
  // Accumulators farther than `reach` from a boundary cannot flip: |acc * (approx - real)| < 1/2 LSB there.
  const largestAcc = (Math.max(Math.abs(yLo), Math.abs(yHi)) + 1) / real;
  const reach = Math.ceil((largestAcc * Math.abs(approx - real)) / real) + 1;
  let flips = 0;
  for (let k = yLo; k < yHi; k++) {
    const centre = Math.floor((k + 0.5) / real);
    for (let acc = centre - reach; acc <= centre + reach; acc++) {
      const exact = Math.floor(acc * real + 0.5);
      const rule = Math.floor((acc * fixed.multiplier + half) / divisor);
      if (exact !== rule) flips++;
    }
  }
  return flips;
}

/**
 * A reference requantization to reproduce: the output (minus the zero point, before the clamp) that the
 * reference computes for an accumulator. It must be non-decreasing in acc, as every rounding of a
 * product with a positive scale is.
 */
export type ReferenceRequant = (acc: number) => number;

/**
 * ONNX Runtime's requantization (MLAS, CPU): the int32 accumulator converted to float32, multiplied by
 * the float32 scale, rounded half to even (cvtps2dq). `scale` must already be the float32 value ORT uses.
 */
export function onnxRuntimeRequant(scale: number): ReferenceRequant {
  const s = Math.fround(scale);
  return (acc) => roundHalfEven(Math.fround(Math.fround(acc) * s));
}

/** The requantization scale of a conv/gemm channel as ONNX Runtime computes it: x_scale * w_scale / y_scale in float32. */
export function onnxRuntimeScale(inScale: number, weightScale: number, outScale: number): number {
  return Math.fround(Math.fround(Math.fround(inScale) * Math.fround(weightScale)) / Math.fround(outScale));
}

/**
 * The (M, s) of fewest bits whose rule `floor((acc * M + 2^(s-1)) / 2^s)`, clamped to [yLo, yHi], equals
 * the reference (clamped alike) for every accumulator in [accLo, accHi] (the channel's reachable range).
 * Both are non-decreasing step functions, so they are equal on the range exactly when they agree at its
 * two ends and step up at the same accumulators; each of those facts is a linear bound on M for a given
 * s, and the search takes, over the shifts, the narrowest M the bounds leave (M = 0 where the reference
 * is 0 on the whole range), and at that width the M nearest `real * 2^s`. With `bits` the width is forced: M of exactly that many bits,
 * reproducing where one does, else the nearest. Where no M up to 32 bits reproduces the reference, the
 * nearest 32-bit M.
 */
export function chooseMultiplierReproducing(
  reference: ReferenceRequant, real: number, range: { yLo: number; yHi: number; accLo: number; accHi: number }, what: string, bits?: number,
): FixedMultiplier {
  const widest = bits ?? MULTIPLIER_BITS_MAX;
  const nearest = chooseMultiplier(real, what, widest);
  if (nearest.multiplier === 0) return nearest;
  const constraints = stepConstraints(reference, real, range);
  if (bits !== undefined) {
    const span = multiplierSpan(constraints, nearest.shift);
    const lo = span ? maxBig(span.lo, 1n << BigInt(bits - 1)) : 1n;
    const hi = span ? minBig(span.hi, (1n << BigInt(bits)) - 1n) : 0n;
    return lo <= hi ? { multiplier: Number(nearestIn(lo, hi, real, nearest.shift)), shift: nearest.shift } : nearest;
  }
  // Feasibility grows with s (M at s reproduces exactly as 2M at s + 1), so a binary search finds the
  // smallest feasible shift; the narrowest M is the smallest feasible one there or at the next shift.
  if (!multiplierSpan(constraints, nearest.shift)) return nearest;
  let lowShift = 0; // infeasible (or below 1)
  let highShift = nearest.shift; // feasible
  while (highShift - lowShift > 1) {
    const mid = (lowShift + highShift) >> 1;
    if (multiplierSpan(constraints, mid)) highShift = mid; else lowShift = mid;
  }
  let best: { shift: number; width: number; lo: bigint; hi: bigint } | undefined;
  for (let shift = highShift; shift <= Math.min(highShift + 1, nearest.shift); shift++) {
    const span = multiplierSpan(constraints, shift);
    if (!span) continue;
    const width = multiplierBits(Number(span.lo));
    if (!best || width < best.width) best = { shift, width, lo: span.lo, hi: minBig(span.hi, (1n << BigInt(width)) - 1n) };
  }
  if (!best) return nearest;
  return { multiplier: Number(nearestIn(best.lo, best.hi, real, best.shift)), shift: best.shift };
}

/** The integer in [lo, hi] nearest real * 2^shift. */
function nearestIn(lo: bigint, hi: bigint, real: number, shift: number): bigint {
  const target = BigInt(Math.round(real * 2 ** shift));
  return target < lo ? lo : target > hi ? hi : target;
}

/** acc * M + 2^(s-1) >= k * 2^s ('ge': the rule gives at least k) or < k * 2^s ('lt': at most k - 1). */
interface StepConstraint { readonly acc: number; readonly level: number; readonly ge: boolean }

function stepConstraints(reference: ReferenceRequant, real: number, range: { yLo: number; yHi: number; accLo: number; accHi: number }): StepConstraint[] {
  const { yLo, yHi, accLo, accHi } = range;
  const ref = (acc: number): number => Math.min(yHi, Math.max(yLo, reference(acc)));
  const out: StepConstraint[] = [];
  const pin = (acc: number): void => {
    const v = ref(acc);
    if (v > yLo) out.push({ acc, level: v, ge: true });
    if (v < yHi) out.push({ acc, level: v + 1, ge: false });
  };
  pin(accLo);
  pin(accHi);
  const vLo = ref(accLo);
  const vHi = ref(accHi);
  for (let k = vLo + 1; k <= vHi; k++) {
    // The first accumulator the reference maps to k or more: near (k - 1/2) / real, then exact by stepping.
    let t = Math.min(accHi, Math.max(accLo + 1, Math.ceil((k - 0.5) / real)));
    while (t > accLo + 1 && ref(t - 1) >= k) t--;
    while (t < accHi && ref(t) < k) t++;
    out.push({ acc: t, level: k, ge: true }, { acc: t - 1, level: k, ge: false });
  }
  // The largest accumulators bound M the most tightly: checked first, an infeasible shift fails fast.
  return out.sort((a, b) => Math.abs(b.acc) - Math.abs(a.acc));
}

/** The integers M satisfying every constraint for shift s, or undefined when there are none. */
function multiplierSpan(constraints: readonly StepConstraint[], shift: number): { lo: bigint; hi: bigint } | undefined {
  // Plain numbers where every c = k * 2^s - 2^(s-1) and every quotient check stays below 2^52 (exact);
  // bigint otherwise. The number path is the common one and many times faster.
  let largest = 1;
  for (const { acc, level } of constraints) largest = Math.max(largest, Math.abs(level) + 1, Math.abs(acc));
  if (largest * 2 ** shift < 2 ** 51) return multiplierSpanNumbers(constraints, shift);
  return multiplierSpanBig(constraints, shift);
}

function multiplierSpanNumbers(constraints: readonly StepConstraint[], shift: number): { lo: bigint; hi: bigint } | undefined {
  const unit = 2 ** shift;
  const half = unit / 2;
  let lo = 0;
  let hi = MULTIPLIER_MAX;
  // floor(n / d), exact: the quotient of doubles is off by at most one, and q * d is exact here.
  const floorDivN = (n: number, d: number): number => {
    let q = Math.floor(n / d);
    if (d > 0) { if (q * d > n) q--; else if ((q + 1) * d <= n) q++; } else if (q * d < n) q--; else if ((q + 1) * d >= n) q++;
    return q;
  };
  for (const { acc, level, ge } of constraints) {
    const c = level * unit - half;
    if (acc === 0) {
      if (ge ? c > 0 : c <= 0) return undefined;
      continue;
    }
    if (ge) {
      if (acc > 0) lo = Math.max(lo, -floorDivN(-c, acc)); else hi = Math.min(hi, floorDivN(c, acc));
    } else if (acc > 0) hi = Math.min(hi, floorDivN(c - 1, acc)); else lo = Math.max(lo, -floorDivN(1 - c, acc));
    if (lo > hi) return undefined;
  }
  return { lo: BigInt(lo), hi: BigInt(hi) };
}

function multiplierSpanBig(constraints: readonly StepConstraint[], shift: number): { lo: bigint; hi: bigint } | undefined {
  const unit = 1n << BigInt(shift);
  const half = unit >> 1n;
  let lo = 0n;
  let hi = BigInt(MULTIPLIER_MAX);
  for (const { acc, level, ge } of constraints) {
    // ge: acc * M >= c; lt: acc * M <= c - 1, with c = k * 2^s - 2^(s-1).
    const c = BigInt(level) * unit - half;
    const a = BigInt(acc);
    if (a === 0n) {
      if (ge ? c > 0n : c <= 0n) return undefined;
      continue;
    }
    if (ge) {
      if (a > 0n) lo = maxBig(lo, ceilDiv(c, a)); else hi = minBig(hi, floorDiv(c, a));
    } else if (a > 0n) hi = minBig(hi, floorDiv(c - 1n, a)); else lo = maxBig(lo, ceilDiv(c - 1n, a));
    if (lo > hi) return undefined;
  }
  return { lo, hi };
}

function floorDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return (n % d !== 0n && (n < 0n) !== (d < 0n)) ? q - 1n : q;
}
function ceilDiv(n: bigint, d: bigint): bigint {
  return -floorDiv(-n, d);
}
const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** (M_i, s) for several multipliers that share one shift (a residual Add): the largest gets 16 bits. */
export function chooseSharedShift(reals: readonly number[], what: string): { multipliers: number[]; shift: number } {
  const largest = Math.max(...reals);
  const { shift } = chooseMultiplier(largest, what);
  const multipliers = reals.map((r) => Math.min(MULTIPLIER_MAX, Math.round(r * 2 ** shift)));
  return { multipliers, shift };
}

/** Round half to even, as ONNX QuantizeLinear does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** ONNX QuantizeLinear on one value, computed in float32 as ONNX Runtime does. */
export function quantizeReal(x: number, quant: QuantParams): number {
  return realQuantizer(quant)(x);
}

/** quantizeReal for one tensor's parameters, its constants computed once (for loops over many values). */
export function realQuantizer(quant: QuantParams): (x: number) => number {
  const { min, max } = qRange(quant);
  const step = Math.fround(quant.scale);
  const zeroPoint = quant.zeroPoint;
  return (x) => {
    const q = roundHalfEven(Math.fround(Math.fround(x) / step)) + zeroPoint;
    return q < min ? min : q > max ? max : q;
  };
}

/**
 * Activation quantization for a calibrated real range [lo, hi] (0 always included so that padding and
 * ReLU's zero are exact). Unsigned with zero point 0 where lo >= 0; otherwise signed and asymmetric.
 */
export function quantParamsForRange(lo: number, hi: number, bits: number): QuantParams {
  const low = Math.min(0, lo);
  const high = Math.max(0, hi);
  if (low >= 0) {
    const max = 2 ** bits - 1;
    return { scale: high > 0 ? high / max : 1, zeroPoint: 0, bits, signed: false };
  }
  const qMin = -(2 ** (bits - 1));
  const qMax = 2 ** (bits - 1) - 1;
  const scale = (high - low) / (qMax - qMin);
  const zeroPoint = Math.min(qMax, Math.max(qMin, Math.round(qMin - low / scale)));
  return { scale, zeroPoint, bits, signed: true };
}

/** Smallest signed width holding every value of `values` (at least 2 bits). */
export function signedBitsFor(values: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i] ?? 0));
  let bits = 2;
  while (2 ** (bits - 1) - 1 < largest) bits++;
  return bits;
}
