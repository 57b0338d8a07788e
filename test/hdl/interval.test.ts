import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Module, Simulator, constant, mux, interval, rangeOfType, typeOfInterval } from '../../generator/hdl/index.js';
import { fitsType, randomCombModule, randomVectors } from './random-modules.js';
import { FULL } from '../helpers/env.js';

describe('typeOfInterval', () => {
  it('picks the narrowest type', () => {
    expect(typeOfInterval(interval(0, 0))).toEqual({ width: 1, signed: false });
    expect(typeOfInterval(interval(0, 255))).toEqual({ width: 8, signed: false });
    expect(typeOfInterval(interval(0, 256))).toEqual({ width: 9, signed: false });
    expect(typeOfInterval(interval(-128, 127))).toEqual({ width: 8, signed: true });
    expect(typeOfInterval(interval(-129, 0))).toEqual({ width: 9, signed: true });
    expect(typeOfInterval(interval(-1, -1))).toEqual({ width: 1, signed: true });
    expect(typeOfInterval(interval(-1, 1))).toEqual({ width: 2, signed: true });
    expect(typeOfInterval(interval(-(1n << 100n), 1n << 100n))).toEqual({ width: 102, signed: true });
  });

  it('is minimal: the type holds the interval and one bit less does not', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), fc.bigInt({ min: 0n, max: 1n << 70n }), (lo, span) => {
        const iv = interval(lo, lo + span);
        const t = typeOfInterval(iv);
        const full = rangeOfType(t);
        expect(full.min <= iv.min && iv.max <= full.max).toBe(true);
        if (t.width > 1) {
          const narrower = rangeOfType({ width: t.width - 1, signed: t.signed });
          expect(narrower.min <= iv.min && iv.max <= narrower.max).toBe(false);
        }
        if (t.signed) expect(iv.min < 0n).toBe(true);
      }),
    );
  });
});

describe('interval arithmetic', () => {
  it('computes exact intervals for the basic operations', () => {
    const m = constant(5);
    expect(m.range).toEqual(interval(5, 5));
    const x = rangeExpr(-3, 10);
    expect(x.add(x).range).toEqual(interval(-6, 20));
    expect(x.sub(rangeExpr(-3, 10)).range).toEqual(interval(-13, 13));
    expect(x.sub(x).constValue).toBe(0n); // the same value: exactly zero
    expect(constant(200).add(100).truncate(8).constValue).toBe(44n); // constants fold exactly, wrap included
    expect(constant(-3).asBits().constValue).toBe(5n);
    expect(x.neg().range).toEqual(interval(-10, 3));
    expect(x.mul(-4).range).toEqual(interval(-40, 12));
    expect(x.shl(2).range).toEqual(interval(-12, 40));
    expect(x.shr(2).range).toEqual(interval(-1, 2));
    expect(x.clamp(0, 6).range).toEqual(interval(0, 6));
    expect(x.clamp(-100, 100).range).toEqual(interval(-3, 10));
    expect(x.eq(3).range).toEqual(interval(0, 1));
  });

  it('decides comparisons the intervals settle, and muxes on a decided select', () => {
    const x = rangeExpr(0, 10);
    const y = rangeExpr(11, 20);
    expect(x.lt(y).constValue).toBe(1n);
    expect(x.ge(y).constValue).toBe(0n);
    expect(x.le(10).constValue).toBe(1n);
    expect(x.gt(10).constValue).toBe(0n);
    expect(x.eq(y).constValue).toBe(0n);
    expect(x.ne(-1).constValue).toBe(1n);
    expect(x.ge(0).constValue).toBe(1n); // lint would call `x >= 0` constant: it never reaches the Verilog
    expect(x.lt(5).constValue).toBeUndefined();
    expect(x.eq(3).constValue).toBeUndefined();
    expect(mux(x.lt(y), x, y)).toBe(x);
    expect(x.clamp(-5, 100)).not.toBe(x);
    expect(x.clamp(-5, 100).range).toEqual(interval(0, 10));
  });

  it('refuses to narrow without an explicit wrap', () => {
    expect(() => rangeExpr(0, 300).resize(8, { wrap: false as true })).toThrow(/wrap: true/);
    expect(rangeExpr(0, 300).truncate(8).range).toEqual(interval(0, 255));
    expect(rangeExpr(0, 100).truncate(8).range).toEqual(interval(0, 100));
  });

  it('random expressions: every value lies in its interval and fits its width', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const { module, inputs, nodes } = randomCombModule(`rand_${seed}`, seed, 25);
        const sim = new Simulator(module);
        for (const v of randomVectors(seed ^ 0x5a5a, inputs, 12)) {
          sim.setAll(v);
          nodes.forEach((node, i) => {
            const value = sim.get(`n${i}`);
            expect(node.range.min <= value && value <= node.range.max, `${node.toString()} = ${value}`).toBe(true);
            expect(fitsType(value, node.type)).toBe(true);
          });
        }
      }),
      { numRuns: FULL ? 500 : 60 },
    );
  });
});

/** A free variable with the given interval: an input of a scratch module. */
function rangeExpr(min: number, max: number) {
  return new Module('scratch').input('x', interval(min, max));
}
