/**
 * The QuantizedGraph IR: a LayerGraph after quantization. It is the contract that the integer model
 * (generator/golden), the fixed-weight RTL generator and the accelerator compiler consume, and it is
 * what a generated design's manifest stores, so that a later run can load the fixed part back.
 *
 * Everything is plain JSON data (numbers, strings, arrays, records): `JSON.stringify` writes it and
 * `parseQuantizedGraph` (generator/quant/serialize.ts) reads and checks it back.
 *
 * The arithmetic is the one rule of docs/arithmetic.md:
 *
 *     acc = bias[m] + sum_k w[m,k] * (x_k - inputZeroPoint)        (conv / gemm)
 *     y   = clamp(((acc * M[m] + 2^(s[m]-1)) >> s[m]) + outputZeroPoint, clampMin, clampMax)
 *
 * with `>>` the arithmetic (floor) shift, M an unsigned integer of up to 32 bits (its width chosen per channel, docs/arithmetic.md §3) and s >= 1. Every integer here is exact
 * (a JS number holding an integer, |v| < 2^53).
 */

/** Quantization of one activation tensor: real = scale * (q - zeroPoint), q in [qMin, qMax]. */
export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
  /** Width of q in bits (2..16). */
  readonly bits: number;
  /** Signed: q in [-2^(bits-1), 2^(bits-1)-1]; unsigned: q in [0, 2^bits - 1]. */
  readonly signed: boolean;
}

/** An activation tensor between layers: its shape [C, H, W] and its quantization. */
export interface QuantTensor {
  readonly name: string;
  readonly shape: readonly [number, number, number];
  readonly quant: QuantParams;
}

/**
 * Requantization of a layer's accumulator to its output type, per output channel (arrays of length C_out;
 * pooling layers repeat one value per channel).
 */
export interface Requantization {
  /** M per output channel: an unsigned integer of up to 32 bits (0..2^32-1). */
  readonly multiplier: readonly number[];
  /** s per output channel: an integer >= 1; the rounding constant is 2^(s-1). */
  readonly shift: readonly number[];
  readonly outputZeroPoint: number;
  /**
   * Saturation bounds of y: the output type's range intersected with the activation (ReLU: the real
   * value 0, i.e. the zero point; ReLU6: zero point + round(6 / scale)). Activation *is* this clamp.
   */
  readonly clampMin: number;
  readonly clampMax: number;
  /**
   * A leaky activation (LeakyRelu, PRelu; conv and gemm only): where acc < 0 the rule takes this
   * multiplier and shift per channel (the slope folded in) instead. Absent: one rule for every acc.
   */
  readonly negative?: { readonly multiplier: readonly number[]; readonly shift: readonly number[] };
}

interface QLayerBase {
  /** Index in topological order, from 0 (same as in the LayerGraph). */
  readonly index: number;
  /** The model's name for the layer (any string: escape before emitting). */
  readonly name: string;
  /** The ONNX nodes folded into this layer. */
  readonly nodes: readonly string[];
  /** Input tensor names (keys of QuantizedGraph.tensors). */
  readonly inputs: readonly string[];
  readonly output: string;
}

/**
 * Conv (dense, grouped, depthwise). acc = bias[m] + sum over (c, i, j) of w[m, c, i, j] *
 * (x[g*Cg + c, oy*sy - padTop + i*dy, ox*sx - padLeft + j*dx] - inputZeroPoint), where outside the image x
 * is the input's zero point (padding inserts the zero point, so it adds nothing to acc).
 */
export interface QConvLayer extends QLayerBase {
  readonly kind: 'conv';
  readonly group: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [dy, dx] (1 = dense): the window spans (k - 1) * d + 1 pixels per axis. */
  readonly dilation: readonly [number, number];
  /** [top, left, bottom, right]. */
  readonly pads: readonly [number, number, number, number];
  /** [M, C/group, kH, kW]. */
  readonly weightShape: readonly [number, number, number, number];
  /** Integer weights, row-major in weightShape order; symmetric (no weight zero point). */
  readonly weights: readonly number[];
  /** Bits of a signed weight: every |w| <= 2^(weightBits-1) - 1 (QDQ uint8 weights minus zp may need 9). */
  readonly weightBits: number;
  /** Real weight = weightScale[m] * w (per output channel). */
  readonly weightScale: readonly number[];
  /** Integer bias at accumulator scale (inputScale * weightScale[m]), one per output channel. */
  readonly bias: readonly number[];
  readonly inputZeroPoint: number;
  readonly requant: Requantization;
}

/** Gemm / MatMul: like a 1x1 conv over the flattened input (C-major). weightShape is [M, N]. */
export interface QGemmLayer extends QLayerBase {
  readonly kind: 'gemm';
  readonly weightShape: readonly [number, number];
  readonly weights: readonly number[];
  readonly weightBits: number;
  readonly weightScale: readonly number[];
  readonly bias: readonly number[];
  readonly inputZeroPoint: number;
  readonly requant: Requantization;
}

/**
 * Average pooling: acc = sum over the window of (x - inputZeroPoint) (pads insert the zero point, so they
 * add nothing), and 1/N is folded into M, N = kh*kw (count_include_pad semantics). MaxPool: acc = max over
 * the window of (x - inputZeroPoint), pad positions take no part (hardware may pad with the type's minimum).
 */
export interface QPoolLayer extends QLayerBase {
  readonly kind: 'maxpool' | 'avgpool';
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [dy, dx] (1 = dense): window taps this many pixels apart, as for a conv. */
  readonly dilation: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly inputZeroPoint: number;
  readonly requant: Requantization;
  /**
   * AveragePool with pads and count_include_pad 0 (ONNX's default, TensorFlow's SAME pooling): a window
   * at the border holds n < kh*kw real pixels and divides by n. One entry per such n that occurs: the
   * multiplier and shift for 1/n, the same for every channel (`requant` keeps the full window's). n is
   * (window rows inside the image) * (window columns inside). Absent: N = kh*kw everywhere.
   */
  readonly borderDivisors?: readonly BorderDivisor[];
}

/** The requantization of an average-pool window holding `count` real pixels (see QPoolLayer). */
export interface BorderDivisor {
  readonly count: number;
  readonly multiplier: number;
  readonly shift: number;
}

/** Global average pooling: acc = sum over H x W of (x - inputZeroPoint); 1/(H*W) folded into M. */
export interface QGlobalAvgPoolLayer extends QLayerBase {
  readonly kind: 'globalavgpool';
  readonly inputZeroPoint: number;
  readonly requant: Requantization;
}

/**
 * Residual Add: each input is rescaled by its own multiplier, with one shared shift:
 *   acc = (a - zeroPoint[0]) * multiplier[0] + (b - zeroPoint[1]) * multiplier[1]
 *   y   = clamp(((acc + 2^(shift-1)) >> shift) + outputZeroPoint, clampMin, clampMax)
 * (the Requantization's multiplier/shift arrays hold M = 1 and this shift per channel, so the rule above is
 * the one rule with acc already multiplied).
 */
export interface QAddLayer extends QLayerBase {
  readonly kind: 'add';
  readonly inputZeroPoints: readonly [number, number];
  /** Per input, an unsigned integer (16 bits as chosen by the quantizer; up to 32 allowed). */
  readonly inputMultipliers: readonly [number, number];
  readonly requant: Requantization;
}

export type QLayer = QConvLayer | QGemmLayer | QPoolLayer | QGlobalAvgPoolLayer | QAddLayer;

export interface QuantizedGraph {
  /** Format version of this IR (bump on an incompatible change). */
  readonly format: 1;
  readonly source: { readonly file: string; readonly sha256: string };
  /** Where the quantization came from: our calibration, or the QDQ model's own parameters. */
  readonly origin: 'calibrated' | 'qdq';
  /** Calibration facts (origin 'calibrated'). */
  readonly calibration?: {
    readonly images: number;
    /** Activation range choice: 'auto', 'minmax', 'mse' or 'percentile' (generator/quant/calibrate.ts). */
    readonly method: string;
    /** With 'auto': the rule chosen per tensor (the output and given tensors are not listed). */
    readonly tensorMethods?: Readonly<Record<string, string>>;
    /** With 'auto': the output error (mean squared) of each single rule and of the choice, where it was measured. */
    readonly methodErrors?: Readonly<Record<string, number>>;
    readonly weightBits: number;
    readonly actBits: number;
    /**
     * Tensors given another width than actBits (`--wide-acts`, generator/quant/wide-acts.ts): name -> bits.
     * Absent: every calibrated tensor has actBits.
     */
    readonly tensorBits?: Readonly<Record<string, number>>;
    /** 'empirical', 'analytic' or 'none' (generator/calibrate/quantize-model.ts). */
    readonly biasCorrection?: string;
  };
  /**
   * The network input (float, as the user feeds it) and how it becomes integers, off-chip:
   * q = clamp(roundHalfEven(fround((x * preprocess.scale[c] + preprocess.offset[c]) / quant.scale)) + zp).
   */
  readonly input: {
    readonly name: string;
    readonly shape: readonly [number, number, number];
    readonly preprocess: { readonly scale: readonly number[]; readonly offset: readonly number[] };
    /** The tensor holding q (the first layer's input; a key of `tensors`). */
    readonly tensor: string;
  };
  /** Every activation tensor by name, including the input tensor and the output. */
  readonly tensors: Readonly<Record<string, QuantTensor>>;
  readonly layers: readonly QLayer[];
  /** The tensor the chip returns (scores before a final Softmax); dequantize with tensors[output].quant. */
  readonly output: string;
  readonly softmaxOutside: boolean;
}

/** The range of q for a quantization. */
export function qRange(quant: QuantParams): { min: number; max: number } {
  return quant.signed
    ? { min: -(2 ** (quant.bits - 1)), max: 2 ** (quant.bits - 1) - 1 }
    : { min: 0, max: 2 ** quant.bits - 1 };
}

/** Window taps start, start + d, ..., start + (k-1)*d that lie in [0, size): a border window's real pixels per axis. */
export function tapsInside(start: number, kernel: number, dilation: number, size: number): number {
  let n = 0;
  for (let i = 0; i < kernel; i++) if (start + i * dilation >= 0 && start + i * dilation < size) n++;
  return n;
}
