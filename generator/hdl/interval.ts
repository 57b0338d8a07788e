/**
 * Exact integer intervals and the bit types they imply. Every signal in the DSL carries an interval
 * [min, max] of the values it can take; its Verilog type (width, signedness) is the narrowest one that
 * holds the interval. Because every operation computes its result interval exactly, a result can never
 * overflow its width, and no bit is wider than the values need.
 */

export class HdlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HdlError';
  }
}

/** A closed integer interval; min <= max always. */
export interface Interval {
  readonly min: bigint;
  readonly max: bigint;
}

/** A Verilog bit vector type: `width` bits, two's complement when `signed`. */
export interface BitType {
  readonly width: number;
  readonly signed: boolean;
}

export function interval(min: bigint | number, max: bigint | number): Interval {
  const lo = BigInt(min);
  const hi = BigInt(max);
  if (lo > hi) throw new HdlError(`empty interval [${lo}, ${hi}]: min must not exceed max`);
  return { min: lo, max: hi };
}

/** Number of bits needed for a non-negative value as unsigned (0 needs 0 bits). */
function unsignedBits(value: bigint): number {
  return value.toString(2).length - (value === 0n ? 1 : 0);
}

/** The narrowest type holding every value of the interval: unsigned when min >= 0, else signed. */
export function typeOfInterval(iv: Interval): BitType {
  if (iv.min >= 0n) return { width: Math.max(1, unsignedBits(iv.max)), signed: false };
  // Signed width w holds [-2^(w-1), 2^(w-1)-1]: -min needs bits(-min-1)+1, max needs bits(max)+1.
  const forMin = unsignedBits(-iv.min - 1n) + 1;
  const forMax = iv.max > 0n ? unsignedBits(iv.max) + 1 : 1;
  return { width: Math.max(forMin, forMax), signed: true };
}

/** Every value a type can represent. */
export function rangeOfType(type: BitType): Interval {
  if (!Number.isInteger(type.width) || type.width < 1) {
    throw new HdlError(`width must be a positive integer, got ${type.width}`);
  }
  const w = BigInt(type.width);
  return type.signed ? { min: -(1n << (w - 1n)), max: (1n << (w - 1n)) - 1n } : { min: 0n, max: (1n << w) - 1n };
}

export function contains(outer: Interval, inner: Interval): boolean {
  return outer.min <= inner.min && inner.max <= outer.max;
}

export function containsValue(iv: Interval, value: bigint): boolean {
  return iv.min <= value && value <= iv.max;
}

/** The smallest interval holding both. */
export function hull(a: Interval, b: Interval): Interval {
  return { min: a.min < b.min ? a.min : b.min, max: a.max > b.max ? a.max : b.max };
}

export function formatInterval(iv: Interval): string {
  return `[${iv.min}, ${iv.max}]`;
}

export function formatType(type: BitType): string {
  return `${type.signed ? 'signed' : 'unsigned'} ${type.width}-bit`;
}

/** The low `width` bits of a value's two's complement form, as an unsigned number. */
export function toBits(value: bigint, width: number): bigint {
  return BigInt.asUintN(width, value);
}

/** Interpret `width` bits (unsigned number) as a value of the given type. */
export function fromBits(bits: bigint, type: BitType): bigint {
  return type.signed ? BigInt.asIntN(type.width, bits) : BigInt.asUintN(type.width, bits);
}
