/**
 * Fixed-weight products plus requantization as two pipeline stages: the constant matrix-vector product
 * (generator/arith's CMVM block, strategy multiply / csd / shared) registered, then the requantization
 * (requant.ts) registered. Every weighted layer (conv, depthwise, pointwise, gemm) goes through here.
 *
 * Zero points are folded into the bias: the block multiplies the raw input values x, not x - zp, and
 * acc = (bias - zp * sum_k w_k) + sum_k w_k x_k. The two forms are equal (docs/arithmetic.md §5) as long
 * as padding inserts zp, which the window does. Folding saves one subtractor per window value and
 * channel; the constant joins the requantization addend for free.
 */
import { buildCmvmBlock, type BlockStrategy, type CmvmSolver } from '../arith/cmvm-block.js';
import { type ConstMatrix, type SolveOptions, adderCount } from '../arith/index.js';
import { type Expr, type Module, constant } from '../hdl/index.js';
import type { Stages } from './layer-module.js';
import { type ChannelRequant, requantize } from './requant.js';

export interface ProductOptions {
  readonly strategy: BlockStrategy;
  /** A register stage every this many adder levels inside the products (0: combinational; needs a credit-mode layer). */
  readonly pipeline?: number;
  /** Greedy runs of the `shared` optimizer per product (generator/arith/shared-search.ts; default by size). */
  readonly effort?: number;
  /** Told after every product block: its name, adders, nonzero weights and seconds (long steps show progress). */
  readonly onProgress?: (message: string) => void;
  /** The adder graphs' solver (default solveCmvm; generate passes the graphs solved ahead on worker threads). */
  readonly solve?: CmvmSolver;
}

/** The inputs some weight uses: only they become block ports (a dead input costs nothing but a port). */
export function usedColumns(matrix: ConstMatrix, inputCount: number): number[] {
  const columns: number[] = [];
  for (let i = 0; i < inputCount; i += 1) if (matrix.some((row) => row[i] !== 0)) columns.push(i);
  return columns;
}

/** The matrix the block is built from (W over the used columns) and the solver's options for it. */
export function productProblem(matrix: ConstMatrix, columns: readonly number[], options: Pick<ProductOptions, 'strategy' | 'effort'>): { matrix: ConstMatrix; options: SolveOptions } {
  return {
    matrix: matrix.map((row) => columns.map((i) => row[i]!)),
    // As emitCmvm asks: `multiply` is costed by its CSD graph.
    options: { strategy: options.strategy === 'multiply' ? 'csd' : options.strategy, ...(options.effort !== undefined ? { effort: options.effort } : {}) },
  };
}

export interface WeightedSpec {
  /** What the product computes, for comments (e.g. `layer 2 'conv3' (Conv 3x3): x<i>, i = (c*3 + ky)*3 + kx`). */
  readonly what: string;
  /** W[output][input] over `inputs` (in the same order). */
  readonly matrix: ConstMatrix;
  readonly bias: readonly number[];
  readonly inputZeroPoint: number;
  readonly requant: {
    readonly multiplier: readonly number[];
    readonly shift: readonly number[];
    readonly outputZeroPoint: number;
    readonly clampMin: number;
    readonly clampMax: number;
    readonly negative?: { readonly multiplier: readonly number[]; readonly shift: readonly number[] };
  };
}

/** Per output channel: bias with the input zero point folded in, and the requantization constants. */
export function channelRequants(spec: WeightedSpec): ChannelRequant[] {
  return spec.matrix.map((row, o) => {
    const weightSum = row.reduce((a, w) => a + BigInt(w), 0n);
    return {
      multiplier: spec.requant.multiplier[o]!,
      shift: spec.requant.shift[o]!,
      accOffset: BigInt(spec.bias[o] ?? 0) - BigInt(spec.inputZeroPoint) * weightSum,
      outputZeroPoint: spec.requant.outputZeroPoint,
      clampMin: spec.requant.clampMin,
      clampMax: spec.requant.clampMax,
      ...(spec.requant.negative ? { negative: { multiplier: spec.requant.negative.multiplier[o]!, shift: spec.requant.negative.shift[o]! } } : {}),
    };
  });
}

/**
 * y = requant(bias' + W x): two registered stages. Returns the output channels. The products are a CMVM
 * block module (role `products`), so the cost model counts their adders apart (docs/costs.md).
 */
export function weightedStage(m: Module, stages: Stages, prefix: string, inputs: readonly Expr[], spec: WeightedSpec, options: ProductOptions): { outputs: Expr[] } {
  const columns = usedColumns(spec.matrix, inputs.length);
  let registeredDots: Expr[];
  if (columns.length === 0) {
    registeredDots = stages.register(`${prefix}dot`, spec.matrix.map(() => constant(0)));
  } else {
    const start = performance.now();
    // A combinational block registers its outputs itself, loading with the stage's valid beats, so
    // that its adder graph is computed on those clocks only; a pipelined one runs freely (credit mode).
    const registered = !stages.freeRunning;
    const block = buildCmvmBlock({
      name: `${m.name}_${prefix}cmvm`,
      weights: productProblem(spec.matrix, columns, options).matrix,
      inputRange: columns.map((i) => ({ min: inputs[i]!.range.min, max: inputs[i]!.range.max })),
      strategy: options.strategy,
      pipeline: options.pipeline ?? 0,
      registerOutputs: registered,
      // Ports keep the column index of W (not the position among used columns): the names a reader
      // computes from a weight's coordinates (README, "Tracing a weight to its adders").
      inputNames: columns.map((i) => `x${i}`),
      ...(options.effort !== undefined ? { shared: { effort: options.effort } } : {}),
      ...(options.solve !== undefined ? { solve: options.solve } : {}),
    });
    if (options.onProgress !== undefined) {
      const nonzero = spec.matrix.reduce((n, row) => n + row.filter((w) => w !== 0).length, 0);
      const adders = block.graph === undefined ? 'no adder graph' : `${adderCount(block.graph)} product adders`;
      options.onProgress(`  ${m.name} ${prefix}cmvm: ${nonzero} nonzero weights, ${adders}, ${((performance.now() - start) / 1000).toFixed(1)} s`);
    }
    const connections: Record<string, Expr> = Object.fromEntries(columns.map((i, k) => [block.inputNames[k]!, inputs[i]!]));
    if (registered) connections.en = stages.load(`${prefix}dot`);
    const inst = m.instance(`${prefix}cmvm`, block.module, connections).describe(
      `${spec.what}\nconstant product (${options.strategy}): y<o> = output channel o = row o of W times x${registered ? ', registered (loads when en)' : ''}`,
    );
    const dots = block.outputNames.map((n) => inst.out(n));
    if (registered) {
      stages.advance(`${prefix}dot`, dots.reduce((n, d) => n + d.width, 0));
      registeredDots = dots;
    } else {
      stages.delayFlags(`${prefix}blk`, block.latency);
      registeredDots = stages.register(`${prefix}dot`, dots);
    }
  }
  const requants = channelRequants(spec);
  const outputs = stages.register(`${prefix}y`, registeredDots.map((d, o) => requantize(d, requants[o]!, { module: m, name: `${prefix}rq${o}` })));
  return { outputs };
}
