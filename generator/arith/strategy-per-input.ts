/**
 * Per-input shared constant multiplication: for each input, one MCM graph makes every odd fundamental
 * the outputs need from it; each product is then a fundamental shifted and signed (wiring), and each
 * output sums its products with a depth-balanced tree. Sharing stops at the input boundary; the
 * cross-input strategy (strategy-shared.ts) goes further.
 */
import type { AdderGraph, ConstMatrix } from './adder-graph.js';
import { GraphBuilder, type Term } from './graph-builder.js';
import { oddPart, solveMcm } from './mcm.js';

/** Node ids of every odd fundamental of one input, the input itself being fundamental 1. */
export function buildInputFundamentals(builder: GraphBuilder, input: number, constants: readonly number[]): Map<number, number> {
  const nodeOf = new Map<number, number>([[1, input]]);
  const odd = [...new Set(constants.map((c) => oddPart(c).odd).filter((v) => v > 1))].sort((a, b) => a - b);
  for (const step of solveMcm(odd)) {
    const node = builder.add(
      { node: nodeOf.get(step.a)!, shift: step.sa, negate: false },
      { node: nodeOf.get(step.b)!, shift: step.sb, negate: step.negateB },
      step.rshift,
    );
    nodeOf.set(step.value, node);
  }
  return nodeOf;
}

export function solvePerInput(w: ConstMatrix, inputCount: number): AdderGraph {
  const builder = new GraphBuilder(inputCount, { reuseAdders: true });
  const fundamentals: Map<number, number>[] = [];
  for (let i = 0; i < inputCount; i += 1) {
    fundamentals.push(buildInputFundamentals(builder, i, w.map((row) => row[i]!).filter((c) => c !== 0)));
  }
  const outputs = w.map((row) => {
    const terms: Term[] = [];
    row.forEach((weight, input) => {
      if (weight === 0) return;
      const { odd, shift } = oddPart(weight);
      terms.push({ node: fundamentals[input]!.get(odd)!, shift, sign: weight < 0 ? -1 : 1 });
    });
    return builder.sumTerms(terms);
  });
  return builder.finish(outputs);
}

/**
 * The lower bound of any per-input sharing scheme (DESIGN.md): every nonzero weight costs one addition
 * into its sum ((nonzero weights) - (nonzero outputs)) plus one adder per distinct odd |w| > 1 per input.
 */
export function perInputBound(w: ConstMatrix, inputCount: number): number {
  let sums = 0;
  for (const row of w) {
    const nonzero = row.filter((c) => c !== 0).length;
    if (nonzero > 0) sums += nonzero - 1;
  }
  let fundamentals = 0;
  for (let i = 0; i < inputCount; i += 1) {
    fundamentals += new Set(w.map((row) => oddPart(row[i]!).odd).filter((v) => v > 1)).size;
  }
  return sums + fundamentals;
}
