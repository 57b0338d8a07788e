/**
 * Multiplierless constant arithmetic: y = W x for a constant matrix W as an adder graph.
 * Strategies: `csd` (no sharing), `per-input` (shared constant multiplication per input),
 * `shared` (cross-input common subexpressions on top; the default).
 */
import type { AdderGraph, ConstMatrix } from './adder-graph.js';
import { badInput } from '../common/errors.js';
import { solveCsd } from './strategy-csd.js';
import { solvePerInput } from './strategy-per-input.js';
import { solveShared, type SharedOptions } from './shared-search.js';

export * from './adder-graph.js';
export * from './csd.js';
export * from './cost.js';
export { perInputBound } from './strategy-per-input.js';

export const GRAPH_STRATEGIES = ['csd', 'per-input', 'shared'] as const;
export type GraphStrategy = (typeof GRAPH_STRATEGIES)[number];

export interface SolveOptions extends SharedOptions {
  readonly strategy?: GraphStrategy;
}

/** Checks the matrix shape and entries before any optimizer sees it. */
export function checkMatrix(w: ConstMatrix, inputCount: number, where = 'constant matrix'): void {
  if (!Number.isInteger(inputCount) || inputCount < 0) throw badInput(`${where}: input count ${inputCount} must be a whole number >= 0`);
  w.forEach((row, o) => {
    if (row.length !== inputCount) throw badInput(`${where}: row ${o} has ${row.length} weights, expected ${inputCount} (one per input)`);
    row.forEach((c, i) => {
      if (!Number.isSafeInteger(c) || Math.abs(c) >= 2 ** 40) {
        throw badInput(`${where}: weight [${o}][${i}] = ${c} is not an integer of at most 40 bits (supported: integer weights)`);
      }
    });
  });
}

export function solveCmvm(w: ConstMatrix, inputCount: number, options: SolveOptions = {}): AdderGraph {
  checkMatrix(w, inputCount);
  switch (options.strategy ?? 'shared') {
    case 'csd':
      return solveCsd(w, inputCount);
    case 'per-input':
      return solvePerInput(w, inputCount);
    case 'shared':
      return solveShared(w, inputCount, options);
  }
}

/** W stored [inputs, outputs] (y = x @ W, the layout of the .npy benchmark files) as W[output][input]. */
export function fromInputMajor(data: ArrayLike<number>, inputs: number, outputs: number): number[][] {
  return Array.from({ length: outputs }, (_, o) => Array.from({ length: inputs }, (_, i) => data[i * outputs + o]!));
}

/** A seeded random integer matrix: `zeroFraction` of the weights exactly zero, the rest in [-max, max] \ {0}. */
export function randomMatrix(rows: number, cols: number, maxAbs: number, zeroFraction: number, random: () => number): number[][] {
  const cells = rows * cols;
  const zeros = new Set<number>();
  const order = Array.from({ length: cells }, (_, k) => k);
  for (let k = cells - 1; k > 0; k -= 1) {
    const j = Math.floor(random() * (k + 1));
    [order[k], order[j]] = [order[j]!, order[k]!];
  }
  order.slice(0, Math.round(cells * zeroFraction)).forEach((k) => zeros.add(k));
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => {
      if (zeros.has(r * cols + c)) return 0;
      const magnitude = 1 + Math.floor(random() * maxAbs);
      return random() < 0.5 ? -magnitude : magnitude;
    }),
  );
}
