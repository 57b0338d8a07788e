/**
 * The layer graph: a trained network after import and the float passes (BN folded, constants folded,
 * Pad/bias/activation/Q-DQ folded into their layer), ready to be quantized and split.
 *
 * "Layer" is as docs/ and DESIGN.md define it: a weighted operator (Conv of any group count, Gemm,
 * MatMul) with what folds into it, or MaxPool / AveragePool / GlobalAveragePool / residual Add.
 * Flatten, Reshape, Identity, Dropout, Constant and a final Softmax are not layers.
 *
 * Shapes are per image, batch dimension dropped: activations are [C, H, W] (a Gemm's input and output
 * are [N, 1, 1]; a flattened [C, H, W] feeds a Gemm in C-major order, as ONNX Flatten does).
 * All data here is plain and immutable once built; passes return new objects.
 */

/** Quantization parameters carried by a QDQ model (or produced by our calibration, see generator/quant). */
export interface ActQuant {
  /** Real value = scale * (q - zeroPoint). */
  readonly scale: number;
  readonly zeroPoint: number;
  /** Storage type of q: int8 / uint8 in QDQ models; calibration may choose other widths. */
  readonly signed: boolean;
  readonly bits: number;
}

/** A tensor that flows between layers (or is the network input / output). */
export interface TensorInfo {
  readonly name: string;
  /** [C, H, W]. */
  readonly shape: readonly [number, number, number];
  /** Present when the model itself fixes this tensor's quantization (QDQ models). */
  readonly quant?: ActQuant;
}

export type Activation =
  | { readonly kind: 'none' }
  | { readonly kind: 'relu' }
  /** Clip, e.g. ReLU6 = clip(0, 6). Bounds are real values; -Infinity / Infinity where absent. */
  | { readonly kind: 'clip'; readonly min: number; readonly max: number }
  /** LeakyRelu / PRelu: y = x for x >= 0, slope[c] * x below (one slope per output channel, >= 0). */
  | { readonly kind: 'leaky'; readonly slope: readonly number[] };

/**
 * Weights as the model gives them. For float models `float` is set; for QDQ models `int` holds the
 * integer weights with the weight zero point already subtracted (w_int = q - zp), and `scale` the
 * per-output-channel weight scales (a per-tensor scale is repeated per channel); `float` is then
 * int * scale.
 */
export interface Weights {
  /** [M, C/group, kH, kW] for conv; [M, N] for gemm (M outputs, N inputs). */
  readonly shape: readonly number[];
  readonly float: Float32Array;
  readonly int?: Int32Array;
  readonly scale?: Float64Array;
  /** QDQ models: the integer bias at scale (input scale * weight scale[m]), int32. */
  readonly biasInt?: Int32Array;
}

interface LayerBase {
  /** Index in topological order, from 0. */
  readonly index: number;
  /** A readable name: the main node's name in the model (may be any string; escape before emitting). */
  readonly name: string;
  /** Every ONNX node folded into this layer, in model order (for `--fixed-layers NODE` and reports). */
  readonly nodes: readonly string[];
  /** Names of the input tensors (one, or two for Add). */
  readonly inputs: readonly string[];
  readonly output: string;
}

export interface ConvLayer extends LayerBase {
  readonly kind: 'conv';
  readonly weights: Weights;
  /** Float bias per output channel (zeros where the model has none). */
  readonly bias: Float32Array;
  readonly group: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [dy, dx]: kernel taps are this many pixels apart, so the window spans (k - 1) * d + 1 pixels. */
  readonly dilation: readonly [number, number];
  /** [top, left, bottom, right]; a Pad node before the conv is folded in here. */
  readonly pads: readonly [number, number, number, number];
  readonly activation: Activation;
}

/** Gemm / MatMul(+Add): y = W x + b with W [M, N]; input [N,1,1] (flattened), output [M,1,1]. */
export interface GemmLayer extends LayerBase {
  readonly kind: 'gemm';
  readonly weights: Weights;
  readonly bias: Float32Array;
  readonly activation: Activation;
}

export interface PoolLayer extends LayerBase {
  readonly kind: 'maxpool' | 'avgpool';
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [dy, dx]: taps this many pixels apart, as for a conv. */
  readonly dilation: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  /** AveragePool's count_include_pad (pads count as zeros in the divisor). */
  readonly countIncludePad: boolean;
}

export interface GlobalAvgPoolLayer extends LayerBase {
  readonly kind: 'globalavgpool';
}

/** Residual Add of two activations of the same shape, with an optional activation after it. */
export interface AddLayer extends LayerBase {
  readonly kind: 'add';
  readonly activation: Activation;
}

export type Layer = ConvLayer | GemmLayer | PoolLayer | GlobalAvgPoolLayer | AddLayer;

/**
 * Affine preprocessing found on the network input (scalar or per-channel Mul/Div/Sub/Add before the
 * first layer): the first layer sees `x * scale + offset`. Kept apart, not folded into weights, so that
 * `--raw-input` can move it into hardware and padding stays exact.
 */
export interface InputPreprocess {
  /** Per input channel (length C). Identity: scale 1, offset 0. */
  readonly scale: readonly number[];
  readonly offset: readonly number[];
}

export interface LayerGraph {
  /** File name of the source model (no directory) and its SHA-256 in hex. */
  readonly source: { readonly file: string; readonly sha256: string };
  /** The model's input tensor name and shape as the user feeds it (float, [C,H,W]). */
  readonly input: TensorInfo & { readonly preprocess: InputPreprocess };
  /** Name of the tensor the first layer reads (after preprocessing; equals input.name without it). */
  readonly firstTensor: string;
  /** Every activation tensor between layers, by name, including the first tensor and the output. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly layers: readonly Layer[];
  /** The tensor the chip returns (the scores before a final Softmax). */
  readonly output: string;
  /** The model's own output name (differs from `output` when a Softmax was left outside). */
  readonly modelOutput: string;
  /** True when a final Softmax was found and left outside the hardware. */
  readonly softmaxOutside: boolean;
  /** True for QDQ models: every tensor and weight carries the model's own quantization. */
  readonly quantized: boolean;
}
