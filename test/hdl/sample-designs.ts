/** Hand-written DSL designs shared by the evaluator and RTL equivalence tests. */
import { Module, concat, constant, interval, mux, s, sum, u } from '../../generator/hdl/index.js';

/** A combinational expression: constant multiplies, shifts, compare/mux, saturation. */
export function combExpression(): Module {
  const m = new Module('eq_comb');
  const a = m.input('a', s(8));
  const b = m.input('b', u(6));
  const c = m.input('c', interval(-300, 1000));
  m.output('lin', sum([a.mul(-13), b.shl(4), c.shr(3), a.mul(100)]));
  m.output('sat', a.mul(7).sub(c).clamp(-128, 127));
  m.output('mx', mux(a.ge(b), c, a.neg()));
  m.output('bits', a.asBits().xor(b).reduceOr());
  return m;
}

/**
 * Packing constants next to variables (as a stream word packs channels): a slice of a constant keeps its
 * structural width when folded, so the variable lands at bit 8 and the constant's leading zeros stay.
 */
export function constantConcat(): Module {
  const m = new Module('eq_const_concat');
  const x = m.input('x', u(4));
  m.output('packed', concat(x, constant(0x1228).slice(7, 0), x.slice(1, 0)));
  m.output('negative_bits', concat(constant(-300).slice(5, 0), x));
  return m;
}

/** A three-stage pipeline with enable and synchronous reset. */
export function registeredPipeline(): Module {
  const m = new Module('eq_pipeline');
  m.addClock();
  const rst = m.input('rst', u(1));
  const en = m.input('en', u(1));
  const x = m.input('x', s(10));
  const opts = { reset: rst, enable: en };
  const s1 = m.pipe('s1', x.mul(5).sub(x.shr(2)), opts);
  const s2 = m.pipe('s2', s1.add(x), opts);
  const s3 = m.pipe('s3', s2.clamp(-1000, 1000), { ...opts, init: -7 });
  m.output('y', s3);
  const acc = m.reg('acc', s(20), opts);
  acc.next(acc.add(s3).clamp(-(2 ** 19), 2 ** 19 - 1));
  m.output('total', acc);
  return m;
}

/**
 * Registers computed on their enable (RegOptions.computeOnEnable): the logic only they read (named
 * wires, temporaries, bits nothing reads) is printed inside their always block. `shared` is read by an
 * output too and stays a continuous assign; `c` has a reset, reads itself and is its own group.
 */
export function computedOnEnable(): Module {
  const m = new Module('eq_on_enable');
  m.addClock();
  const rst = m.input('rst', u(1));
  const en = m.input('en', u(1));
  const x = m.input('x', s(9));
  const y = m.input('y', u(7));
  const shared = m.wire('shared', x.mul(3).add(y));
  const scaled = m.wire('scaled', shared.mul(37).sub(x.shl(4))).describe('private to the load group');
  const rounded = m.wire('rounded', scaled.add(64).shr(7).clamp(-100, 100));
  const load = m.wire('load', en.and(y.bit(0)));
  const a = m.pipe('a', rounded, { enable: load, computeOnEnable: true });
  const b = m.pipe('b', mux(x.lt(0), scaled.neg(), scaled).shr(2), { enable: load, computeOnEnable: true });
  const c = m.reg('c', s(16), { reset: rst, enable: en, computeOnEnable: true });
  c.next(c.add(a).add(shared.shr(1)).clamp(-32768, 32767));
  m.output('a_q', a);
  m.output('b_q', b);
  m.output('c_q', c);
  m.output('shared_out', shared);
  return m;
}

/** A delay line in inferred RAM (the line-buffer pattern), gated until it has filled. */
export function ramDelayLine(depth: number): Module {
  const m = new Module('eq_ram_delay');
  m.addClock();
  const rst = m.input('rst', u(1));
  const x = m.input('x', s(12));
  const ptr = m.reg('ptr', interval(0, depth - 1), { reset: rst });
  ptr.next(mux(ptr.eq(depth - 1), 0, ptr.add(1)).assume(0, depth - 1));
  const filled = m.reg('filled', interval(0, depth + 1), { reset: rst });
  filled.next(mux(filled.eq(depth + 1), filled, filled.add(1)).assume(0, depth + 1));
  const ram = m.memory('line', { depth, type: s(12) });
  ram.setWrite({ addr: ptr, data: x });
  const q = ram.read('line_q', { addr: ptr });
  m.output('y', mux(filled.eq(depth + 1), q, 0));
  return m;
}

/** A ROM lookup (constant contents, registered read) feeding an adder. */
export function romLookup(): Module {
  const m = new Module('eq_rom');
  m.addClock();
  const i = m.input('i', interval(0, 11));
  const table = Array.from({ length: 12 }, (_, k) => Math.round(100 * Math.sin(k)));
  const rom = m.memory('sine', { depth: 12, type: s(8), init: table });
  m.output('y', rom.read('sine_q', { addr: i }).add(i));
  return m;
}

/** Two instances of one parameterized child (one overrides the parameter) plus glue logic. */
export function hierarchy(): Module {
  const child = new Module('eq_mac_child');
  child.addClock();
  const offset = child.parameter('OFFSET', { type: interval(-50, 50), default: 3 });
  const a = child.input('a', s(8));
  const k = child.input('k', u(3));
  child.output('p', child.pipe('p_q', a.mul(3).add(k).sub(offset)));
  const top = new Module('eq_hier');
  top.addClock();
  const x = top.input('x', s(8));
  const sel = top.input('sel', u(3));
  const u0 = top.instance('u0', child, { a: x, k: sel });
  const u1 = top.instance('u1', child, { a: x.neg().clamp(-128, 127), k: 7 }, { OFFSET: -41 });
  top.output('y', u0.out('p').sub(u1.out('p')));
  return top;
}

