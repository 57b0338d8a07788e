import { describe, expect, it } from 'vitest';
import { type AdderGraph, analyzeCost, linearInterval, nodeDelays, solveCmvm, widthOf } from '../../generator/arith/index.js';

const byte = { min: 0n, max: 255n };

describe('cost model', () => {
  it('widths hold exactly the interval', () => {
    expect(widthOf({ min: 0n, max: 255n })).toEqual({ width: 8, signed: false });
    expect(widthOf({ min: 0n, max: 256n })).toEqual({ width: 9, signed: false });
    expect(widthOf({ min: -128n, max: 127n })).toEqual({ width: 8, signed: true });
    expect(widthOf({ min: -129n, max: 0n })).toEqual({ width: 9, signed: true });
    expect(widthOf({ min: -1n, max: 128n })).toEqual({ width: 9, signed: true });
    expect(widthOf({ min: 0n, max: 0n })).toEqual({ width: 1, signed: false });
  });

  it('intervals of linear forms are exact over the input box', () => {
    expect(linearInterval([3n, -5n], [byte, byte])).toEqual({ min: -1275n, max: 765n });
  });

  it('counts adders, bits and depth of y = 3x0 - 5x1 (hand-computed)', () => {
    // CSD: 3x0 = 4x0 - x0, 5x1 = 4x1 + x1: three adders at depth 2.
    const graph = solveCmvm([[3, -5]], 2, { strategy: 'csd' });
    const cost = analyzeCost(graph, [byte, byte]);
    expect(cost.adders).toBe(3);
    expect(cost.depth).toBe(2);
    expect(cost.outputWidths).toEqual([12]);
    expect(cost.latency).toBe(0);
    expect(cost.registerBits).toBe(0);
    expect(cost.adderBits).toBeGreaterThan(0);
  });

  it('pipelining: registers every N levels, delays balanced, latency = ceil(depth / N)', () => {
    // y = x0 + x1 + x2 + x3 (depth 2) and z = x0 (depth 0).
    const graph: AdderGraph = solveCmvm(
      [
        [1, 1, 1, 1],
        [1, 0, 0, 0],
      ],
      4,
      { strategy: 'csd' },
    );
    const every1 = analyzeCost(graph, [byte, byte, byte, byte], 1);
    expect(every1.latency).toBe(2);
    // Stage 0: two 9-bit sums registered (18 bits); stage 1: the 10-bit sum registered at the output;
    // x0 is an output too, delayed 2 cycles (16 bits).
    expect(every1.registerBits).toBe(18 + 10 + 16);
    const every2 = analyzeCost(graph, [byte, byte, byte, byte], 2);
    expect(every2.latency).toBe(1);
    expect(every2.registerBits).toBe(10 + 8);
    expect(nodeDelays(graph, 0).every((d) => d === 0)).toBe(true);
  });
});
