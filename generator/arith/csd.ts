/**
 * Canonical signed digit (CSD) recoding: every integer has exactly one representation with digits in
 * {-1, 0, 1} and no two adjacent nonzero digits, and it has the fewest nonzero digits of any signed-digit
 * form. Each nonzero digit beyond the first costs one adder in a shift-add multiplier, so CSD is the
 * baseline every sharing strategy is measured against.
 */

/** A nonzero CSD digit: value `sign * 2^shift`. */
export interface CsdDigit {
  readonly shift: number;
  readonly sign: 1 | -1;
}

/**
 * The nonzero CSD digits of `value`, least significant first. Works for any integer size (bigint
 * inside), so widths 2..16 bits and far beyond are handled alike.
 */
export function toCsd(value: number | bigint): CsdDigit[] {
  let rest = BigInt(value);
  const digits: CsdDigit[] = [];
  let shift = 0;
  while (rest !== 0n) {
    if ((rest & 1n) === 1n) {
      // rest mod 4 == 3 takes digit -1 so that the next digit is 0 (the "no adjacent nonzero" rule).
      const sign: 1 | -1 = (rest & 3n) === 3n ? -1 : 1;
      digits.push({ shift, sign });
      rest -= BigInt(sign);
    }
    rest >>= 1n;
    shift += 1;
  }
  return digits;
}

/** The integer a list of signed digits stands for. */
export function fromCsd(digits: readonly CsdDigit[]): bigint {
  let value = 0n;
  for (const digit of digits) value += BigInt(digit.sign) << BigInt(digit.shift);
  return value;
}

/** Number of nonzero CSD digits: the adders a lone CSD multiplier needs is this minus one. */
export function csdWeight(value: number | bigint): number {
  return toCsd(value).length;
}

/** A CSD form as text, most significant digit first, `-` for -1: 7 -> "+00-". */
export function formatCsd(digits: readonly CsdDigit[]): string {
  if (digits.length === 0) return '0';
  const top = Math.max(...digits.map((d) => d.shift));
  const chars = new Array<string>(top + 1).fill('0');
  for (const d of digits) chars[top - d.shift] = d.sign > 0 ? '+' : '-';
  return chars.join('');
}
