/**
 * Seeded random DSL designs for property and equivalence tests: a combinational module whose every
 * sub-expression is also an output (so a width mistake anywhere shows), plus vectors that include each
 * input's extremes.
 */
import { type Expr, type Input, Module, concat, mux, rangeOfType, type BitType } from '../../generator/hdl/index.js';

import { seededRandom } from '../../generator/common/seeded-random.js';


export function randomInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** A uniformly random bigint in [min, max]. */
export function randomBig(r: () => number, min: bigint, max: bigint): bigint {
  const span = max - min + 1n;
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(Math.floor(r() * 4294967296));
  return min + (v % span);
}

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}

function randomType(r: () => number): BitType {
  return { width: randomInt(r, 1, 12), signed: r() < 0.5 };
}

/** One random operation over existing expressions. */
function randomOp(r: () => number, pool: readonly Expr[]): Expr {
  const a = pick(r, pool);
  const b = pick(r, pool);
  switch (randomInt(r, 0, 14)) {
    case 0:
      return a.add(b);
    case 1:
      return a.sub(b);
    case 2:
      return a.neg();
    case 3:
      // A variable product now and then (the accelerator's multipliers), kept narrow enough to stay readable.
      return r() < 0.3 && a.width + b.width <= 40 ? a.mul(b) : a.mul(randomInt(r, -40, 40));
    case 4:
      return a.shl(randomInt(r, 0, 3));
    case 5:
      return a.shr(randomInt(r, 0, Math.min(a.width + 1, 6)));
    case 6: {
      const lo = randomInt(r, 0, a.width - 1);
      return a.slice(randomInt(r, lo, a.width - 1), lo);
    }
    case 7:
      return concat(a, b);
    case 8:
      return pick(r, [a.eq(b), a.ne(b), a.lt(b), a.le(b), a.gt(b), a.ge(b)]);
    case 9:
      return mux(a.lt(b), a, b.add(randomInt(r, -5, 5)));
    case 10:
      return pick(r, [a.asBits().and(b.asBits()), a.asBits().or(b.asBits()), a.asBits().xor(b.asBits())]);
    case 11:
      return pick(r, [a.asBits().not(), a.reduceAnd(), a.reduceOr(), a.reduceXor()]);
    case 12:
      return a.resize(randomInt(r, 1, a.width + 2), { wrap: true, signed: r() < 0.5 });
    case 13: {
      const lo = randomBig(r, a.range.min - 3n, a.range.max);
      return a.clamp(lo, randomBig(r, lo, a.range.max + 3n));
    }
    default:
      return a.add(randomInt(r, -100, 100));
  }
}

export interface RandomCombModule {
  readonly module: Module;
  readonly inputs: readonly Input[];
  /** Every expression built, in order; output `n<i>` carries nodes[i]. */
  readonly nodes: readonly Expr[];
}

/** A module with 1-4 random inputs and `ops` random operations, each one an output. */
export function randomCombModule(name: string, seed: number, ops: number): RandomCombModule {
  const r = seededRandom(seed);
  const m = new Module(name);
  const inputs: Input[] = [];
  const count = randomInt(r, 1, 4);
  for (let i = 0; i < count; i++) inputs.push(m.input(`in${i}`, randomType(r)));
  const pool: Expr[] = [...inputs];
  const nodes: Expr[] = [];
  for (let i = 0; i < ops; i++) {
    const e = randomOp(r, pool);
    // Keep widths moderate so the test also stays fast; wide values (> 64 bits) still appear.
    if (e.width > 80) continue;
    pool.push(e);
    nodes.push(e);
    m.output(`n${nodes.length - 1}`, e);
  }
  return { module: m, inputs, nodes };
}

/** Random input vectors, the first ones at each input's extremes. */
export function randomVectors(seed: number, inputs: readonly Input[], count: number): Array<Record<string, bigint>> {
  const r = seededRandom(seed);
  const vectors: Array<Record<string, bigint>> = [];
  const extremes = [(x: Input) => x.range.min, (x: Input) => x.range.max];
  for (const f of extremes) vectors.push(Object.fromEntries(inputs.map((x) => [x.name, f(x)])));
  while (vectors.length < count) vectors.push(Object.fromEntries(inputs.map((x) => [x.name, randomBig(r, x.range.min, x.range.max)])));
  return vectors;
}

/** True when a value is representable in a type (what a Verilog wire of that type can hold). */
export function fitsType(value: bigint, type: BitType): boolean {
  const full = rangeOfType(type);
  return full.min <= value && value <= full.max;
}

/**
 * A random sequential module: registers (synchronous reset, some with enable, some of those computed on
 * it) that feed back into random logic, and a RAM with random initial contents (so every simulator
 * knows every word from the start).
 * Inputs `rst` and `en` control them; every register and operation is an output. With `rst` high in the
 * first cycle and `en` high in the first two, every output is defined from the third cycle on (a RAM
 * read issued in the first cycle may use an address computed from registers not yet reset).
 */
export function randomSeqModule(name: string, seed: number, ops: number): RandomCombModule {
  const r = seededRandom(seed);
  const m = new Module(name);
  m.addClock();
  const rst = m.input('rst', { width: 1, signed: false });
  const en = m.input('en', { width: 1, signed: false });
  const data: Input[] = [];
  for (let i = 0, n = randomInt(r, 1, 3); i < n; i++) data.push(m.input(`in${i}`, randomType(r)));
  const regs = Array.from({ length: randomInt(r, 1, 4) }, (_, i) => {
    const type = randomType(r);
    const full = rangeOfType(type);
    // Every other enabled register is computed on its enable (its private logic printed under the enable).
    return m.reg(`r${i}`, type, { reset: rst, init: randomBig(r, full.min, full.max), ...(r() < 0.5 ? { enable: en, computeOnEnable: i % 2 === 1 } : {}) });
  });
  const pool: Expr[] = [...data, ...regs];
  const nodes: Expr[] = [];
  const keep = (e: Expr): void => {
    pool.push(e);
    nodes.push(e);
    m.output(`n${nodes.length - 1}`, e);
  };
  for (let i = 0; i < ops; i++) {
    const e = randomOp(r, pool);
    if (e.width <= 60) keep(e);
  }
  const depth = randomInt(r, 3, 9);
  const memType = randomType(r);
  const memRange = rangeOfType(memType);
  const ram = m.memory('ram', { depth, type: memType, init: Array.from({ length: depth }, () => randomBig(r, memRange.min, memRange.max)) });
  const address = (e: Expr): Expr => e.asBits().resize(ram.addrWidth, { wrap: true, signed: false }).clamp(0, depth - 1);
  const fit = (e: Expr, type: BitType): Expr => e.resize(type.width, { wrap: true, signed: type.signed });
  // No writes during reset: before the first edge the registers hold whatever the power-on state is
  // (x in Icarus, 0 in Verilator, the reset value in the evaluator), and a write would keep it.
  ram.setWrite({ addr: address(pick(r, pool)), data: fit(pick(r, pool), memType), enable: en.and(rst.not()) });
  // The read word is an output but feeds nothing else: an undefined first read cannot spread.
  const q = ram.read('ram_q', { addr: address(pick(r, pool)), enable: en.or(rst) });
  nodes.push(q);
  m.output(`n${nodes.length - 1}`, q);
  for (const reg of regs) reg.next(fit(pick(r, pool), reg.type));
  for (const reg of regs) m.output(`${reg.name}_q`, reg);
  return { module: m, inputs: [rst, en, ...data], nodes };
}
