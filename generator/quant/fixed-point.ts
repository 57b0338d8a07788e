/**
 * Turning real scales into the integers of the one requantization rule (docs/arithmetic.md). These run at
 * quantization time (floats are allowed here); what they return is exact integers.
 */
import { badInput } from '../common/errors.js';
import type { QuantParams } from './ir.js';
import { qRange } from './ir.js';

/** Largest M: 16 bits, unsigned. */
export const MULTIPLIER_MAX = 2 ** 16 - 1;
/** Largest shift we emit: beyond it M * acc could never reach the rounding point for any sane layer. */
export const SHIFT_MAX = 62;

export interface FixedMultiplier {
  readonly multiplier: number;
  readonly shift: number;
}

/**
 * The (M, s) with M / 2^s closest to `real` and M in [2^15, 2^16) (full 16-bit precision: relative error
 * at most 2^-16). A zero multiplier (a channel whose weights are all zero) gives M = 0, s = 1.
 */
export function chooseMultiplier(real: number, what: string): FixedMultiplier {
  if (!Number.isFinite(real) || real < 0) throw badInput(`${what}: requantization multiplier ${real} is not a finite non-negative number`);
  if (real === 0) return { multiplier: 0, shift: 1 };
  let shift = 15 - Math.floor(Math.log2(real));
  let multiplier = Math.round(real * 2 ** shift);
  // log2 may be off by one at exact powers of two; renormalise into [2^15, 2^16).
  while (multiplier >= 2 ** 16) { shift -= 1; multiplier = Math.round(real * 2 ** shift); }
  while (multiplier < 2 ** 15 && shift < SHIFT_MAX) { shift += 1; multiplier = Math.round(real * 2 ** shift); }
  if (shift < 1) throw badInput(`${what}: requantization multiplier ${real} is >= 2^15; the output scale is far too small for its input (supported: multipliers below 32768)`);
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
export function chooseMultiplierForOutputs(real: number, yLo: number, yHi: number, what: string): FixedMultiplier {
  const nearest = chooseMultiplier(real, what);
  if (nearest.multiplier === 0 || yHi - yLo > SEARCH_LEVEL_LIMIT) return nearest;
  let best = nearest;
  let bestFlips = roundingFlips(real, nearest, yLo, yHi);
  for (let d = 1; d <= MULTIPLIER_SEARCH && bestFlips > 0; d++) {
    for (const multiplier of [nearest.multiplier - d, nearest.multiplier + d]) {
      if (multiplier < 2 ** 15 || multiplier > MULTIPLIER_MAX) continue;
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
  const { min, max } = qRange(quant);
  const q = roundHalfEven(Math.fround(Math.fround(x) / Math.fround(quant.scale))) + quant.zeroPoint;
  return Math.min(max, Math.max(min, q));
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
