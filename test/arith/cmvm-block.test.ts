import { describe, expect, it } from 'vitest';
import { buildCmvmBlock, emitCmvm } from '../../generator/arith/cmvm-block.js';
import { FixynnError } from '../../generator/common/errors.js';
import { emitDesign } from '../../generator/emit/index.js';
import { Module, Simulator, s, u } from '../../generator/hdl/index.js';

const W1 = [
  [3, -5, 0],
  [0, 0, 0],
  [7, 1, -128],
];
const W2 = [[-1, 2, 100]];

describe('CMVM block generator', () => {
  it('puts two pipelined products into one module (prefixed names) and computes W x with the latency', () => {
    const m = new Module('two_products');
    m.addClock();
    const x = [m.input('a', u(8)), m.input('b', s(8)), m.input('c', u(4))];
    const p = emitCmvm(m, x, { weights: W1, strategy: 'shared', pipeline: 1, prefix: 'p_' });
    const q = emitCmvm(m, x, { weights: W2, strategy: 'multiply', pipeline: 2, prefix: 'q_' });
    p.outputs.forEach((e, o) => m.output(`p${o}`, e));
    q.outputs.forEach((e, o) => m.output(`q${o}`, e));
    const sim = new Simulator(m);
    const vectors = [
      { a: 255n, b: -128n, c: 15n },
      { a: 0n, b: 127n, c: 0n },
      { a: 17n, b: -3n, c: 9n },
    ];
    const seen: Array<Record<string, bigint>> = [];
    for (const v of [...vectors, ...Array.from({ length: 4 }, () => vectors[0]!)]) {
      sim.setAll(v);
      seen.push(sim.outputs());
      sim.step();
    }
    vectors.forEach((v, t) => {
      const x3 = [v.a, v.b, v.c];
      W1.forEach((row, o) => expect(seen[t + p.latency]![`p${o}`]).toBe(row.reduce((n, c, i) => n + BigInt(c) * x3[i]!, 0n)));
      expect(seen[t + q.latency]!.q0).toBe(W2[0]!.reduce((n, c, i) => n + BigInt(c) * x3[i]!, 0n));
    });
    expect(p.latency).toBeGreaterThan(0);
    // Exact output ranges: y0 = 3a - 5b over a in [0, 255], b in [-128, 127].
    expect(p.outputRanges[0]).toEqual({ min: -635n, max: 1405n });
    expect(p.outputs[0]!.range).toEqual({ min: -635n, max: 1405n });
  });

  it('emits byte-identical Verilog for identical input', () => {
    const make = () => emitDesign(buildCmvmBlock({ name: 'det', weights: W1, inputRange: { min: 0n, max: 255n }, pipeline: 2 }).module, {}).files;
    expect(make()).toEqual(make());
  });

  it('reports bad input as one clear error', () => {
    const m = new Module('no_clock');
    const x = [m.input('a', u(8))];
    expect(() => emitCmvm(m, x, { weights: [[1]], pipeline: 1 })).toThrow(/needs a clock/);
    expect(() => emitCmvm(m, x, { weights: [[1, 2]] })).toThrow(FixynnError);
    expect(() => buildCmvmBlock({ name: 'bad', weights: [[0.5]], inputRange: { min: 0n, max: 1n } })).toThrow(/not an integer/);
    expect(() => buildCmvmBlock({ name: 'bad', weights: [], inputRange: { min: 0n, max: 1n } })).toThrow(/no rows/);
  });
});
