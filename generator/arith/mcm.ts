/**
 * Multiple constant multiplication (MCM) of one input by a set of constants: an adder graph of odd
 * "fundamentals", RAG-n style. A constant equal to another up to sign and a power of two costs nothing
 * (it is the same odd fundamental, shifted and negated in wiring); zeros and powers of two cost nothing.
 *
 * The algorithm: fundamentals R start at {1}. Every target reachable with one adder from R (the
 * A-operation: |(u << l1) ± (v << l2)| >> r for u, v in R) is added at once (optimal part of RAG-n).
 * When none is, add the successor s of R that brings the most remaining targets within one adder of
 * R ∪ {s} (the Hcub idea of looking two steps ahead, here with a simple count); if no successor helps,
 * build the cheapest remaining target from its CSD digits.
 */
import { toCsd } from './csd.js';

/** How a fundamental is formed: ((a << sa) + (±b << sb)) >> rshift, a and b earlier fundamentals. */
export interface McmStep {
  readonly value: number;
  readonly a: number;
  readonly sa: number;
  readonly b: number;
  readonly sb: number;
  readonly negateB: boolean;
  readonly rshift: number;
}

/** The odd part of |value| and the power of two it was shifted by: 12 -> {odd 3, shift 2}. */
export function oddPart(value: number): { odd: number; shift: number } {
  let odd = Math.abs(value);
  let shift = 0;
  if (odd === 0) return { odd: 0, shift: 0 };
  while (odd % 2 === 0) {
    odd /= 2;
    shift += 1;
  }
  return { odd, shift };
}

function bitLength(value: number): number {
  return value <= 0 ? 0 : Math.floor(Math.log2(value)) + 1;
}

/** All fundamentals one adder away from the pair (u, v), bounded by `limit`, with how to build each. */
function successorsOfPair(u: number, v: number, limit: number, emit: (step: McmStep) => void): void {
  const maxShift = bitLength(limit) + 1;
  for (let l = 1; l <= maxShift; l += 1) {
    for (const [p, q] of [
      [u, v],
      [v, u],
    ] as const) {
      const big = p * 2 ** l;
      if (big + q <= limit) emit({ value: big + q, a: p, sa: l, b: q, sb: 0, negateB: false, rshift: 0 });
      const diff = big - q;
      if (diff > 0 && diff <= limit) emit({ value: diff, a: p, sa: l, b: q, sb: 0, negateB: true, rshift: 0 });
      if (diff < 0 && -diff <= limit) emit({ value: -diff, a: q, sa: 0, b: p, sb: l, negateB: true, rshift: 0 });
    }
  }
  const sum = oddPart(u + v);
  if (sum.odd <= limit) emit({ value: sum.odd, a: u, sa: 0, b: v, sb: 0, negateB: false, rshift: sum.shift });
  if (u !== v) {
    const [hi, lo] = u > v ? [u, v] : [v, u];
    const diff = oddPart(hi - lo);
    if (diff.odd <= limit) emit({ value: diff.odd, a: hi, sa: 0, b: lo, sb: 0, negateB: true, rshift: diff.shift });
  }
}

/** Above this many candidate successors the two-step look-ahead is skipped (wide constants). */
const LOOKAHEAD_CANDIDATE_LIMIT = 4000;

/**
 * The steps that build every odd target (> 1) from the fundamental 1, in dependency order.
 * Targets must be odd positive safe integers.
 */
export function solveMcm(targets: readonly number[]): McmStep[] {
  const remaining = new Set(targets.filter((t) => t > 1));
  if (remaining.size === 0) return [];
  const limit = 2 ** (bitLength(Math.max(...remaining)) + 1);
  const have = new Set<number>([1]);
  const reachable = new Map<number, McmStep>();
  const steps: McmStep[] = [];
  const addFundamental = (step: McmStep) => {
    have.add(step.value);
    steps.push(step);
    remaining.delete(step.value);
    for (const r of have) successorsOfPair(step.value, r, limit, (s) => recordReachable(reachable, have, s));
  };
  successorsOfPair(1, 1, limit, (s) => recordReachable(reachable, have, s));
  while (remaining.size > 0) {
    const direct = [...remaining].find((t) => reachable.has(t));
    if (direct !== undefined) {
      addFundamental(reachable.get(direct)!);
      continue;
    }
    const helper = bestLookahead(reachable, have, remaining, limit);
    if (helper !== undefined) addFundamental(helper);
    else for (const step of csdChain(cheapestByCsd(remaining), have)) addFundamental(step);
  }
  return steps;
}

function recordReachable(reachable: Map<number, McmStep>, have: Set<number>, step: McmStep): void {
  if (have.has(step.value)) return;
  if (!reachable.has(step.value)) reachable.set(step.value, step);
}

/** The successor that puts the most remaining targets one adder away (ties: the smaller value). */
function bestLookahead(
  reachable: Map<number, McmStep>,
  have: Set<number>,
  remaining: Set<number>,
  limit: number,
): McmStep | undefined {
  if (reachable.size > LOOKAHEAD_CANDIDATE_LIMIT) return undefined;
  let best: McmStep | undefined;
  let bestScore = 0;
  for (const [value, step] of reachable) {
    if (have.has(value)) continue;
    const hit = new Set<number>();
    const count = (s: McmStep) => {
      if (remaining.has(s.value)) hit.add(s.value);
    };
    for (const r of have) successorsOfPair(value, r, limit, count);
    successorsOfPair(value, value, limit, count);
    if (hit.size > bestScore || (hit.size === bestScore && best !== undefined && value < best.value)) {
      best = step;
      bestScore = hit.size;
    }
  }
  return bestScore > 0 ? best : undefined;
}

function cheapestByCsd(values: Set<number>): number {
  let best = 0;
  let bestWeight = Infinity;
  for (const v of values) {
    const weight = toCsd(v).length;
    if (weight < bestWeight || (weight === bestWeight && v < best)) {
      best = v;
      bestWeight = weight;
    }
  }
  return best;
}

/** Builds `target` digit by digit from its CSD form: each partial sum (made odd) becomes a fundamental. */
function csdChain(target: number, have: Set<number>): McmStep[] {
  const digits = toCsd(target);
  const steps: McmStep[] = [];
  // partial = sum of the digits seen so far, kept as an odd fundamental times 2^base.
  let partialOdd = 1;
  let base = digits[0]!.shift;
  let partialSign = digits[0]!.sign;
  for (const digit of digits.slice(1)) {
    const shiftOfDigit = digit.shift - base;
    const negate = digit.sign !== partialSign;
    const value = partialOdd + (negate ? -1 : 1) * 2 ** shiftOfDigit;
    const { odd, shift } = oddPart(value);
    const step: McmStep =
      value > 0
        ? { value: odd, a: partialOdd, sa: 0, b: 1, sb: shiftOfDigit, negateB: negate, rshift: shift }
        : { value: odd, a: 1, sa: shiftOfDigit, b: partialOdd, sb: 0, negateB: true, rshift: shift };
    if (value < 0) partialSign = partialSign > 0 ? -1 : 1;
    if (!have.has(odd)) steps.push(step);
    partialOdd = odd;
    base += shift;
  }
  return steps;
}
