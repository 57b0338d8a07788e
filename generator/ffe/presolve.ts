/**
 * The constant products of the fixed layers, listed before the hardware is built, so that generate can
 * solve their adder graphs on worker threads and through the cache (generator/arith/solve-pool.ts), then
 * build the (synchronous) design from the graphs solved ahead. The list only saves time: a product it
 * misses is solved in place, so it cannot change the design, only how long it takes.
 */
import type { SolveJob } from '../arith/solve-pool.js';
import type { BlockStrategy } from '../arith/cmvm-block.js';
import type { QuantizedGraph } from '../quant/ir.js';
import { streamOfTensor } from '../contract/stream.js';
import { convMatrix } from './conv.js';
import { gemmAsPointwise } from './gemm.js';
import { foldRawInput } from './raw-input.js';
import { productProblem, usedColumns } from './products.js';

export interface ProductJobOptions {
  readonly fixedLayers: number;
  readonly strategy: BlockStrategy;
  readonly effort?: number;
  readonly rawInput?: boolean;
}

/** One job per weighted layer among the first `fixedLayers` (the matrix its CMVM block will solve). */
export function productJobs(source: QuantizedGraph, options: ProductJobOptions): SolveJob[] {
  const graph = options.rawInput === true ? foldRawInput(source) : source;
  const jobs: SolveJob[] = [];
  for (const layer of graph.layers.slice(0, options.fixedLayers)) {
    const tensor = graph.tensors[layer.inputs[0] ?? ''];
    if (tensor === undefined) continue;
    let conv;
    if (layer.kind === 'conv') conv = layer;
    else if (layer.kind === 'gemm') {
      try {
        conv = gemmAsPointwise(layer, streamOfTensor(tensor));
      } catch {
        continue; // the build reports an unsupported Gemm
      }
    } else continue;
    const matrix = convMatrix(conv, conv.weightShape[1] * conv.group);
    const inputs = matrix[0]?.length ?? 0;
    const columns = usedColumns(matrix, inputs);
    if (columns.length === 0) continue;
    const problem = productProblem(matrix, columns, options);
    jobs.push({ name: `layer ${layer.index} '${layer.name}' (${matrix.length}x${columns.length})`, matrix: problem.matrix, options: problem.options });
  }
  return jobs;
}
