/**
 * Small random QuantizedGraphs for single-layer and short-chain tests: random sizes, zero points, weights
 * (with zeros), biases, multipliers chosen so that outputs spread over the output range, ReLU / ReLU6 /
 * no clamp, signed and unsigned activations. Checked by the quantized-graph checker.
 */
import { checkQuantizedGraph } from '../../generator/quant/check.js';
import type { QConvLayer, QLayer, QuantizedGraph, QuantParams, QuantTensor, Requantization } from '../../generator/quant/ir.js';
import { qRange } from '../../generator/quant/ir.js';

export type Rng = () => number;

export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

export function randomQuant(rng: Rng, bits = 8): QuantParams {
  const signed = rng() < 0.4;
  const q = { scale: 0.01 + rng() * 0.05, zeroPoint: 0, bits, signed };
  const { min, max } = qRange(q);
  return { ...q, zeroPoint: int(rng, min + Math.floor((max - min) / 4), max - Math.floor((max - min) / 4)) };
}

/** M and s mapping a typical accumulator magnitude `accTypical` to a sixth of the output range. */
export function randomRequant(rng: Rng, channels: number, accTypical: number, out: QuantParams): Requantization {
  const { min, max } = qRange(out);
  const target = (max - min) / 6;
  const scale = Math.max(1, accTypical);
  const shift: number[] = [];
  const multiplier: number[] = [];
  for (let c = 0; c < channels; c++) {
    const r = (target / scale) * (0.5 + rng());
    // M of 8 to 32 bits per channel, as chosen to reproduce ONNX Runtime (docs/arithmetic.md §3).
    const bits = 8 + Math.floor(rng() * 25);
    const s = Math.max(1, bits - 1 - Math.floor(Math.log2(r)));
    shift.push(s);
    multiplier.push(Math.min(2 ** bits - 1, Math.max(0, Math.round(r * 2 ** s))));
  }
  const act = pick(rng, ['none', 'none', 'relu', 'relu6'] as const);
  const zo = out.zeroPoint;
  const clampMin = act === 'none' ? min : Math.max(min, zo);
  const clampMax = act === 'relu6' ? Math.min(max, zo + Math.round((max - zo) * 0.7)) : max;
  return { multiplier, shift, outputZeroPoint: zo, clampMin, clampMax };
}

export interface ConvChoice {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly group: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  /** Taps this many pixels apart (default dense, [1, 1]). */
  readonly dilation?: readonly [number, number];
  readonly weightBits?: number;
  readonly zeroFraction?: number;
  /** Activation width of the input and output tensors (default 8). */
  readonly actBits?: number;
}

export function outSize(size: number, k: number, s: number, a: number, b: number): number {
  return Math.floor((size + a + b - k) / s) + 1;
}

export function randomConvLayer(rng: Rng, index: number, input: QuantTensor, output: QuantTensor, choice: ConvChoice): QConvLayer {
  const perGroup = choice.inChannels / choice.group;
  const [kh, kw] = choice.kernel;
  const wBits = choice.weightBits ?? 8;
  const wMax = 2 ** (wBits - 1) - 1;
  const count = choice.outChannels * perGroup * kh * kw;
  const weights = Array.from({ length: count }, () => (rng() < (choice.zeroFraction ?? 0.25) ? 0 : int(rng, -wMax, wMax)));
  const taps = perGroup * kh * kw;
  const rowNorm = Math.max(...Array.from({ length: choice.outChannels }, (_, m) => Math.sqrt(weights.slice(m * taps, (m + 1) * taps).reduce((a, w) => a + w * w, 0))));
  // Uniform random inputs: the accumulator's spread is about |w| * (range / sqrt(12)).
  const accTypical = rowNorm * (2 ** input.quant.bits / Math.sqrt(12));
  return {
    kind: 'conv',
    index,
    name: `conv${index}`,
    nodes: [`conv${index}`],
    inputs: [input.name],
    output: output.name,
    group: choice.group,
    kernel: choice.kernel,
    stride: choice.stride,
    dilation: choice.dilation ?? [1, 1],
    pads: choice.pads,
    weightShape: [choice.outChannels, perGroup, kh, kw],
    weights,
    weightBits: wBits,
    weightScale: Array.from({ length: choice.outChannels }, () => 0.01),
    bias: Array.from({ length: choice.outChannels }, () => Math.trunc(int(rng, -accTypical, accTypical))),
    inputZeroPoint: input.quant.zeroPoint,
    requant: randomRequant(rng, choice.outChannels, accTypical, output.quant),
  };
}

export function tensor(name: string, shape: readonly [number, number, number], quant: QuantParams): QuantTensor {
  return { name, shape, quant };
}

/** A graph over the given tensors and layers; the first tensor is the input, the last layer's output the output. */
export function graphOf(input: QuantTensor, tensors: readonly QuantTensor[], layers: readonly QLayer[]): QuantizedGraph {
  const graph: QuantizedGraph = {
    format: 1,
    source: { file: 'random.onnx', sha256: '0'.repeat(64) },
    origin: 'calibrated',
    input: { name: 'input', shape: input.shape, preprocess: { scale: input.shape.map(() => 1).slice(0, input.shape[0]), offset: Array.from({ length: input.shape[0] }, () => 0) }, tensor: input.name },
    tensors: Object.fromEntries([input, ...tensors].map((t) => [t.name, t])),
    layers,
    output: layers[layers.length - 1]!.output,
    softmaxOutside: false,
  };
  checkQuantizedGraph(graph);
  return graph;
}

/** A random single conv layer graph (dense, grouped or depthwise). */
export function randomConvGraph(rng: Rng, choice: ConvChoice & { height: number; width: number }): QuantizedGraph {
  const input = tensor('x', [choice.inChannels, choice.height, choice.width], randomQuant(rng, choice.actBits ?? 8));
  const [dy, dx] = choice.dilation ?? [1, 1];
  const [kh, kw] = [(choice.kernel[0] - 1) * dy + 1, (choice.kernel[1] - 1) * dx + 1];
  const [pt, pl, pb, pr] = choice.pads;
  const outShape: [number, number, number] = [choice.outChannels, outSize(choice.height, kh, choice.stride[0], pt, pb), outSize(choice.width, kw, choice.stride[1], pl, pr)];
  const output = tensor('y', outShape, randomQuant(rng, choice.actBits ?? 8));
  return graphOf(input, [output], [randomConvLayer(rng, 0, input, output, choice)]);
}

/** Random q values of a tensor, [C, H, W] row-major. */
export function randomImage(rng: Rng, t: QuantTensor): Int32Array {
  const { min, max } = qRange(t.quant);
  const [c, h, w] = t.shape;
  return Int32Array.from({ length: c * h * w }, () => int(rng, min, max));
}

/** A pooling layer (max or average) with its own requantization. */
export function randomPoolLayer(rng: Rng, index: number, kind: 'maxpool' | 'avgpool', input: QuantTensor, output: QuantTensor, kernel: readonly [number, number], stride: readonly [number, number], pads: readonly [number, number, number, number]): QLayer {
  const taps = kernel[0] * kernel[1];
  const typical = kind === 'maxpool' ? 2 ** input.quant.bits / 3 : (taps * 2 ** input.quant.bits) / 3;
  return { kind, index, name: `${kind}${index}`, nodes: [`${kind}${index}`], inputs: [input.name], output: output.name, kernel, stride, dilation: [1, 1], pads, inputZeroPoint: input.quant.zeroPoint, requant: randomRequant(rng, input.shape[0], typical, output.quant) };
}

export function randomGlobalPoolLayer(rng: Rng, index: number, input: QuantTensor, output: QuantTensor): QLayer {
  const frame = input.shape[1] * input.shape[2];
  return { kind: 'globalavgpool', index, name: `gap${index}`, nodes: [`gap${index}`], inputs: [input.name], output: output.name, inputZeroPoint: input.quant.zeroPoint, requant: randomRequant(rng, input.shape[0], Math.sqrt(frame) * 2 ** input.quant.bits / 3, output.quant) };
}

export function randomGemmLayer(rng: Rng, index: number, input: QuantTensor, output: QuantTensor): QLayer {
  const conv = randomConvLayer(rng, index, input, output, { inChannels: input.shape[0], outChannels: output.shape[0], group: 1, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0] });
  return { kind: 'gemm', index, name: `gemm${index}`, nodes: [`gemm${index}`], inputs: [input.name], output: output.name, weightShape: [output.shape[0], input.shape[0]], weights: conv.weights, weightBits: conv.weightBits, weightScale: conv.weightScale, bias: conv.bias, inputZeroPoint: conv.inputZeroPoint, requant: conv.requant };
}

export function randomAddLayer(rng: Rng, index: number, a: QuantTensor, b: QuantTensor, output: QuantTensor): QLayer {
  const shift = 16;
  const channels = output.shape[0];
  const { min, max } = qRange(output.quant);
  return {
    kind: 'add',
    index,
    name: `add${index}`,
    nodes: [`add${index}`],
    inputs: [a.name, b.name],
    output: output.name,
    inputZeroPoints: [a.quant.zeroPoint, b.quant.zeroPoint],
    inputMultipliers: [int(rng, 2 ** 14, 2 ** 15), int(rng, 2 ** 14, 2 ** 15)],
    requant: { multiplier: Array.from({ length: channels }, () => 1), shift: Array.from({ length: channels }, () => shift), outputZeroPoint: output.quant.zeroPoint, clampMin: min, clampMax: max },
  };
}
