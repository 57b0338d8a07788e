import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adderCount, graphDepth, solveCmvm, verifySolution } from '../../generator/arith/index.js';
import { solveDecomposed } from '../../generator/arith/strategy-decomposed.js';
import { FULL } from '../helpers/env.js';


/** Rows that are small perturbations of a few base rows (up to sign): what similar filters look like. */
const similarRows = fc
  .record({
    cols: fc.integer({ min: 2, max: 14 }),
    bases: fc.integer({ min: 1, max: 3 }),
    rows: fc.integer({ min: 3, max: 12 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map(({ cols, bases, rows, seed }) => {
    let state = seed;
    const next = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const base = Array.from({ length: bases }, () => Array.from({ length: cols }, () => Math.floor(next() * 255) - 127));
    return Array.from({ length: rows }, (_, r) => {
      const b = base[r % bases]!;
      const s = next() < 0.5 ? -1 : 1;
      return b.map((c) => Math.max(-127, Math.min(127, s * c + (next() < 0.2 ? Math.floor(next() * 9) - 4 : 0))));
    });
  });

describe('output differencing', () => {
  it('builds near-duplicate rows from each other: exact, within the depth limit, fewer adders than CSD', () => {
    let decomposed = 0;
    fc.assert(
      fc.property(similarRows, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), (w, slack, maxChain) => {
        const inputs = w[0]!.length;
        const least = graphDepth(solveCmvm(w, inputs, { strategy: 'csd' }));
        const limit = least + slack;
        const graph = solveDecomposed(w, inputs, limit, maxChain, { rule: 'weighted', maxDepth: limit, lookahead: 8 });
        if (graph === undefined) return;
        decomposed += 1;
        expect(verifySolution(w, graph)).toEqual({ ok: true });
        expect(graphDepth(graph)).toBeLessThanOrEqual(limit);
        expect(adderCount(graph)).toBeLessThan(adderCount(solveCmvm(w, inputs, { strategy: 'csd' })));
      }),
      { numRuns: FULL ? 200 : 40 },
    );
    // Most of these matrices have rows worth linking: the property must not hold vacuously.
    expect(decomposed).toBeGreaterThan(FULL ? 50 : 10);
  });

  it('links an exact negated duplicate row for free and a near duplicate with one adder', () => {
    const row = [93, -77, 45, 101, -119, 57];
    const w = [row, row.map((c) => -c), row.map((c, i) => (i === 0 ? c + 1 : c))];
    const alone = adderCount(solveCmvm([row], 6, { strategy: 'shared' }));
    const graph = solveDecomposed(w, 6, 8, 2, { rule: 'weighted', maxDepth: 8 });
    expect(graph).toBeDefined();
    expect(verifySolution(w, graph!)).toEqual({ ok: true });
    // Row 1 is -row 0 (wiring); row 2 = row 0 + x0 (one adder).
    expect(adderCount(graph!)).toBeLessThanOrEqual(alone + 1);
  });
});
