import { describe, expect, it } from 'vitest';
import { CompiledSimulator, Module, Simulator, interval, s } from '../../generator/hdl/index.js';
import { evaluateVectors } from '../../verify/sim/index.js';
import { randomBig, randomCombModule, randomSeqModule, randomVectors } from './random-modules.js';
import { combExpression, hierarchy, ramDelayLine, registeredPipeline, romLookup } from './sample-designs.js';
import { FULL } from '../helpers/env.js';
import { seededRandom } from '../../generator/common/seeded-random.js';


function clockedVectors(seed: number, module: Module, count: number): Array<Record<string, bigint>> {
  const r = seededRandom(seed);
  const ports = module.inputs.filter((p) => !p.isClock);
  return Array.from({ length: count }, (_, t) =>
    Object.fromEntries(ports.map((p) => [p.name, p.name === 'rst' ? (t === 0 || r() < 0.05 ? 1n : 0n) : randomBig(r, p.range.min, p.range.max)])),
  );
}

describe('CompiledSimulator == Simulator', () => {
  it('on the hand-written designs (pipeline, RAM, ROM, parameterized hierarchy)', () => {
    for (const [i, m] of [combExpression(), registeredPipeline(), ramDelayLine(5), romLookup(), hierarchy()].entries()) {
      const vectors = clockedVectors(100 + i, m, 200);
      expect(evaluateVectors(m, vectors, { engine: 'compiled' }), m.name).toEqual(evaluateVectors(m, vectors));
    }
  });

  it('on random modules, every sub-expression, in number and in bigint mode', () => {
    const modes = new Set<string>();
    for (let i = 0; i < (FULL ? 300 : 40); i++) {
      // Fewer operations keep many modules under 52 bits (number mode); longer ones grow wider (bigint).
      const { module, inputs } = randomCombModule(`c${i}`, 3000 + i, i % 2 === 0 ? 8 : 40);
      modes.add(new CompiledSimulator(module).mode);
      const vectors = randomVectors(4000 + i, inputs, 20);
      expect(evaluateVectors(module, vectors, { engine: 'compiled' })).toEqual(evaluateVectors(module, vectors));
    }
    // A design past 52 bits runs on bigint: the same random operations over 60-bit inputs.
    for (let i = 0; i < (FULL ? 60 : 10); i++) {
      const { module, inputs } = randomCombModule(`w${i}`, 5000 + i, 30);
      const wide = new Module(`wide_${i}`);
      const big = wide.input('big', s(60));
      const conns = Object.fromEntries(inputs.map((p) => [p.name, wide.input(p.name, p.range)]));
      const inst = wide.instance('u', module, conns);
      for (const o of module.outputs) wide.output(o.name, inst.out(o.name));
      wide.output('big_sum', big.mul(3).add(conns[inputs[0]!.name]!));
      modes.add(new CompiledSimulator(wide).mode);
      const vectors = randomVectors(6000 + i, [...inputs, big], 20).map((v) => ({ ...v }));
      expect(evaluateVectors(wide, vectors, { engine: 'compiled' })).toEqual(evaluateVectors(wide, vectors));
    }
    expect([...modes].sort()).toEqual(['bigint', 'number']);
  });

  it('on random sequential modules (feedback registers, reset, enable, RAM)', () => {
    for (let i = 0; i < (FULL ? 100 : 15); i++) {
      const { module } = randomSeqModule(`s${i}`, 9000 + i, 25);
      const vectors = clockedVectors(9500 + i, module, 60);
      expect(evaluateVectors(module, vectors, { engine: 'compiled' })).toEqual(evaluateVectors(module, vectors));
    }
  });

  it('reads internal signals by path, checks inputs and assumptions', () => {
    const top = hierarchy();
    const fast = new CompiledSimulator(top);
    const ref = new Simulator(top);
    for (const sim of [fast, ref]) sim.setAll({ x: -5, sel: 3 }).step(2);
    expect(fast.get('u1.p_q')).toBe(ref.get('u1.p_q'));
    expect(fast.get('y')).toBe(ref.get('y'));
    expect(fast.cycle).toBe(2);
    expect(() => fast.set('x', 1000)).toThrow(/outside/);
    expect(() => fast.get('nope.y')).toThrow(/no instance 'nope'/);

    const m = new Module('counter');
    m.addClock();
    const r = m.reg('r', interval(0, 3));
    r.next(r.add(1).assume(0, 3)); // wrong on purpose
    m.output('q', r);
    const sim = new CompiledSimulator(m);
    sim.step(3);
    expect(() => sim.step()).toThrow(/assumed range \[0, 3\] does not hold: value 4/);
  });

  it('runs 20,000 cycles of a 32-tap filter (the figures are in npm run bench:hdl)', () => {
    const m = new Module('fir');
    m.addClock();
    const x = m.input('x', s(8));
    const taps = m.delay('tap', x, 32);
    let acc = x.mul(3);
    for (let i = 1; i <= 32; i++) acc = acc.add(m.signals.find((sig) => sig.name === `tap_${i}`)!.mul((i % 7) - 3));
    m.output('y', acc);
    m.output('last', taps);
    const sim = new CompiledSimulator(m);
    for (let t = 0; t < 20_000; t++) sim.set('x', (t % 255) - 127).step();
    expect(sim.get('last')).toBe(BigInt(((20_000 - 32) % 255) - 127));
  });
});

describe('CompiledSimulator inputs', () => {
  it('refuses to run with an input the logic reads but nobody set, like the interpreter', () => {
    const m = new Module('needs_inputs');
    const a = m.input('a', s(4));
    m.input('ignored', s(4));
    m.output('y', a.add(1));
    const sim = new CompiledSimulator(m);
    expect(() => sim.get('y')).toThrow(/input 'a' was read before it was set/);
    expect(sim.set('a', 3).get('y')).toBe(4n);
  });
});
