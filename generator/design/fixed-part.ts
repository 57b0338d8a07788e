/**
 * The fixed part of a quantized network: layers 0..K-1 as a QuantizedGraph of their own, whose output is
 * the one tensor crossing the cut. This is what a design's manifest stores (a later `compile --chip`
 * reloads the front end's quantization from it) and what `verify` runs in the integer model.
 */
import { badInput } from '../common/errors.js';
import { checkQuantizedGraph } from '../quant/check.js';
import type { QuantizedGraph, QuantTensor } from '../quant/ir.js';

export function fixedPartOf(graph: QuantizedGraph, k: number): QuantizedGraph {
  if (!Number.isInteger(k) || k < 1 || k > graph.layers.length) {
    throw badInput(`${graph.source.file}: --fixed-layers must fix 1 to ${graph.layers.length} layers for a generated design (got ${k})`);
  }
  const layers = graph.layers.slice(0, k);
  const output = outputOfCut(graph, k);
  const used = new Set([graph.input.tensor, ...layers.flatMap((l) => [...l.inputs, l.output])]);
  const tensors: Record<string, QuantTensor> = {};
  for (const name of [...used].sort()) {
    const tensor = graph.tensors[name];
    if (tensor) tensors[name] = tensor;
  }
  const part: QuantizedGraph = { ...graph, layers, tensors, output, softmaxOutside: false };
  checkQuantizedGraph(part);
  return part;
}

/** The single tensor produced before layer k that the rest of the network (or the output) reads. */
function outputOfCut(graph: QuantizedGraph, k: number): string {
  const produced = new Set([graph.input.tensor, ...graph.layers.slice(0, k).map((l) => l.output)]);
  const readLater = new Set([...graph.layers.slice(k).flatMap((l) => l.inputs), graph.output]);
  const crossing = [...produced].filter((t) => readLater.has(t));
  if (crossing.length !== 1) {
    throw badInput(`${graph.source.file}: cutting after ${k} layers crosses ${crossing.length} tensors (${crossing.join(', ')}); choose a valid split point (fixynn inspect lists them)`);
  }
  return crossing[0] as string;
}
