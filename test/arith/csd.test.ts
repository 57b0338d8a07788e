import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csdWeight, formatCsd, fromCsd, toCsd } from '../../generator/arith/csd.js';

function hasAdjacentNonzero(shifts: readonly number[]): boolean {
  const sorted = [...shifts].sort((a, b) => a - b);
  return sorted.some((s, k) => k > 0 && s - sorted[k - 1]! < 2);
}

function binaryWeight(value: bigint): number {
  return (value < 0n ? -value : value).toString(2).split('').filter((b) => b === '1').length;
}

describe('CSD recoding', () => {
  it('decodes to its constant with no two adjacent nonzero digits, for every constant of 2 to 16 bits', () => {
    // Every signed 16-bit and unsigned 16-bit value (which includes every narrower width).
    let checked = 0;
    for (let value = -(2 ** 16); value < 2 ** 16; value += 1) {
      const digits = toCsd(value);
      if (fromCsd(digits) !== BigInt(value)) throw new Error(`CSD of ${value} decodes to ${fromCsd(digits)}`);
      if (hasAdjacentNonzero(digits.map((d) => d.shift))) throw new Error(`CSD of ${value} has adjacent digits: ${formatCsd(digits)}`);
      if (digits.length > binaryWeight(BigInt(value))) throw new Error(`CSD of ${value} has more digits than binary`);
      checked += 1;
    }
    expect(checked).toBe(2 ** 17);
  });

  it('handles constants far beyond 16 bits (bigint)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }), (value) => {
        const digits = toCsd(value);
        expect(fromCsd(digits)).toBe(value);
        expect(hasAdjacentNonzero(digits.map((d) => d.shift))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('is the unique non-adjacent form: negation flips every digit', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), (value) => {
        const flipped = toCsd(-value).map((d) => `${d.shift}:${d.sign}`);
        expect(flipped).toEqual(toCsd(value).map((d) => `${d.shift}:${-d.sign}`));
      }),
    );
  });

  it('prints and counts known forms', () => {
    expect(toCsd(0)).toEqual([]);
    expect(formatCsd(toCsd(7))).toBe('+00-');
    expect(formatCsd(toCsd(-3))).toBe('-0+');
    expect(csdWeight(0b10101010)).toBe(4);
    expect(csdWeight(255)).toBe(2);
  });

  it('has the fewest nonzero digits of any signed-digit form (checked against a direct recursion)', () => {
    // w(0) = 0; w(2n) = w(n); w(odd n) = 1 + min(w((n-1)/2), w((n+1)/2)): every signed-digit form's
    // lowest digit of an odd number is +1 or -1, so this is the minimum by construction.
    const memo = new Map<number, number>([
      [0, 0],
      [1, 1],
    ]);
    const minimum = (n: number): number => {
      const known = memo.get(n);
      if (known !== undefined) return known;
      const result = n % 2 === 0 ? minimum(n / 2) : 1 + Math.min(minimum((n - 1) / 2), minimum((n + 1) / 2));
      memo.set(n, result);
      return result;
    };
    for (let value = 1; value < 2 ** 16; value += 1) {
      if (csdWeight(value) !== minimum(value)) throw new Error(`CSD of ${value} has ${csdWeight(value)} digits, minimum ${minimum(value)}`);
    }
    expect([minimum(255), minimum(0b1010101), minimum(11)]).toEqual([2, 4, 3]);
  });
});
