/**
 * The plain CSD strategy: every weight becomes its CSD digits, every digit is a shifted (and possibly
 * negated) copy of its input, and each output sums its digits with a balanced tree. No sharing at all:
 * adders = (nonzero CSD digits of the whole matrix) - (nonzero outputs).
 */
import type { AdderGraph, ConstMatrix } from './adder-graph.js';
import { toCsd } from './csd.js';
import { GraphBuilder, type Term } from './graph-builder.js';

/** Every nonzero CSD digit of row `o` as a term on its input. */
export function csdTermsOfRow(row: readonly number[]): Term[] {
  const terms: Term[] = [];
  row.forEach((weight, input) => {
    for (const digit of toCsd(weight)) terms.push({ node: input, shift: digit.shift, sign: digit.sign });
  });
  return terms;
}

export function solveCsd(w: ConstMatrix, inputCount: number): AdderGraph {
  const builder = new GraphBuilder(inputCount, { reuseAdders: false });
  const outputs = w.map((row) => builder.sumTerms(csdTermsOfRow(row)));
  return builder.finish(outputs);
}
