import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AdderGraph,
  GRAPH_STRATEGIES,
  adderCount,
  checkGraph,
  evaluateGraph,
  graphDepth,
  perInputBound,
  printGraph,
  solveCmvm,
  toCsd,
  verifySolution,
} from '../../generator/arith/index.js';
import { GraphBuilder } from '../../generator/arith/graph-builder.js';
import { oddPart, solveMcm } from '../../generator/arith/mcm.js';
import { buildInputFundamentals } from '../../generator/arith/strategy-per-input.js';
import { nodeCoefficients } from '../../generator/arith/adder-graph.js';
import { FULL } from '../helpers/env.js';


/** Random matrices: various sizes, about 30% zeros, negative values, 8-bit by default. */
function matrixArbitrary(maxAbs = 127, maxRows = 12, maxCols = 12) {
  return fc
    .record({ rows: fc.integer({ min: 1, max: maxRows }), cols: fc.integer({ min: 1, max: maxCols }) })
    .chain(({ rows, cols }) =>
      fc.array(
        fc.array(
          fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 7, arbitrary: fc.integer({ min: -maxAbs, max: maxAbs }) }),
          { minLength: cols, maxLength: cols },
        ),
        { minLength: rows, maxLength: rows },
      ),
    );
}

describe('constant matrix-vector strategies', () => {
  for (const strategy of GRAPH_STRATEGIES) {
    it(`${strategy}: every solution for random 8-bit matrices passes verifySolution`, () => {
      fc.assert(
        fc.property(matrixArbitrary(), (w) => {
          const graph = solveCmvm(w, w[0]!.length, { strategy });
          const verdict = verifySolution(w, graph, { randomVectors: 4 });
          expect(verdict).toEqual({ ok: true });
        }),
        { numRuns: FULL ? 400 : 60 },
      );
    });

    it(`${strategy}: wide constants (16 bits) and tall shapes are exact too`, () => {
      fc.assert(
        fc.property(matrixArbitrary(32767, 6, 20), (w) => {
          const graph = solveCmvm(w, w[0]!.length, { strategy });
          expect(verifySolution(w, graph, { randomVectors: 2, inputMin: -128, inputMax: 127 })).toEqual({ ok: true });
        }),
        { numRuns: FULL ? 100 : 15 },
      );
    });
  }

  it('csd needs exactly (CSD digits) - (nonzero outputs) adders; the sharing strategies never need more', () => {
    fc.assert(
      fc.property(matrixArbitrary(), (w) => {
        const inputs = w[0]!.length;
        const digits = w.flat().reduce((n, c) => n + toCsd(c).length, 0);
        const nonzeroRows = w.filter((row) => row.some((c) => c !== 0)).length;
        const csd = adderCount(solveCmvm(w, inputs, { strategy: 'csd' }));
        expect(csd).toBe(digits - nonzeroRows);
        expect(adderCount(solveCmvm(w, inputs, { strategy: 'per-input' }))).toBeLessThanOrEqual(csd);
        expect(adderCount(solveCmvm(w, inputs, { strategy: 'shared' }))).toBeLessThanOrEqual(csd);
      }),
      { numRuns: FULL ? 200 : 40 },
    );
  });

  it('shares across inputs: a repeated pair x0 + 3 x1 costs its adders once', () => {
    // Four outputs all contain x0 + 3 x1 (plus one distinct term each).
    const w = [
      [1, 3, 0, 0],
      [1, 3, 1, 0],
      [1, 3, 0, 1],
      [2, 6, 1, 1],
    ];
    const graph = solveCmvm(w, 4, { strategy: 'shared' });
    expect(verifySolution(w, graph)).toEqual({ ok: true });
    // 3 x1 (1 adder) + x0 + 3x1 (1) + outputs 1, 2 (1 each) + output 3: (x2 + x3) + pattern<<1 (2).
    expect(adderCount(graph)).toBeLessThanOrEqual(6);
    expect(adderCount(solveCmvm(w, 4, { strategy: 'csd' }))).toBeGreaterThan(adderCount(graph));
  });

  it('shared keeps the depth limit by construction: default = the plain balanced sum depth, or as given', () => {
    fc.assert(
      fc.property(matrixArbitrary(127, 16, 16), fc.integer({ min: 0, max: 3 }), (w, slack) => {
        const inputs = w[0]!.length;
        const least = graphDepth(solveCmvm(w, inputs, { strategy: 'csd' }));
        const graph = solveCmvm(w, inputs, { strategy: 'shared', depthSlack: slack, effort: 2 });
        expect(graphDepth(graph)).toBeLessThanOrEqual(least + slack);
        expect(verifySolution(w, graph)).toEqual({ ok: true });
      }),
      { numRuns: FULL ? 100 : 25 },
    );
  });

  it('shared with input blocks (the large-matrix mode) is exact, keeps the depth limit, and shares within a block', () => {
    fc.assert(
      fc.property(matrixArbitrary(127, 16, 16), fc.integer({ min: 1, max: 5 }), (w, blockSize) => {
        const inputs = w[0]!.length;
        const least = graphDepth(solveCmvm(w, inputs, { strategy: 'csd' }));
        const graph = solveCmvm(w, inputs, { strategy: 'shared', blockSize, lookahead: 1, effort: 1 });
        expect(graphDepth(graph)).toBeLessThanOrEqual(least);
        expect(verifySolution(w, graph)).toEqual({ ok: true });
        expect(adderCount(graph)).toBeLessThanOrEqual(adderCount(solveCmvm(w, inputs, { strategy: 'csd' })));
      }),
      { numRuns: FULL ? 100 : 25 },
    );
    // x0 + 3 x1 in four outputs: inputs 0 and 1 share a block of 2, so the pair is built once.
    const w = [[1, 3, 0, 0], [1, 3, 5, 0], [1, 3, 0, 7], [1, 3, 5, 7]];
    const sharedPair = solveCmvm(w, 4, { strategy: 'shared', blockSize: 2, lookahead: 1, effort: 1, depthSlack: 2 });
    expect(verifySolution(w, sharedPair)).toEqual({ ok: true });
    expect(adderCount(sharedPair)).toBeLessThan(adderCount(solveCmvm(w, 4, { strategy: 'csd' })));
  });

  it('zero rows, zero matrices and powers of two cost nothing', () => {
    const w = [
      [0, 0, 0],
      [4, 0, 0],
      [0, -1, 0],
    ];
    for (const strategy of GRAPH_STRATEGIES) {
      const graph = solveCmvm(w, 3, { strategy });
      expect(adderCount(graph)).toBe(0);
      expect(graph.outputs[0]).toEqual({ kind: 'zero' });
      expect(evaluateGraph(graph, [5n, 7n, 9n])).toEqual([0n, 20n, -7n]);
    }
  });

  it('balances the sum: depth of a 16-term sum is 4', () => {
    const w = [Array.from({ length: 16 }, () => 1)];
    const graph = solveCmvm(w, 16, { strategy: 'csd' });
    expect(graphDepth(graph)).toBe(4);
  });

  it('per-input bound: per-input sharing reaches it on a single row of distinct odd constants one adder apart', () => {
    const w = [[3, 5, 7, 9]];
    expect(perInputBound(w, 4)).toBe(3 + 4);
    expect(adderCount(solveCmvm(w, 4, { strategy: 'per-input' }))).toBe(7);
  });
});

describe('shared constant multiplication of one input (MCM)', () => {
  it('yields every required product for random constant sets', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -4095, max: 4095 }), { minLength: 1, maxLength: 24 }), (constants) => {
        const builder = new GraphBuilder(1, { reuseAdders: true });
        const nodeOf = buildInputFundamentals(builder, 0, constants.filter((c) => c !== 0));
        const graph: AdderGraph = builder.finish([]);
        expect(checkGraph(graph)).toEqual([]);
        const coefficients = nodeCoefficients({ ...graph, nodes: builder.nodes });
        for (const c of constants) {
          if (c === 0) continue;
          const { odd } = oddPart(c);
          const node = nodeOf.get(odd);
          expect(node, `fundamental ${odd} of ${c}`).toBeDefined();
          expect(coefficients[node!]![0]).toBe(BigInt(odd));
        }
      }),
      { numRuns: FULL ? 300 : 80 },
    );
  });

  it('needs at most as many adders as the CSD forms, and one per constant for a chain 3, 5, 7, 9, 15', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 127 }).map((v) => v * 2 + 1), { maxLength: 20 }), (odd) => {
        const csd = odd.reduce((n, v) => n + toCsd(v).length - 1, 0);
        expect(solveMcm(odd).length).toBeLessThanOrEqual(csd);
      }),
    );
    expect(solveMcm([3, 5, 7, 9, 15]).length).toBe(5);
  });
});

describe('verifySolution rejects wrong graphs', () => {
  const w = [
    [3, -5],
    [0, 7],
  ];
  const good = solveCmvm(w, 2, { strategy: 'shared' });

  it('a flipped sign is found on the unit vectors', () => {
    const outputs = good.outputs.map((o, k) => (k === 0 && o.kind === 'term' ? { ...o, negate: !o.negate } : o));
    const verdict = verifySolution(w, { ...good, outputs });
    expect(verdict.ok).toBe(false);
  });

  it('an inexact right shift is reported, not rounded', () => {
    const graph: AdderGraph = {
      inputCount: 1,
      nodes: [{ kind: 'input', index: 0 }, { kind: 'add', a: { node: 0, shift: 0, negate: false }, b: { node: 0, shift: 1, negate: false }, rshift: 1 }],
      outputs: [{ kind: 'term', node: 1, shift: 0, negate: false }],
    };
    const verdict = verifySolution([[1]], graph);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(/right shift/);
  });

  it('a forward reference is a malformed graph', () => {
    const graph: AdderGraph = {
      inputCount: 1,
      nodes: [{ kind: 'input', index: 0 }, { kind: 'add', a: { node: 1, shift: 0, negate: false }, b: { node: 0, shift: 1, negate: false }, rshift: 0 }],
      outputs: [{ kind: 'term', node: 1, shift: 0, negate: false }],
    };
    expect(verifySolution([[3]], graph).ok).toBe(false);
  });

  it('prints a readable text form', () => {
    const text = printGraph(solveCmvm([[3]], 1, { strategy: 'csd' }));
    expect(text).toBe('adder-graph inputs=1 adders=1 depth=1\nn0 = x0\nn1 = -n0 + n0<<2\ny0 = n1\n');
  });
});
