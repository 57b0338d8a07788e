/**
 * The post-processing unit (PPU): N lanes of docs/arithmetic.md's one rule, bit-exact,
 *
 *     y = clamp(((acc * M + 2^(s-1)) >> s) + zo, lo, hi),   acc = sum + bias
 *
 * with M (unsigned, `multiplierBits`), s (1..maxShift) and bias per lane (one output channel each), zo /
 * lo / hi per instruction. Every path that produces an output activation goes through it: GEMM results
 * drained from the accumulators, the depthwise engine, pooling, the residual add.
 *
 * The rounding shift needs no variable constant 2^(s-1): floor((p + 2^(s-1)) / 2^s) equals
 * floor((floor(p / 2^(s-1)) + 1) / 2), so a log-depth barrel shifter by s-1 is followed by +1 and a
 * fixed >> 1. Pipeline (PPU_LATENCY = 4): +bias, *M, >>(s-1), +1 >>1 +zo clamp.
 */
import { type Expr, Module, interval, mux, u } from '../../hdl/index.js';
import { packChannels, unpackChannels } from '../../ffe/stream.js';
import type { AccelConfig } from '../config.js';
import { MAX_SHIFT } from './config.js';

export const PPU_LATENCY = 4;

/** Signed bits of the value entering the PPU: an accumulator, or a residual add's rescaled sum. */
export function ppuInputBits(c: AccelConfig): number {
  const addBits = c.actBits + 2 + c.multiplierBits + 1; // (a-zpa)*Ma + (b-zpb)*Mb, operands of actBits + 2 bits
  return Math.max(c.accBits + 1, addBits); // an accumulator plus a 32-bit bias fits accBits + 1 when accBits = 32
}

export function shiftBits(): number {
  return MAX_SHIFT.toString(2).length;
}

/** 9-bit signed container of an output value, zero point or clamp bound (signed or unsigned 8-bit). */
export const OUT_RANGE = { min: -128, max: 255 } as const;

/**
 * One lane of the rule, as pipeline stages (registers named `<prefix>_...`). `valid` qualifies nothing
 * inside (the stages run every clock); the caller delays its own valid by PPU_LATENCY.
 */
export function requantizeLane(
  m: Module,
  prefix: string,
  c: AccelConfig,
  v: { sum: Expr; bias: Expr; multiplier: Expr; shift: Expr; zo: Expr; lo: Expr; hi: Expr },
): Expr {
  const acc = m.pipe(`${prefix}_acc`, v.sum.add(v.bias));
  const product = m.pipe(`${prefix}_product`, acc.mul(m.pipe(`${prefix}_m`, v.multiplier)));
  // Barrel shift by s-1 (s >= 1), one stage per bit of the shift amount.
  const sMinus1 = m.pipe(`${prefix}_s1`, v.shift.sub(1).assume(0, MAX_SHIFT - 1));
  const sAligned = m.pipe(`${prefix}_s2`, sMinus1);
  let shifted: Expr = product;
  for (let k = 0; (1 << k) <= MAX_SHIFT - 1; k++) shifted = mux(sAligned.bit(k), shifted.shr(1 << k), shifted);
  const floorHalf = m.pipe(`${prefix}_floor`, shifted);
  const zo = m.delay(`${prefix}_zo`, v.zo, 3);
  const lo = m.delay(`${prefix}_lo`, v.lo, 3);
  const hi = m.delay(`${prefix}_hi`, v.hi, 3);
  const rounded = floorHalf.add(1).shr(1).add(zo);
  // lo <= hi is the program's promise (checked by the ISA simulator); the clamp is then in [lo, hi].
  const y = mux(rounded.lt(lo), lo, mux(rounded.gt(hi), hi, rounded)).assume(OUT_RANGE.min, OUT_RANGE.max);
  return m.pipe(`${prefix}_y`, y);
}

/**
 * The PPU as a module: packed lane buses in, the 8-bit output row (two's complement bits of each y)
 * out PPU_LATENCY clocks later.
 */
export function buildPpu(c: AccelConfig, name = 'accel_ppu'): Module {
  const n = c.rows;
  const m = new Module(name, { description: `Post-processing unit, ${n} lanes: y = clamp(((acc*M + 2^(s-1)) >> s) + zo, lo, hi) with acc = sum + bias.` });
  m.addClock();
  const inBits = ppuInputBits(c);
  const inValid = m.input('in_valid', u(1));
  const inSum = m.input('in_sum', u(n * inBits));
  const bias = m.input('bias', u(n * c.accBits));
  const mult = m.input('multiplier', u(n * c.multiplierBits));
  const shift = m.input('shift', u(n * shiftBits()));
  const zo = m.input('zo', interval(OUT_RANGE.min, OUT_RANGE.max));
  const lo = m.input('lo', interval(OUT_RANGE.min, OUT_RANGE.max));
  const hi = m.input('hi', interval(OUT_RANGE.min, OUT_RANGE.max));
  const sums = unpackChannels(inSum, n, { bits: inBits, signed: true });
  const biases = unpackChannels(bias, n, { bits: c.accBits, signed: true });
  const mults = unpackChannels(mult, n, { bits: c.multiplierBits, signed: false });
  const shifts = unpackChannels(shift, n, { bits: shiftBits(), signed: false }).map((x) => x.assume(1, MAX_SHIFT));
  const ys = sums.map((sum, lane) =>
    requantizeLane(m, `lane${lane}`, c, { sum, bias: biases[lane]!, multiplier: mults[lane]!, shift: shifts[lane]!, zo, lo, hi }),
  );
  m.output('out_valid', m.delay('valid', inValid, PPU_LATENCY));
  m.output('out_y', packChannels(ys.map((y) => y.resize(c.actBits, { wrap: true, signed: false })), { bits: c.actBits, signed: false }));
  return m;
}
