/**
 * LayerGraph -> QuantizedGraph. Two sources of activation quantization:
 *  - a QDQ model (graph.quantized): the model's own scales and zero points, integer weights and biases;
 *  - a float model: per-tensor activation parameters from calibrated ranges (generator/quant/calibrate.ts),
 *    weights symmetric per output channel, biases at accumulator scale.
 * Either way the requantization multipliers come from the same fixed-point rule (fixed-point.ts).
 */
import { badInput } from '../errors.js';
import type { Activation, ConvLayer, GemmLayer, Layer, LayerGraph, Weights } from '../graph/ir.js';
import { chooseMultiplierForOutputs, chooseSharedShift, quantParamsForRange, roundHalfEven, signedBitsFor } from './fixed-point.js';
import type { QLayer, QuantizedGraph, QuantParams, QuantTensor, Requantization } from './ir.js';
import { qRange } from './ir.js';
import { checkQuantizedGraph } from './check.js';

/** A real range per tensor name (every layer output, and the first layer's input tensor). */
export type TensorRanges = ReadonlyMap<string, { readonly min: number; readonly max: number }>;

export interface CalibratedOptions {
  readonly ranges: TensorRanges;
  /** Weight width, 2..16 (default 8). */
  readonly weightBits: number;
  /** Activation width, 2..16 (default 8). */
  readonly actBits: number;
  readonly images: number;
  readonly method: string;
}

/** Quantize a QDQ model with its own parameters. */
export function quantizeQdq(graph: LayerGraph): QuantizedGraph {
  if (!graph.quantized) throw badInput(`${graph.source.file}: not a QDQ model; quantizing a float model needs calibration inputs (--calib)`);
  const tensors = tensorsFrom(graph, (name) => {
    const quant = graph.tensors.get(name)?.quant;
    if (!quant) throw badInput(`${graph.source.file}: tensor '${name}' has no QuantizeLinear/DequantizeLinear pair; a QDQ model must quantize every activation between layers`);
    return { scale: quant.scale, zeroPoint: quant.zeroPoint, bits: quant.bits, signed: quant.signed };
  });
  return assemble(graph, tensors, 'qdq', undefined);
}

/** Quantize a float model from calibrated ranges. */
export function quantizeCalibrated(graph: LayerGraph, options: CalibratedOptions): QuantizedGraph {
  checkBits(options.weightBits, '--weight-bits');
  checkBits(options.actBits, '--act-bits');
  const byName = new Map<string, QuantParams>();
  const quantOf = (name: string): QuantParams => {
    const known = byName.get(name);
    if (known) return known;
    // MaxPool passes values through unchanged: it keeps its input's quantization.
    const producer = graph.layers.find((l) => l.output === name);
    if (producer?.kind === 'maxpool') return remember(name, quantOf(producer.inputs[0] ?? ''));
    const range = options.ranges.get(name);
    if (!range) throw badInput(`${graph.source.file}: no calibration range for tensor '${name}'`);
    return remember(name, quantParamsForRange(range.min, range.max, options.actBits));
  };
  const remember = (name: string, q: QuantParams): QuantParams => { byName.set(name, q); return q; };
  const tensors = tensorsFrom(graph, quantOf);
  const calibration = { images: options.images, method: options.method, weightBits: options.weightBits, actBits: options.actBits };
  return assemble(graph, tensors, 'calibrated', calibration, options.weightBits);
}

function checkBits(bits: number, flag: string): void {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw badInput(`${flag} ${bits}: supported widths are integers 2 to 16`);
}

function tensorsFrom(graph: LayerGraph, quantOf: (name: string) => QuantParams): Record<string, QuantTensor> {
  const names = [graph.firstTensor, ...graph.layers.map((l) => l.output)];
  const tensors: Record<string, QuantTensor> = {};
  for (const name of names) {
    const info = graph.tensors.get(name);
    if (!info) throw badInput(`${graph.source.file}: tensor '${name}' has no shape in the layer graph`);
    tensors[name] = { name, shape: info.shape, quant: quantOf(name) };
  }
  return tensors;
}

function assemble(
  graph: LayerGraph,
  tensors: Record<string, QuantTensor>,
  origin: 'calibrated' | 'qdq',
  calibration: QuantizedGraph['calibration'],
  weightBits?: number,
): QuantizedGraph {
  const quantOf = (name: string): QuantParams => {
    const t = tensors[name];
    if (!t) throw badInput(`${graph.source.file}: layer input '${name}' is not produced by any layer`);
    return t.quant;
  };
  const layers = graph.layers.map((layer) => quantizeLayer(graph, layer, quantOf, weightBits));
  const qg: QuantizedGraph = {
    format: 1,
    source: graph.source,
    origin,
    ...(calibration ? { calibration } : {}),
    input: { name: graph.input.name, shape: graph.input.shape, preprocess: graph.input.preprocess, tensor: graph.firstTensor },
    tensors,
    layers,
    output: graph.output,
    softmaxOutside: graph.softmaxOutside,
  };
  checkQuantizedGraph(qg);
  return qg;
}

type QuantOf = (name: string) => QuantParams;

function quantizeLayer(graph: LayerGraph, layer: Layer, quantOf: QuantOf, weightBits: number | undefined): QLayer {
  const base = { index: layer.index, name: layer.name, nodes: layer.nodes, inputs: layer.inputs, output: layer.output };
  const inQ = quantOf(layer.inputs[0] ?? '');
  const outQ = quantOf(layer.output);
  const what = `${graph.source.file}: layer ${layer.index} '${layer.name}'`;
  switch (layer.kind) {
    case 'conv':
    case 'gemm': {
      const w = integerWeights(layer, inQ, weightBits, what);
      const requant = weightedRequant(inQ, outQ, w.scale, layer.activation, what);
      const common = { ...base, weights: w.ints, weightBits: signedBitsFor(w.ints), weightScale: w.scale, bias: w.bias, inputZeroPoint: inQ.zeroPoint, requant };
      if (layer.kind === 'gemm') {
        const [m, n] = layer.weights.shape;
        return { kind: 'gemm', ...common, weightShape: [m ?? 0, n ?? 0] };
      }
      const [m, c, kh, kw] = layer.weights.shape;
      return {
        kind: 'conv', ...common, weightShape: [m ?? 0, c ?? 0, kh ?? 0, kw ?? 0],
        group: layer.group, kernel: layer.kernel, stride: layer.stride, pads: layer.pads,
      };
    }
    case 'maxpool':
    case 'avgpool': {
      const [kh, kw] = layer.kernel;
      const hasPads = layer.pads.some((p) => p !== 0);
      if (layer.kind === 'avgpool' && hasPads && !layer.countIncludePad) {
        throw badInput(`${what}: AveragePool with padding and count_include_pad=0 is not supported (the divisor would change at the borders); supported: no padding, or count_include_pad=1`);
      }
      const count = layer.kind === 'avgpool' ? kh * kw : 1;
      const channels = outChannels(graph, layer.output);
      const requant = uniformRequant(inQ.scale / (count * outQ.scale), outQ, channels, what);
      return { kind: layer.kind, ...base, kernel: layer.kernel, stride: layer.stride, pads: layer.pads, inputZeroPoint: inQ.zeroPoint, requant };
    }
    case 'globalavgpool': {
      const [channels, h, w] = graph.tensors.get(layer.inputs[0] ?? '')?.shape ?? [0, 0, 0];
      const requant = uniformRequant(inQ.scale / (h * w * outQ.scale), outQ, channels, what);
      return { kind: 'globalavgpool', ...base, inputZeroPoint: inQ.zeroPoint, requant };
    }
    case 'add': {
      const bQ = quantOf(layer.inputs[1] ?? '');
      const shared = chooseSharedShift([inQ.scale / outQ.scale, bQ.scale / outQ.scale], what);
      const channels = outChannels(graph, layer.output);
      const { min, max } = activationClamp(outQ, layer.activation);
      const requant: Requantization = {
        multiplier: new Array<number>(channels).fill(1),
        shift: new Array<number>(channels).fill(shared.shift),
        outputZeroPoint: outQ.zeroPoint, clampMin: min, clampMax: max,
      };
      return {
        kind: 'add', ...base, requant,
        inputZeroPoints: [inQ.zeroPoint, bQ.zeroPoint],
        inputMultipliers: [shared.multipliers[0] ?? 0, shared.multipliers[1] ?? 0],
      };
    }
  }
}

function outChannels(graph: LayerGraph, name: string): number {
  return graph.tensors.get(name)?.shape[0] ?? 0;
}

/** Integer weights, per-channel scales and the integer bias at accumulator scale. */
function integerWeights(layer: ConvLayer | GemmLayer, inQ: QuantParams, weightBits: number | undefined, what: string) {
  const outCount = layer.weights.shape[0] ?? 0;
  const { ints, scale } = weightBits === undefined ? modelIntegers(layer.weights, what) : quantizeWeightsPerChannel(layer.weights.float, outCount, weightBits);
  const bias = layer.weights.biasInt && weightBits === undefined
    ? Array.from(layer.weights.biasInt)
    : Array.from(layer.bias, (b, m) => roundHalfEven(b / (inQ.scale * (scale[m] ?? 1))));
  for (const b of bias) if (!Number.isSafeInteger(b)) throw badInput(`${what}: bias does not fit an exact integer at accumulator scale (|b| >= 2^53)`);
  return { ints, scale, bias };
}

function modelIntegers(weights: Weights, what: string): { ints: number[]; scale: number[] } {
  if (!weights.int || !weights.scale) throw badInput(`${what}: a QDQ model's weights must come through DequantizeLinear (integer weights and scales)`);
  return { ints: Array.from(weights.int), scale: Array.from(weights.scale) };
}

/** Symmetric per-output-channel weights: scale[m] = max|w_m| / (2^(bits-1) - 1). */
export function quantizeWeightsPerChannel(float: Float32Array, outCount: number, bits: number): { ints: number[]; scale: number[] } {
  const perChannel = float.length / outCount;
  const qMax = 2 ** (bits - 1) - 1;
  const ints = new Array<number>(float.length);
  const scale = new Array<number>(outCount);
  for (let m = 0; m < outCount; m++) {
    let largest = 0;
    for (let k = 0; k < perChannel; k++) largest = Math.max(largest, Math.abs(float[m * perChannel + k] ?? 0));
    const s = largest > 0 ? largest / qMax : 1;
    scale[m] = s;
    for (let k = 0; k < perChannel; k++) ints[m * perChannel + k] = roundHalfEven((float[m * perChannel + k] ?? 0) / s);
  }
  return { ints, scale };
}

function weightedRequant(inQ: QuantParams, outQ: QuantParams, weightScale: readonly number[], activation: Activation, what: string): Requantization {
  const { min, max } = activationClamp(outQ, activation);
  const zo = outQ.zeroPoint;
  const fixed = weightScale.map((ws, m) => chooseMultiplierForOutputs((inQ.scale * ws) / outQ.scale, min - zo, max - zo, `${what} channel ${m}`));
  return {
    multiplier: fixed.map((f) => f.multiplier),
    shift: fixed.map((f) => f.shift),
    outputZeroPoint: outQ.zeroPoint, clampMin: min, clampMax: max,
  };
}

function uniformRequant(real: number, outQ: QuantParams, channels: number, what: string): Requantization {
  const { min, max } = qRange(outQ);
  const { multiplier, shift } = chooseMultiplierForOutputs(real, min - outQ.zeroPoint, max - outQ.zeroPoint, what);
  return {
    multiplier: new Array<number>(channels).fill(multiplier),
    shift: new Array<number>(channels).fill(shift),
    outputZeroPoint: outQ.zeroPoint, clampMin: min, clampMax: max,
  };
}

/** The activation as saturation bounds in the output's integer domain. */
export function activationClamp(outQ: QuantParams, activation: Activation): { min: number; max: number } {
  const range = qRange(outQ);
  const toQ = (real: number): number => outQ.zeroPoint + roundHalfEven(real / outQ.scale);
  switch (activation.kind) {
    case 'none': return range;
    case 'relu': return { min: Math.max(range.min, outQ.zeroPoint), max: range.max };
    case 'clip': return {
      min: Number.isFinite(activation.min) ? Math.min(range.max, Math.max(range.min, toQ(activation.min))) : range.min,
      max: Number.isFinite(activation.max) ? Math.max(range.min, Math.min(range.max, toQ(activation.max))) : range.max,
    };
  }
}
