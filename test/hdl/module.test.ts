import { describe, expect, it } from 'vitest';
import { constantConcat } from './sample-designs.js';
import { HdlError, Module, Simulator, checkModule, constant, findProblems, interval, mux, s, select, sum, u } from '../../generator/hdl/index.js';

describe('builder errors', () => {
  it('refuses a second driver', () => {
    const m = new Module('m');
    const a = m.input('a', u(4));
    const w = m.wire('w', u(5), a);
    expect(() => w.drive(a)).toThrow(/already has a driver: one driver per signal/);
  });

  it('refuses a driver that would truncate, and names the fixes', () => {
    const m = new Module('m');
    const a = m.input('a', u(8));
    expect(() => m.output('y', u(8), a.add(1))).toThrow(/holds \[0, 255\].*ranges over \[1, 256\].*truncate/s);
    expect(() => m.output('y2', u(8), a.add(1).truncate(8))).not.toThrow();
    m.addClock();
    const r = m.reg('r', s(4));
    expect(() => r.next(a)).toThrow(/register 'r' holds \[-8, 7\]/);
  });

  it('refuses duplicate names, bad slices, unconnected and unknown instance ports, bad memory addresses', () => {
    const m = new Module('m');
    const a = m.input('a', u(4));
    expect(() => m.wire('a', a)).toThrow(/already has a signal/);
    expect(() => a.slice(4, 0)).toThrow(/outside the unsigned 4-bit operand/);
    const child = new Module('child');
    child.output('y', child.input('x', u(3)));
    expect(() => m.instance('u0', child, {})).toThrow(/input 'x' is not connected/);
    expect(() => m.instance('u1', child, { x: a, z: a })).toThrow(/no input port 'z'/);
    expect(() => m.instance('u2', child, { x: a })).toThrow(/holds \[0, 7\] but is connected to a value in \[0, 15\]/);
    expect(() => m.memory('ram', { depth: 8, type: u(8) })).toThrow(/needs a clock/);
    m.addClock();
    const ram = m.memory('ram', { depth: 8, type: u(8) });
    expect(() => ram.read('rd', { addr: a })).toThrow(/address ranges over \[0, 15\], outside \[0, 7\]/);
    expect(() => mux(a, 1, 0)).toThrow(/mux select must be 1-bit/);
  });
});

describe('checker', () => {
  it('reports undriven outputs, wires and registers', () => {
    const m = new Module('m');
    m.addClock();
    m.output('y', u(3));
    m.wire('w', s(2));
    m.reg('r', u(1));
    const problems = findProblems(m);
    expect(problems).toEqual([
      "module 'm': output 'y' has no driver",
      "module 'm': wire 'w' has no driver",
      "module 'm': reg 'r' has no next value",
    ]);
    expect(() => checkModule(m)).toThrow(HdlError);
  });

  it('finds a combinational loop and lets a register break it', () => {
    const m = new Module('loop');
    const a = m.input('a', u(4));
    const w1 = m.wire('w1', u(4));
    const w2 = m.wire('w2', u(4), w1.or(a));
    w1.drive(w2);
    expect(findProblems(m)).toEqual(["module 'loop': combinational loop w1 -> w2 -> w1"]);

    const ok = new Module('counter');
    ok.addClock();
    const r = ok.reg('r', u(4));
    r.next(r.add(1).truncate(4));
    ok.output('q', r);
    expect(findProblems(ok)).toEqual([]);
  });

  it('sees loops through instances only where the child is combinational', () => {
    const comb = new Module('comb_child');
    comb.output('y', comb.input('x', u(4)));
    const seq = new Module('seq_child');
    seq.addClock();
    seq.output('y', seq.pipe('q', seq.input('x', u(4))));
    for (const [child, loops] of [
      [comb, 1],
      [seq, 0],
    ] as const) {
      const top = new Module(`top_${child.name}`);
      top.addClock();
      const w = top.wire('w', u(4));
      const inst = top.instance('u', child, { x: w });
      w.drive(inst.out('y'));
      top.output('y', w);
      expect(findProblems(top).filter((p) => p.includes('combinational loop'))).toHaveLength(loops);
    }
  });

  it('rejects reading another module\'s signal and two modules with one name', () => {
    const other = new Module('other');
    const foreign = other.input('x', u(2));
    const m = new Module('m');
    m.output('y', foreign);
    expect(findProblems(m)).toEqual(["module 'm': output 'y' reads 'x', a signal of another module"]);

    const c1 = new Module('same');
    c1.output('y', 1);
    const c2 = new Module('same');
    c2.output('y', 2);
    const top = new Module('top');
    top.instance('a', c1, {});
    top.instance('b', c2, {});
    expect(findProblems(top)).toContain("two different modules are named 'same'; module names must be unique in a design");
  });

  it('reports a memory that is never written or read', () => {
    const m = new Module('m');
    m.addClock();
    m.memory('ram', { depth: 4, type: u(2) });
    expect(findProblems(m)).toEqual(["module 'm': memory 'ram' is never read", "module 'm': memory 'ram' is never written and has no init contents"]);
  });
});

describe('evaluator', () => {
  it('reads a ROM given by its init contents, and checks the contents', () => {
    const m = new Module('rom');
    m.addClock();
    const i = m.input('i', interval(0, 3));
    const rom = m.memory('table', { depth: 4, type: s(5), init: [-16, 3, 0, 15] });
    m.output('q', rom.read('q_r', { addr: i }));
    const sim = new Simulator(m);
    expect([3, 0, 1, 2].map((k) => sim.set('i', k).step().get('q'))).toEqual([15n, -16n, 3n, 0n]);
    expect(() => m.memory('bad', { depth: 2, type: u(2), init: [1] })).toThrow(/init has 1 words, depth is 2/);
    expect(() => m.memory('bad2', { depth: 2, type: u(2), init: [1, 4] })).toThrow(/init word 1: value 4 is outside \[0, 3\]/);
  });

  it('runs registers with synchronous reset (priority) and enable', () => {
    const m = new Module('acc');
    m.addClock();
    const rst = m.input('rst', u(1));
    const en = m.input('en', u(1));
    const x = m.input('x', s(8));
    const acc = m.reg('acc', s(12), { reset: rst, enable: en, init: 3 });
    acc.next(acc.add(x).clamp(-2048, 2047));
    m.output('y', acc);
    const sim = new Simulator(m);
    expect(sim.get('y')).toBe(3n);
    sim.setAll({ rst: 0, en: 1, x: 10 }).step();
    expect(sim.get('y')).toBe(13n);
    sim.setAll({ en: 0 }).step(5);
    expect(sim.get('y')).toBe(13n);
    sim.setAll({ rst: 1, en: 1 }).step();
    expect(sim.get('y')).toBe(3n);
    sim.setAll({ rst: 0, x: 127 }).step(20);
    expect(sim.get('y')).toBe(2047n);
    expect(sim.cycle).toBe(27);
  });

  it('reads RAM through a register, old data on a same-address write', () => {
    const m = new Module('ram_test');
    m.addClock();
    const we = m.input('we', u(1));
    const addr = m.input('addr', interval(0, 5));
    const data = m.input('data', u(8));
    const ram = m.memory('ram', { depth: 6, type: u(8) });
    ram.setWrite({ addr, data, enable: we });
    m.output('q', ram.read('rd', { addr }));
    const sim = new Simulator(m);
    sim.setAll({ we: 1, addr: 2, data: 77 }).step();
    expect(sim.get('q')).toBe(0n); // read in the same edge as the write: the old word
    sim.setAll({ we: 1, addr: 2, data: 99 }).step();
    expect(sim.get('q')).toBe(77n);
    sim.setAll({ we: 0, addr: 2, data: 0 }).step();
    expect(sim.get('q')).toBe(99n);
  });

  it('simulates through instances and reads internal signals by path', () => {
    const child = new Module('adder');
    child.addClock();
    const a = child.input('a', s(6));
    const b = child.input('b', s(6));
    child.output('y', child.pipe('sum_q', a.add(b)));
    const top = new Module('top');
    top.addClock();
    const x = top.input('x', s(6));
    const u0 = top.instance('u0', child, { a: x, b: x.neg().clamp(-32, 31) });
    const u1 = top.instance('u1', child, { a: x, b: 5 });
    top.output('y', sum([u0.out('y'), u1.out('y')]));
    const sim = new Simulator(top);
    sim.set('x', 7).step();
    expect(sim.get('u1.sum_q')).toBe(12n);
    expect(sim.get('y')).toBe(12n);
    expect(() => sim.get('u9.sum_q')).toThrow(/no instance 'u9'/);
  });

  it('checks assumptions while it runs', () => {
    const m = new Module('counter');
    m.addClock();
    const r = m.reg('r', interval(0, 9));
    r.next(r.add(1).assume(0, 9)); // wrong on purpose: never wraps
    m.output('q', r);
    const sim = new Simulator(m);
    sim.step(9);
    expect(sim.get('q')).toBe(9n);
    expect(() => sim.step()).toThrow(/assumed range \[0, 9\] does not hold: value 10/);
  });

  it('selects among values and refuses unknown or out-of-range inputs', () => {
    const m = new Module('sel');
    const i = m.input('i', interval(0, 3));
    m.output('y', select(i, [10, -20, 30, 40]));
    const sim = new Simulator(m);
    expect([0, 1, 2, 3].map((k) => sim.set('i', k).get('y'))).toEqual([10n, -20n, 30n, 40n]);
    expect(() => sim.set('i', 4)).toThrow(/outside/);
    expect(() => sim.set('j', 0)).toThrow(/no input 'j'/);
  });
});

describe('bit-structural operations on constants', () => {
  it('a folded slice keeps its width, so concatenation places later parts where intended', () => {
    const sim = new Simulator(constantConcat());
    for (const x of [0n, 5n, 15n]) {
      sim.set('x', x).step();
      // {x, 8'h28, x[1:0]}: 14 bits; {(-300)[5:0] = 6'b010100, x}: 10 bits.
      expect(sim.get('packed')).toBe((x << 10n) | (0x28n << 2n) | (x & 3n));
      expect(sim.get('negative_bits')).toBe((0b010100n << 4n) | x);
    }
    expect(constant(0x1228).slice(7, 0).width).toBe(8);
    expect(constant(0x1228).slice(7, 0).constValue).toBe(0x28n);
  });
});

describe('parameters', () => {
  it('derive widths from the declared range and take per-instance values', () => {
    const child = new Module('offset');
    const k = child.parameter('K', { type: interval(-8, 100), default: 5 });
    const x = child.input('x', u(4));
    const y = x.add(k);
    expect(y.range).toEqual(interval(-8, 115));
    child.output('y', y);
    const top = new Module('top');
    const xi = top.input('x', u(4));
    const a = top.instance('a', child, { x: xi });
    const b = top.instance('b', child, { x: xi }, { K: -8 });
    top.output('ya', a.out('y'));
    top.output('yb', b.out('y'));
    expect(new Simulator(top).set('x', 2).outputs()).toEqual({ ya: 7n, yb: -6n });
    expect(() => top.instance('c', child, { x: xi }, { K: 101 })).toThrow(/parameter 'K': value 101 is outside \[-8, 100\]/);
    expect(() => top.instance('d', child, { x: xi }, { J: 1 })).toThrow(/no parameter 'J'; parameters: K/);
    expect(() => child.parameter('P', { type: u(2), default: 4 })).toThrow(/default: value 4 is outside \[0, 3\]/);
  });
});

describe('scale', () => {
  it('evaluates and prints a 20,000-deep expression chain without exhausting the stack', async () => {
    const m = new Module('deep');
    const x = m.input('x', s(8));
    let e = x.add(0);
    for (let i = 0; i < 20_000; i++) e = e.add(x).shr(1);
    m.output('y', e);
    expect(new Simulator(m).set('x', -77).get('y')).toBe(-77n);
    const { emitDesign } = await import('../../generator/emit/index.js');
    expect(emitDesign(m).files[0]!.text.split('\n').length).toBeGreaterThan(40_000);
  });
});

describe('helpers', () => {
  it('counter wraps at its modulo and nests through `last`; delay shifts by whole cycles', () => {
    const m = new Module('nest');
    m.addClock();
    const rst = m.input('rst', u(1));
    const x = m.input('x', u(4));
    const col = m.counter('col', 3, { reset: rst });
    const row = m.counter('row', 2, { reset: rst, enable: col.last });
    m.output('col_q', col.value);
    m.output('row_q', row.value);
    m.output('x_late', m.delay('x_d', x, 2));
    expect(row.value.range).toEqual(interval(0, 1));
    const sim = new Simulator(m);
    sim.setAll({ rst: 1, x: 0 }).step();
    const seen: string[] = [];
    for (let t = 0; t < 7; t++) {
      sim.setAll({ rst: 0, x: t });
      seen.push(`${sim.get('row_q')}${sim.get('col_q')}:${sim.get('x_late')}`);
      sim.step();
    }
    expect(seen).toEqual(['00:0', '01:0', '02:0', '10:1', '11:2', '12:3', '00:4']);
  });
});

describe('designCosts (the cost model)', () => {
  it('counts operations, adders, register and memory bits and adder depth, per instance', async () => {
    const { designCosts } = await import('../../generator/hdl/index.js');
    const child = new Module('dot3');
    child.addClock();
    const xs = [0, 1, 2].map((i) => child.input(`x${i}`, s(8)));
    // ((3x0 + x1) - x2) -> 2 adders deep after the multiply; registered (11 bits).
    child.output('y', child.pipe('y_q', xs[0]!.mul(3).add(xs[1]!).sub(xs[2]!)));
    const top = new Module('two_dots');
    top.addClock();
    const a = top.input('a', s(8));
    const u0 = top.instance('u0', child, { x0: a, x1: a, x2: a });
    const u1 = top.instance('u1', child, { x0: a, x1: a, x2: a.neg().clamp(-128, 127) });
    const ram = top.memory('buf', { depth: 16, type: s(12) });
    ram.setWrite({ addr: constant(0), data: u0.out('y').add(u1.out('y')).clamp(-2048, 2047) });
    top.output('z', ram.read('buf_q', { addr: constant(1) }));
    const st = designCosts(top);
    expect(st.multipliers).toBe(2);
    expect(st.adders).toBe(2 * 2 + 1 + 1); // two per child, the negation, the sum into the RAM
    expect(st.registerBits).toBe(2 * u0.out('y').width + 12);
    expect(st.memoryBits).toBe(16 * 12);
    expect(st.adderDepth).toBe(2);
    expect(st.ops.cmp).toBe(1); // only the upper bound of clamp(-a) is in doubt; the RAM-side clamp is proven a no-op
  });
});

describe('hash-consing', () => {
  it('builds an identical operation once, and keeps apart what differs in operands, kind or interval', () => {
    const m = new Module('hc');
    const x = m.input('x', u(5));
    const y = m.input('y', u(5));
    expect(x.eq(27)).toBe(x.eq(27));
    expect(x.add(y).shl(2)).toBe(x.add(y).shl(2));
    expect(mux(x.eq(3), x, y)).toBe(mux(x.eq(3), x, y));
    expect(x.eq(27)).not.toBe(x.eq(26));
    expect(x.add(y)).not.toBe(y.add(x));
    expect(x.lt(y)).not.toBe(x.gt(y));
    expect(x.assume(0, 20)).not.toBe(x.assume(0, 21));
    expect(x.slice(3, 0)).not.toBe(x.slice(4, 1));
  });
});
