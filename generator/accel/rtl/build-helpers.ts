/**
 * Small construction helpers shared by the accelerator's units: loop counters with run-time bounds,
 * checked memory addresses, lane (un)packing of scratchpad rows.
 */
import { type Expr, type Module, interval, mux } from '../../hdl/index.js';

/**
 * A loop counter 0 .. count-1 (count >= 1, a run-time value): restarts at 0 on `restart`, advances on
 * `step`, wraps after its last value. `last` is 1 on count-1.
 */
export function loopCounter(m: Module, name: string, count: Expr, step: Expr, restart: Expr, reset: Expr): { value: Expr; last: Expr } {
  const top = count.range.max > 1n ? count.range.max - 1n : 0n;
  const v = m.reg(name, interval(0, top), { reset });
  const last = v.eq(count.sub(1));
  v.next(mux(restart, 0, mux(step, mux(last, 0, v.add(1)), v)).assume(0, top));
  return { value: v, last };
}

/** An address checked against a memory's depth: `ok` when inside, `addr` always a legal index (0 when not ok). */
export function checkedAddress(addr: Expr, depth: number): { ok: Expr; addr: Expr } {
  const ok = addr.ge(0).and(addr.lt(depth));
  return { ok, addr: mux(ok, addr, 0).assume(0, depth - 1) };
}

/** Bits [lsb + width - 1 : lsb] of a word, read signed or unsigned. */
export function lane(word: Expr, index: number, width: number, signed: boolean): Expr {
  const bits = word.slice(index * width + width - 1, index * width);
  return signed ? bits.resize(width, { wrap: true, signed: true }) : bits;
}

/** Lanes `0..count-1` of a packed row. */
export function lanes(word: Expr, count: number, width: number, signed: boolean): Expr[] {
  return Array.from({ length: count }, (_, i) => lane(word, i, width, signed));
}

/** The larger of two values. */
export function max(a: Expr, b: Expr): Expr {
  return mux(a.gt(b), a, b);
}
