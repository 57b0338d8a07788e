/**
 * The one requantization rule (docs/arithmetic.md), in exact integer arithmetic:
 *
 *     y = clamp(((acc * M + 2^(s-1)) >> s) + zo, lo, hi)      (>> = arithmetic shift = floor division)
 *
 * Two implementations of the same rule: plain JS numbers where a layer's bound proves every
 * intermediate value is an integer below 2^53 in magnitude (then `*`, `+` and the division by 2^s are
 * exact in IEEE doubles and Math.floor is the arithmetic shift), and bigint otherwise.
 */

/** Largest magnitude for which every integer is exactly representable as a JS number. */
export const EXACT_LIMIT = Number.MAX_SAFE_INTEGER;

/** Per-channel constants of the rule, precomputed once per layer. */
export interface ChannelRequant {
  readonly multiplier: number;
  /** 2^(s-1) */
  readonly half: number;
  /** 2^s */
  readonly divisor: number;
  readonly bigMultiplier: bigint;
  readonly bigShift: bigint;
  readonly bigHalf: bigint;
}

export function channelRequant(multiplier: number, shift: number): ChannelRequant {
  return {
    multiplier,
    half: 2 ** (shift - 1),
    divisor: 2 ** shift,
    bigMultiplier: BigInt(multiplier),
    bigShift: BigInt(shift),
    bigHalf: 1n << BigInt(shift - 1),
  };
}

/** The rule with numbers; the caller has proved |acc| * M + 2^(s-1) <= 2^53 - 1 (see `numbersAreExact`). */
export function requantizeNumber(acc: number, r: ChannelRequant, zeroPoint: number, lo: number, hi: number): number {
  const y = Math.floor((acc * r.multiplier + r.half) / r.divisor) + zeroPoint;
  return y < lo ? lo : y > hi ? hi : y;
}

/** The rule with bigint: exact for any accumulator (`acc` itself must be an exact integer). */
export function requantizeBig(acc: number, r: ChannelRequant, zeroPoint: number, lo: number, hi: number): number {
  // BigInt's >> on negative values is the arithmetic (floor) shift.
  const shifted = (BigInt(acc) * r.bigMultiplier + r.bigHalf) >> r.bigShift;
  const y = Number(shifted) + zeroPoint;
  return y < lo ? lo : y > hi ? hi : y;
}

/** True when |acc| <= accBound guarantees the number path of the rule is exact for every channel. */
export function numbersAreExact(accBound: number, channels: readonly ChannelRequant[]): boolean {
  if (accBound > EXACT_LIMIT) return false;
  return channels.every((r) => accBound * r.multiplier + r.half <= EXACT_LIMIT && r.divisor <= 2 ** 62);
}
