/**
 * Invariants of a LayerGraph, checked after import and after every pass in tests: layers numbered in
 * order, every input produced before use, shapes consistent with each layer's parameters, weight and
 * bias sizes matching, quantization complete in QDQ graphs.
 */
import { badInput } from '../common/errors.js';
import type { Activation, Layer, LayerGraph, TensorInfo, Weights } from './ir.js';

/** Spatial output size of a window op (floor mode, as ONNX's default). */
export function windowOutput(size: number, kernel: number, stride: number, padBegin: number, padEnd: number): number {
  return Math.floor((size + padBegin + padEnd - kernel) / stride) + 1;
}

/** Pixels a window of `kernel` taps spans per axis when its taps are `dilation` pixels apart. */
export function windowSpan(kernel: readonly [number, number], dilation: readonly [number, number] = [1, 1]): [number, number] {
  return [(kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1];
}

export function layerGraphProblems(graph: LayerGraph): string[] {
  const problems: string[] = [];
  const available = new Set([graph.firstTensor]);
  const first = graph.tensors.get(graph.firstTensor);
  if (!first) problems.push(`first tensor "${graph.firstTensor}" is missing from tensors`);
  else if (!sameShape(first.shape, graph.input.shape)) problems.push(`first tensor [${first.shape}] differs from the input [${graph.input.shape}]`);
  const channels = graph.input.shape[0];
  if (graph.input.preprocess.scale.length !== channels || graph.input.preprocess.offset.length !== channels) problems.push(`preprocessing must have ${channels} values per parameter`);
  graph.layers.forEach((layer, i) => {
    const where = `layer ${i} "${layer.name}"`;
    if (layer.index !== i) problems.push(`${where}: index ${layer.index}, expected ${i}`);
    const inputs: TensorInfo[] = [];
    for (const name of layer.inputs) {
      const t = graph.tensors.get(name);
      if (!available.has(name) || !t) problems.push(`${where}: input "${name}" is not produced before use`);
      else inputs.push(t);
    }
    const out = graph.tensors.get(layer.output);
    if (!out) problems.push(`${where}: output "${layer.output}" is missing from tensors`);
    if (available.has(layer.output)) problems.push(`${where}: output "${layer.output}" is produced twice`);
    available.add(layer.output);
    if (out && inputs.length === layer.inputs.length) problems.push(...layerProblems(layer, inputs, out).map((p) => `${where}: ${p}`));
    if (graph.quantized && out && !out.quant) problems.push(`${where}: output has no quantization in a quantized graph`);
  });
  if (!available.has(graph.output)) problems.push(`output "${graph.output}" is not produced by any layer`);
  if (graph.quantized && first && !first.quant) problems.push('first tensor has no quantization in a quantized graph');
  return problems;
}

/** Throws (exit 2, the model is what made the graph inconsistent) listing every broken invariant. */
export function checkLayerGraph(graph: LayerGraph): void {
  const problems = layerGraphProblems(graph);
  if (problems.length > 0) throw badInput(`${graph.source.file}: the imported layer graph is inconsistent:\n  ${problems.slice(0, 10).join('\n  ')}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function layerProblems(layer: Layer, inputs: TensorInfo[], out: TensorInfo): string[] {
  const [c, h, w] = inputs[0]?.shape ?? [0, 0, 0];
  const expectShape = (expected: readonly number[]): string[] => (sameShape(out.shape, expected) ? [] : [`output shape [${out.shape}] differs from the expected [${expected}]`]);
  switch (layer.kind) {
    case 'conv': {
      const [m = 0, cg = 0, kh = 0, kw = 0] = layer.weights.shape;
      const problems = weightProblems(layer.weights, m, layer.bias.length);
      if (cg * layer.group !== c || m % layer.group !== 0) problems.push(`weights [${layer.weights.shape}] with group ${layer.group} do not fit ${c} input channels`);
      if (kh !== layer.kernel[0] || kw !== layer.kernel[1]) problems.push(`kernel [${layer.kernel}] differs from the weights`);
      if (!layer.dilation.every((d) => Number.isInteger(d) && d >= 1)) problems.push(`dilation [${layer.dilation}] is not whole numbers >= 1`);
      const [t, l, b, r] = layer.pads;
      const [sh, sw] = windowSpan(layer.kernel, layer.dilation);
      return [...problems, ...expectShape([m, windowOutput(h, sh, layer.stride[0], t, b), windowOutput(w, sw, layer.stride[1], l, r)]), ...activationProblems(layer.activation)];
    }
    case 'gemm': {
      const [m = 0, n = 0] = layer.weights.shape;
      const problems = weightProblems(layer.weights, m, layer.bias.length);
      if (n !== c * h * w) problems.push(`weights [${layer.weights.shape}] do not fit an input of ${c * h * w} values`);
      return [...problems, ...expectShape([m, 1, 1]), ...activationProblems(layer.activation)];
    }
    case 'maxpool':
    case 'avgpool': {
      const [t, l, b, r] = layer.pads;
      const [sh, sw] = windowSpan(layer.kernel, layer.dilation);
      return expectShape([c, windowOutput(h, sh, layer.stride[0], t, b), windowOutput(w, sw, layer.stride[1], l, r)]);
    }
    case 'globalavgpool': return expectShape([c, 1, 1]);
    case 'add': {
      const second = inputs[1]?.shape ?? [0, 0, 0];
      const problems = sameShape(second, [c, h, w]) ? [] : [`inputs [${c},${h},${w}] and [${second}] differ`];
      return [...problems, ...expectShape([c, h, w]), ...activationProblems(layer.activation)];
    }
  }
}

function weightProblems(weights: Weights, m: number, biasLength: number): string[] {
  const problems: string[] = [];
  const count = weights.shape.reduce((p, d) => p * d, 1);
  if (weights.float.length !== count) problems.push(`${weights.float.length} float weights for shape [${weights.shape}]`);
  if (weights.float.some((v) => !Number.isFinite(v))) problems.push('weights are not all finite');
  if (weights.int && weights.int.length !== count) problems.push(`${weights.int.length} integer weights for shape [${weights.shape}]`);
  if (weights.scale && weights.scale.length !== m) problems.push(`${weights.scale.length} weight scales for ${m} outputs`);
  if (weights.biasInt && weights.biasInt.length !== m) problems.push(`${weights.biasInt.length} integer biases for ${m} outputs`);
  if (biasLength !== m) problems.push(`${biasLength} biases for ${m} outputs`);
  return problems;
}

function activationProblems(activation: Activation): string[] {
  return activation.kind === 'clip' && !(activation.min <= activation.max) ? [`clip bounds ${activation.min} > ${activation.max}`] : [];
}
