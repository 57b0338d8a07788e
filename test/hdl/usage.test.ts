/** The usage example at the top of generator/hdl/index.ts, kept working. */
import { describe, expect, it } from 'vitest';
import { emitDesign } from '../../generator/emit/index.js';
import { CompiledSimulator, Module, Simulator, designCosts, interval, mux, s, u } from '../../generator/hdl/index.js';

describe('the documented usage example', () => {
  it('builds, simulates, prints and measures as documented', () => {
    const m = new Module('mac');
    m.addClock();
    const rst = m.input('rst', u(1));
    const en = m.input('en', u(1));
    const x = m.input('x', s(8));
    const p = x.mul(-3).add(x.shl(2));
    expect(p.range).toEqual(interval(-893, 892));
    expect(p.type).toEqual({ width: 11, signed: true });
    const acc = m.reg('acc', s(16), { reset: rst, enable: en });
    acc.next(acc.add(p).clamp(-32768, 32767));
    m.output('y', acc);
    m.output('big', mux(x.gt(0), x, 0));
    for (const sim of [new Simulator(m), new CompiledSimulator(m)]) {
      sim.setAll({ rst: 1, en: 0, x: 0 }).step();
      sim.setAll({ rst: 0, en: 1, x: 5 }).step();
      expect(sim.get('y')).toBe(5n);
    }
    const { files } = emitDesign(m, { modelSha256: '00', options: { example: true } });
    expect(files.map((f) => f.name)).toEqual(['mac.v']);
    expect(designCosts(m).adders).toBe(2);
  });
});
