/**
 * LayerGraph -> QuantizedGraph. Two sources of activation quantization:
 *  - a QDQ model (graph.quantized): the model's own scales and zero points, integer weights and biases;
 *  - a float model: per-tensor activation parameters from calibrated ranges (generator/quant/calibrate.ts),
 *    weights symmetric per output channel, biases at accumulator scale.
 * Either way the requantization multipliers come from the same fixed-point rule (fixed-point.ts).
 */
import { badInput } from '../common/errors.js';
import type { Activation, ConvLayer, GemmLayer, Layer, LayerGraph, PoolLayer, Weights } from '../graph/ir.js';
import {
  MULTIPLIER_BITS_MAX, MULTIPLIER_BITS_MIN, type FixedMultiplier, chooseMultiplierForOutputs, chooseMultiplierReproducing, chooseSharedShift,
  onnxRuntimeRequant, onnxRuntimeScale, quantParamsForRange, roundHalfEven, signedBitsFor,
} from './fixed-point.js';
import type { QLayer, QuantizedGraph, QuantParams, QuantTensor, Requantization } from './ir.js';
import { qRange, tapsInside } from './ir.js';
import { checkQuantizedGraph } from './check.js';

/** A real range per tensor name (every layer output, and the first layer's input tensor). */
export type TensorRanges = ReadonlyMap<string, { readonly min: number; readonly max: number }>;

export interface CalibratedOptions {
  readonly ranges: TensorRanges;
  /** Weight width, 2..16 (default 8). */
  readonly weightBits: number;
  /** Activation width, 2..16 (default 8). */
  readonly actBits: number;
  /** Tensors given another width than actBits (`--wide-acts`, generator/quant/wide-acts.ts): name -> bits. */
  readonly tensorBits?: ReadonlyMap<string, number>;
  readonly images: number;
  readonly method: string;
  /** With method 'auto': the rule chosen per tensor (recorded in the calibration facts). */
  readonly tensorMethods?: Readonly<Record<string, string>>;
  readonly methodErrors?: Readonly<Record<string, number>>;
  /** Recorded in the graph's calibration facts (the correction itself is done by the caller or channelMeans). */
  readonly biasCorrection?: string;
  /**
   * Mean of every channel of each layer's input over the calibration images. When given, each bias is
   * corrected for the mean output shift its quantized weights cause, sum_k (w_q - w)[m,k] * mean(x_k)
   * (bias correction, Nagel et al. 2019): rounding errors of the weights otherwise add a systematic
   * offset per channel that grows through the network.
   */
  readonly channelMeans?: ReadonlyMap<string, ArrayLike<number>>;
  /** Force every M to this many bits (8..32); default 16 for a calibrated model. */
  readonly requantBits?: number;
  /**
   * Tensors whose quantization is given rather than calibrated: a chip's frozen front end (`compile --chip`
   * takes the fixed part's scales and zero points from the chip's manifest; only the rest is calibrated).
   */
  readonly fixedTensors?: ReadonlyMap<string, QuantParams>;
}

export interface QdqOptions {
  /** Force every M to this many bits (8..32); default: per channel, the fewest that reproduce ONNX Runtime. */
  readonly requantBits?: number;
}

/** Quantize a QDQ model with its own parameters. */
export function quantizeQdq(graph: LayerGraph, options: QdqOptions = {}): QuantizedGraph {
  checkRequantBits(options.requantBits);
  if (!graph.quantized) throw badInput(`${graph.source.file}: not a QDQ model; quantizing a float model needs calibration inputs (--calib)`);
  const tensors = tensorsFrom(graph, (name) => {
    const quant = graph.tensors.get(name)?.quant;
    if (!quant) throw badInput(`${graph.source.file}: tensor '${name}' has no QuantizeLinear/DequantizeLinear pair; a QDQ model must quantize every activation between layers`);
    return { scale: quant.scale, zeroPoint: quant.zeroPoint, bits: quant.bits, signed: quant.signed };
  });
  return assemble(graph, tensors, 'qdq', undefined, { reproduceOrt: true, bits: options.requantBits });
}

/** Quantize a float model from calibrated ranges. */
export function quantizeCalibrated(graph: LayerGraph, options: CalibratedOptions): QuantizedGraph {
  checkBits(options.weightBits, '--weight-bits');
  checkBits(options.actBits, '--act-bits');
  checkRequantBits(options.requantBits);
  const byName = new Map<string, QuantParams>();
  const quantOf = (name: string): QuantParams => {
    const known = byName.get(name) ?? options.fixedTensors?.get(name);
    if (known) return known;
    // MaxPool passes values through unchanged: it keeps its input's quantization.
    const producer = graph.layers.find((l) => l.output === name);
    if (producer?.kind === 'maxpool') return remember(name, quantOf(producer.inputs[0] ?? ''));
    const range = options.ranges.get(name);
    if (!range) throw badInput(`${graph.source.file}: no calibration range for tensor '${name}'`);
    return remember(name, quantParamsForRange(range.min, range.max, options.tensorBits?.get(name) ?? options.actBits));
  };
  const remember = (name: string, q: QuantParams): QuantParams => { byName.set(name, q); return q; };
  for (const [name, bits] of options.tensorBits ?? []) checkBits(bits, `--wide-acts ${name}`);
  const tensors = tensorsFrom(graph, quantOf);
  // The widths given per tensor, as they came out (a given front-end tensor keeps its own).
  const widened = [...(options.tensorBits ?? [])].filter(([name]) => !options.fixedTensors?.has(name));
  const calibration = {
    images: options.images, method: options.method, weightBits: options.weightBits, actBits: options.actBits,
    ...(widened.length > 0 ? { tensorBits: Object.fromEntries(widened) } : {}),
    ...(options.biasCorrection !== undefined ? { biasCorrection: options.biasCorrection } : {}),
    ...(options.tensorMethods !== undefined ? { tensorMethods: options.tensorMethods } : {}),
    ...(options.methodErrors !== undefined ? { methodErrors: options.methodErrors } : {}),
  };
  return assemble(graph, tensors, 'calibrated', calibration, { reproduceOrt: false, bits: options.requantBits }, options.weightBits, options.channelMeans);
}

function checkRequantBits(bits: number | undefined): void {
  if (bits === undefined) return;
  if (!Number.isInteger(bits) || bits < MULTIPLIER_BITS_MIN || bits > MULTIPLIER_BITS_MAX) {
    throw badInput(`--requant-bits ${bits}: supported widths of M are integers ${MULTIPLIER_BITS_MIN} to ${MULTIPLIER_BITS_MAX}`);
  }
}

/**
 * How M is chosen: for a QDQ model, per channel the fewest bits that reproduce ONNX Runtime's
 * requantization over the channel's reachable accumulators; for a calibrated model, 16 bits (there is no
 * reference rounding to reproduce). `bits` forces the width.
 */
interface MultiplierChoice {
  readonly reproduceOrt: boolean;
  readonly bits: number | undefined;
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
  choice: MultiplierChoice,
  weightBits?: number,
  channelMeans?: ReadonlyMap<string, ArrayLike<number>>,
): QuantizedGraph {
  const quantOf = (name: string): QuantParams => {
    const t = tensors[name];
    if (!t) throw badInput(`${graph.source.file}: layer input '${name}' is not produced by any layer`);
    return t.quant;
  };
  const layers = graph.layers.map((layer) => quantizeLayer(graph, layer, quantOf, choice, weightBits, channelMeans));
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

function quantizeLayer(
  graph: LayerGraph, layer: Layer, quantOf: QuantOf, choice: MultiplierChoice, weightBits: number | undefined, channelMeans: ReadonlyMap<string, ArrayLike<number>> | undefined,
): QLayer {
  const base = { index: layer.index, name: layer.name, nodes: layer.nodes, inputs: layer.inputs, output: layer.output };
  const inQ = quantOf(layer.inputs[0] ?? '');
  const outQ = quantOf(layer.output);
  const what = `${graph.source.file}: layer ${layer.index} '${layer.name}'`;
  switch (layer.kind) {
    case 'conv':
    case 'gemm': {
      const means = channelMeans?.get(layer.inputs[0] ?? '');
      const inShape = graph.tensors.get(layer.inputs[0] ?? '')?.shape ?? [1, 1, 1];
      const w = integerWeights(layer, inQ, weightBits, what, means ? { means, inShape } : undefined);
      const requant = weightedRequant(inQ, outQ, w, layer.activation, choice, what);
      const common = { ...base, weights: w.ints, weightBits: signedBitsFor(w.ints), weightScale: w.scale, bias: w.bias, inputZeroPoint: inQ.zeroPoint, requant };
      if (layer.kind === 'gemm') {
        const [m, n] = layer.weights.shape;
        return { kind: 'gemm', ...common, weightShape: [m ?? 0, n ?? 0] };
      }
      const [m, c, kh, kw] = layer.weights.shape;
      return {
        kind: 'conv', ...common, weightShape: [m ?? 0, c ?? 0, kh ?? 0, kw ?? 0],
        group: layer.group, kernel: layer.kernel, stride: layer.stride, dilation: layer.dilation, pads: layer.pads,
      };
    }
    case 'maxpool':
    case 'avgpool': {
      const [kh, kw] = layer.kernel;
      const count = layer.kind === 'avgpool' ? kh * kw : 1;
      const channels = outChannels(graph, layer.output);
      const requant = uniformRequant(inQ, count, outQ, channels, choice, what);
      const common = { kind: layer.kind, ...base, kernel: layer.kernel, stride: layer.stride, dilation: layer.dilation, pads: layer.pads, inputZeroPoint: inQ.zeroPoint, requant };
      if (layer.kind !== 'avgpool' || layer.countIncludePad) return common;
      const inShape = graph.tensors.get(layer.inputs[0] ?? '')?.shape ?? [0, 0, 0];
      const counts = borderWindowCounts(layer, inShape);
      if (counts.length === 0) return common;
      const borderDivisors = counts.map((n) => ({ count: n, ...pick(uniformRequant(inQ, n, outQ, 1, choice, what)) }));
      return { ...common, borderDivisors };
    }
    case 'globalavgpool': {
      const [channels, h, w] = graph.tensors.get(layer.inputs[0] ?? '')?.shape ?? [0, 0, 0];
      const requant = uniformRequant(inQ, h * w, outQ, channels, choice, what);
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

/** The first channel's multiplier and shift of a uniform requantization. */
function pick(r: Requantization): { multiplier: number; shift: number } {
  return { multiplier: r.multiplier[0] ?? 0, shift: r.shift[0] ?? 1 };
}

/**
 * The real-pixel counts n < kh*kw of the windows of a padded pool (count_include_pad 0), ascending: per
 * axis, how many window rows (columns) lie inside the image at each output position, multiplied.
 */
function borderWindowCounts(layer: PoolLayer, inShape: readonly [number, number, number]): number[] {
  const [kh, kw] = layer.kernel;
  const rows = insideCounts(inShape[1], kh, layer.dilation[0], layer.stride[0], layer.pads[0], layer.pads[2]);
  const cols = insideCounts(inShape[2], kw, layer.dilation[1], layer.stride[1], layer.pads[1], layer.pads[3]);
  const counts = new Set<number>();
  for (const r of rows) for (const c of cols) if (r * c < kh * kw) counts.add(r * c);
  return [...counts].sort((a, b) => a - b);
}

/** The distinct numbers of window taps (`dilation` apart) inside [0, size) along one axis, over every output position. */
function insideCounts(size: number, kernel: number, dilation: number, stride: number, before: number, after: number): Set<number> {
  const outputs = Math.floor((size + before + after - ((kernel - 1) * dilation + 1)) / stride) + 1;
  const counts = new Set<number>();
  for (let o = 0; o < outputs; o++) counts.add(tapsInside(o * stride - before, kernel, dilation, size));
  return counts;
}


function outChannels(graph: LayerGraph, name: string): number {
  return graph.tensors.get(name)?.shape[0] ?? 0;
}

/** Integer weights, per-channel scales and the integer bias at accumulator scale. */
interface InputMeans {
  readonly means: ArrayLike<number>;
  readonly inShape: readonly [number, number, number];
}

function integerWeights(layer: ConvLayer | GemmLayer, inQ: QuantParams, weightBits: number | undefined, what: string, inputMeans: InputMeans | undefined) {
  const outCount = layer.weights.shape[0] ?? 0;
  const { ints, scale } = weightBits === undefined ? modelIntegers(layer.weights, what) : weightsPerChannelOnce(layer.weights.float, outCount, weightBits);
  const shift = inputMeans && weightBits !== undefined ? meanOutputShift(layer, ints, scale, inputMeans) : undefined;
  const bias = layer.weights.biasInt && weightBits === undefined
    ? Array.from(layer.weights.biasInt)
    : Array.from(layer.bias, (b, m) => roundHalfEven((b - (shift?.[m] ?? 0)) / (inQ.scale * (scale[m] ?? 1))));
  for (const b of bias) if (!Number.isSafeInteger(b)) throw badInput(`${what}: bias does not fit an exact integer at accumulator scale (|b| >= 2^53)`);
  return { ints, scale, bias };
}

/** Per output channel, sum_k (w_q - w)[m,k] * mean of the input channel that weight k reads. */
function meanOutputShift(layer: ConvLayer | GemmLayer, ints: readonly number[], scale: readonly number[], input: InputMeans): number[] {
  const outCount = layer.weights.shape[0] ?? 0;
  const perOutput = ints.length / outCount;
  const [, h, w] = input.inShape;
  // Which input channel weight k of output m reads: conv [M, C/g, kh, kw] by group; gemm over a C-major flatten.
  const channelOf = layer.kind === 'conv'
    ? (m: number, k: number): number => {
      const perGroupOut = outCount / layer.group;
      const taps = layer.kernel[0] * layer.kernel[1];
      return Math.floor(m / perGroupOut) * (perOutput / taps) + Math.floor(k / taps);
    }
    : (_m: number, k: number): number => Math.floor(k / (h * w));
  const shift = new Array<number>(outCount).fill(0);
  for (let m = 0; m < outCount; m++) {
    for (let k = 0; k < perOutput; k++) {
      const error = (ints[m * perOutput + k] ?? 0) * (scale[m] ?? 0) - (layer.weights.float[m * perOutput + k] ?? 0);
      shift[m] = (shift[m] ?? 0) + error * (input.means[channelOf(m, k)] ?? 0);
    }
  }
  return shift;
}

function modelIntegers(weights: Weights, what: string): { ints: number[]; scale: number[] } {
  if (!weights.int || !weights.scale) throw badInput(`${what}: a QDQ model's weights must come through DequantizeLinear (integer weights and scales)`);
  return { ints: Array.from(weights.int), scale: Array.from(weights.scale) };
}

/**
 * Symmetric per-output-channel weights. Each channel's scale is the one, among candidates, with the least
 * squared rounding error: max|w_m| / j for integer j up to 2^(bits-1) - 1 (so weights already on a grid,
 * e.g. a model trained for 8 bits, come out exact) and max|w_m| * f / (2^(bits-1) - 1) for f < 1 (clipping
 * a rare outlier weight to round the rest more finely).
 */
export function quantizeWeightsPerChannel(float: Float32Array, outCount: number, bits: number): { ints: number[]; scale: number[] } {
  const perChannel = float.length / outCount;
  const qMax = 2 ** (bits - 1) - 1;
  const ints = new Array<number>(float.length);
  const scale = new Array<number>(outCount);
  for (let m = 0; m < outCount; m++) {
    const channel = float.subarray(m * perChannel, (m + 1) * perChannel);
    const s = bestWeightScale(channel, qMax);
    scale[m] = s;
    for (let k = 0; k < perChannel; k++) ints[m * perChannel + k] = Math.max(-qMax, Math.min(qMax, roundHalfEven((channel[k] ?? 0) / s)));
  }
  return { ints, scale };
}

/** quantizeWeightsPerChannel's results by weight array and width: `--calib-method auto` quantizes one model many times. */
const quantizedWeights = new WeakMap<Float32Array, Map<string, { ints: number[]; scale: number[] }>>();

function weightsPerChannelOnce(float: Float32Array, outCount: number, bits: number): { ints: readonly number[]; scale: readonly number[] } {
  const byWidth = quantizedWeights.get(float) ?? new Map<string, { ints: number[]; scale: number[] }>();
  quantizedWeights.set(float, byWidth);
  const key = `${outCount}/${bits}`;
  const known = byWidth.get(key) ?? quantizeWeightsPerChannel(float, outCount, bits);
  byWidth.set(key, known);
  return known;
}

/** Candidate steps per channel (the search costs candidates x weights). */
const WEIGHT_SCALE_CANDIDATES = 96;

function bestWeightScale(channel: Float32Array, qMax: number): number {
  let largest = 0;
  for (const w of channel) largest = Math.max(largest, Math.abs(w));
  if (largest === 0) return 1;
  const candidates = new Set<number>([largest / qMax]);
  const lowest = Math.max(1, Math.ceil(qMax / 2));
  const step = Math.max(1, Math.floor((qMax - lowest) / WEIGHT_SCALE_CANDIDATES));
  for (let j = qMax; j >= lowest; j -= step) candidates.add(largest / j);
  for (let f = 0.99; f >= 0.5; f -= 0.01) candidates.add((largest * f) / qMax);
  let best = largest / qMax;
  let bestError = Infinity;
  for (const s of candidates) {
    let error = 0;
    for (const w of channel) {
      const q = Math.max(-qMax, Math.min(qMax, Math.round(w / s)));
      error += (w - q * s) ** 2;
    }
    if (error < bestError) { bestError = error; best = s; }
  }
  return best;
}

function weightedRequant(
  inQ: QuantParams, outQ: QuantParams, w: { ints: readonly number[]; scale: readonly number[]; bias: readonly number[] },
  activation: Activation, choice: MultiplierChoice, what: string,
): Requantization {
  const { min, max } = activationClamp(outQ, activation);
  const zo = outQ.zeroPoint;
  const perChannel = w.ints.length / Math.max(1, w.scale.length);
  const { min: qMin, max: qMax } = qRange(inQ);
  const fixed = w.scale.map((ws, m): FixedMultiplier => {
    const where = `${what} channel ${m}`;
    if (!choice.reproduceOrt) return chooseMultiplierForOutputs((inQ.scale * ws) / outQ.scale, min - zo, max - zo, where, choice.bits);
    // The channel's reachable accumulators: each weight times the extreme input deviation of its sign.
    let accLo = w.bias[m] ?? 0;
    let accHi = accLo;
    for (let k = m * perChannel; k < (m + 1) * perChannel; k++) {
      const wk = w.ints[k] ?? 0;
      accLo += Math.min(wk * (qMin - inQ.zeroPoint), wk * (qMax - inQ.zeroPoint));
      accHi += Math.max(wk * (qMin - inQ.zeroPoint), wk * (qMax - inQ.zeroPoint));
    }
    const scale = onnxRuntimeScale(inQ.scale, ws, outQ.scale);
    return chooseMultiplierReproducing(onnxRuntimeRequant(scale), scale, { yLo: min - zo, yHi: max - zo, accLo, accHi }, where, choice.bits);
  });
  const requant = {
    multiplier: fixed.map((f) => f.multiplier),
    shift: fixed.map((f) => f.shift),
    outputZeroPoint: outQ.zeroPoint, clampMin: min, clampMax: max,
  };
  if (activation.kind !== 'leaky') return requant;
  // The negative side's own multiplier: the slope folded into the accumulator-to-output scale.
  const negative = w.scale.map((ws, m) => chooseMultiplierForOutputs(((activation.slope[m] ?? 0) * inQ.scale * ws) / outQ.scale, min - zo, 0, `${what} channel ${m} (negative side)`, choice.bits));
  return { ...requant, negative: { multiplier: negative.map((f) => f.multiplier), shift: negative.map((f) => f.shift) } };
}

/** Pooling: acc sums `count` centred inputs (MaxPool: count 1, the maximum); 1/count is folded into M. */
function uniformRequant(inQ: QuantParams, count: number, outQ: QuantParams, channels: number, choice: MultiplierChoice, what: string): Requantization {
  const { min, max } = qRange(outQ);
  const zo = outQ.zeroPoint;
  const real = inQ.scale / (count * outQ.scale);
  let fixed: FixedMultiplier;
  if (choice.reproduceOrt) {
    const { min: qMin, max: qMax } = qRange(inQ);
    const scale = Math.fround(Math.fround(inQ.scale) / Math.fround(Math.fround(outQ.scale) * count));
    const range = { yLo: min - zo, yHi: max - zo, accLo: count * (qMin - inQ.zeroPoint), accHi: count * (qMax - inQ.zeroPoint) };
    fixed = chooseMultiplierReproducing(onnxRuntimeRequant(scale), scale, range, what, choice.bits);
  } else {
    fixed = chooseMultiplierForOutputs(real, min - zo, max - zo, what, choice.bits);
  }
  return {
    multiplier: new Array<number>(channels).fill(fixed.multiplier),
    shift: new Array<number>(channels).fill(fixed.shift),
    outputZeroPoint: outQ.zeroPoint, clampMin: min, clampMax: max,
  };
}

/** The activation as saturation bounds in the output's integer domain. */
export function activationClamp(outQ: QuantParams, activation: Activation): { min: number; max: number } {
  const range = qRange(outQ);
  const toQ = (real: number): number => outQ.zeroPoint + roundHalfEven(real / outQ.scale);
  switch (activation.kind) {
    case 'none':
    case 'leaky': return range;
    case 'relu': return { min: Math.max(range.min, outQ.zeroPoint), max: range.max };
    case 'clip': return {
      min: Number.isFinite(activation.min) ? Math.min(range.max, Math.max(range.min, toQ(activation.min))) : range.min,
      max: Number.isFinite(activation.max) ? Math.max(range.min, Math.min(range.max, toQ(activation.max))) : range.max,
    };
  }
}
