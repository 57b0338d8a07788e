/**
 * The weight-stationary MAC array: N x N processing elements, PE (r, c) holds weight w[r][c] (input
 * channel r of the tile, output channel c). Each clock one activation row (N input channels of one pixel,
 * zero point already subtracted) enters, and N column sums sum_r act[r] * w[r][c] leave LATENCY clocks
 * later: one output pixel's partial dot product for N output channels per clock.
 *
 * Every PE has two weight registers (Gemmini's trick): the *shadow* weight loads one tile row per clock
 * (`w_load`, `w_row`, `w_data`) while the *active* weight multiplies; `w_swap` copies every shadow weight
 * into its active register at the clock edge (a row loading in that same clock goes straight in), so the next fold's weights load behind the current fold's
 * activation stream and a fold boundary costs no clock. An activation entering in the swap cycle still
 * meets the old weights; the one after meets the new.
 *
 * Pipeline: products registered, then one registered adder tree per column (LATENCY = 2).
 */
import { type Expr, Module, mux, sum, u } from '../../hdl/index.js';
import { packChannels, unpackChannels } from '../../ffe/stream.js';
import type { AccelConfig } from '../config.js';
import { operandRange, weightRange } from './config.js';

export const MAC_ARRAY_LATENCY = 2;

/** Lane types on the array's buses (9-bit signed activations after zp subtraction; signed weights). */
export function operandType(c: AccelConfig): { bits: number; signed: true } {
  const r = operandRange(c);
  return { bits: (r.max).toString(2).length + 1, signed: true };
}
export function weightType(c: AccelConfig): { bits: number; signed: true } {
  return { bits: c.weightBits, signed: true };
}

/** Bits of one column sum (signed), from the exact product bounds. */
export function columnSumType(c: AccelConfig): { bits: number; signed: true } {
  const a = operandRange(c);
  const w = weightRange(c);
  const maxAbs = BigInt(c.rows) * BigInt(Math.max(-a.min, a.max)) * BigInt(w.max);
  return { bits: maxAbs.toString(2).length + 1, signed: true };
}

export function buildMacArray(c: AccelConfig, name = 'accel_mac_array'): Module {
  const n = c.rows;
  const m = new Module(name, {
    description: `Weight-stationary MAC array, ${n}x${n} PEs: column c sums act[r] * w[r][c] over the ${n} rows; shadow weights load a row per clock, w_swap makes them active.`,
  });
  m.addClock();
  const inValid = m.input('in_valid', u(1));
  const inAct = m.input('in_act', u(n * operandType(c).bits));
  const wLoad = m.input('w_load', u(1));
  const wRow = m.input('w_row', { min: 0n, max: BigInt(n - 1) });
  const wData = m.input('w_data', u(n * c.weightBits));
  const wSwap = m.input('w_swap', u(1));

  const a = operandRange(c);
  const acts = unpackChannels(inAct, n, operandType(c)).map((x) => x.assume(a.min, a.max));
  const w = weightRange(c);
  const loaded = unpackChannels(wData, n, weightType(c)).map((x) => x.assume(w.min, w.max));

  // ---- weights: shadow (loading) and active (multiplying) per PE ----
  const active: Expr[][] = [];
  for (let r = 0; r < n; r++) {
    const loadRow = wLoad.and(wRow.eq(r));
    active.push(
      loaded.map((value, col) => {
        const shadow = m.reg(`w_shadow_r${r}_c${col}`, { min: BigInt(w.min), max: BigInt(w.max) }, { enable: loadRow }).next(value);
        // A row loading in the swap cycle goes straight through, so a fold of N pixels hides a whole tile load.
        return m.reg(`w_active_r${r}_c${col}`, { min: BigInt(w.min), max: BigInt(w.max) }, { enable: wSwap }).next(mux(loadRow, value, shadow));
      }),
    );
  }

  // ---- products (stage 1) and column adder trees (stage 2) ----
  const sums: Expr[] = [];
  for (let col = 0; col < n; col++) {
    const products = acts.map((x, r) => m.pipe(`prod_r${r}_c${col}`, x.mul(active[r]![col]!)));
    sums.push(m.pipe(`colsum_c${col}`, sum(products)));
  }
  const valid = m.delay('valid', inValid, MAC_ARRAY_LATENCY);
  m.output('out_valid', valid);
  m.output('out_sum', packChannels(sums, columnSumType(c)));
  return m;
}
