/**
 * Per-layer figures for reports: parameters (weights plus one bias per output channel), nonzero
 * weights (the constants a fixed layer has to build), and MACs per image (multiply-accumulates of the
 * weighted layers; pools and residual Adds perform no multiplications by weights and count 0).
 */
import type { Layer, LayerGraph } from './ir.js';

export interface LayerStats {
  readonly parameters: number;
  readonly nonzeroWeights: number;
  readonly macs: number;
}

export function layerStats(graph: LayerGraph, layer: Layer): LayerStats {
  if (layer.kind !== 'conv' && layer.kind !== 'gemm') return { parameters: 0, nonzeroWeights: 0, macs: 0 };
  const w = layer.weights;
  const values: ArrayLike<number> = w.int ?? w.float;
  let nonzero = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) nonzero++;
  const parameters = values.length + layer.bias.length;
  if (layer.kind === 'gemm') return { parameters, nonzeroWeights: nonzero, macs: values.length };
  const out = graph.tensors.get(layer.output)?.shape ?? [0, 0, 0];
  // Each output value needs one MAC per weight of its output channel: (C/group) * kH * kW.
  return { parameters, nonzeroWeights: nonzero, macs: out[1] * out[2] * values.length };
}

export function totalStats(graph: LayerGraph): LayerStats {
  return graph.layers.map((l) => layerStats(graph, l)).reduce(
    (a, b) => ({ parameters: a.parameters + b.parameters, nonzeroWeights: a.nonzeroWeights + b.nonzeroWeights, macs: a.macs + b.macs }),
    { parameters: 0, nonzeroWeights: 0, macs: 0 },
  );
}
