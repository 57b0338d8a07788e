/**
 * `--raw-input`: the chip takes 8-bit pixels p = 0..255 as a camera delivers them, and the model's
 * affine preprocessing plus the input quantization are folded into layer 0.
 *
 * The off-chip path is, per channel c (docs/arithmetic.md §7 and generator/data):
 *     x = fround(p * rawScale)                       (rawScale = 1/255, the loader's default)
 *     q = clamp(roundHalfEven(fround(fround(x * pre.scale[c]) + pre.offset[c]) / s_in) + zp_in)
 * Folding is exact exactly when q is an affine integer function of p over all 256 values,
 *     q(p) = a*p + b  (a >= 1, b integers, no clamping),
 * and the padding can still insert "real zero": a pad pixel value p0 with a*p0 + b = zp_in, i.e.
 * p0 = (zp_in - b) / a an integer in 0..255. Then for layer 0
 *     acc = bias + sum w (q - zp_in) = bias + sum (a*w) (p - p0),
 * so the folded layer has weights a*w, input zero point p0 (padding inserts p0), the same bias and the
 * same requantization: every accumulator, and so every output, is unchanged. Typically a = 1 (the input
 * scale calibrated to the preprocessed range of raw pixels). When q(p) is not affine (the input scale is
 * not an integer fraction of the preprocessing step, or calibration clipped the range), the folding
 * cannot be exact and generation stops with an error that says which pixel values break it.
 */
import { badInput } from '../common/errors.js';
import { quantizeInput } from '../quant/io.js';
import type { QConvLayer, QuantizedGraph, QuantTensor } from '../quant/ir.js';

export const DEFAULT_RAW_SCALE = 1 / 255;

export interface RawInputMapping {
  /** q = slope * p + offset, per channel. */
  readonly slope: readonly number[];
  readonly offset: readonly number[];
  /** The raw pixel value that stands for real zero (the folded layer's padding value). */
  readonly padPixel: number;
}

/** q(p) for p = 0..255 per channel, through the same code as the integer model's input conversion. */
function inputCodes(graph: QuantizedGraph, rawScale: number): number[][] {
  const channels = graph.input.shape[0];
  const probe = { ...graph, input: { ...graph.input, shape: [channels, 1, 256] as const } };
  const image = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) for (let p = 0; p < 256; p++) image[c * 256 + p] = Math.fround(p * rawScale);
  const q = quantizeInput(probe, image);
  return Array.from({ length: channels }, (_, c) => Array.from(q.subarray(c * 256, (c + 1) * 256)));
}

/** The exact affine mapping raw pixel -> input code, or a clear error naming why there is none. */
export function rawInputMapping(graph: QuantizedGraph, rawScale = DEFAULT_RAW_SCALE): RawInputMapping {
  const tensor = graph.tensors[graph.input.tensor];
  if (tensor === undefined) throw badInput(`quantized graph: input tensor '${graph.input.tensor}' is missing`);
  const codes = inputCodes(graph, rawScale);
  const slope: number[] = [];
  const offset: number[] = [];
  codes.forEach((q, c) => {
    const b = q[0]!;
    const a = q[1]! - b;
    const broken = q.findIndex((v, p) => v !== a * p + b);
    if (a < 1 || broken >= 0) {
      const p = broken >= 0 ? broken : 1;
      throw badInput(
        `--raw-input: ${graph.source.file}: channel ${c}: the input code is not an exact affine function of the raw pixel ` +
          `(q(0) = ${b}, q(1) = ${q[1]}, q(${p}) = ${q[p]}, expected ${a * p + b}); the input scale ${tensor.quant.scale} is not ` +
          `an integer fraction of the preprocessing step ${rawScale} * ${graph.input.preprocess.scale[c] ?? 1}, so folding the ` +
          `preprocessing into layer 0 cannot be bit-exact. Quantize the input with scale = step (e.g. calibrate with --calib-method minmax on full-range images) or feed preprocessed codes (omit --raw-input)`,
      );
    }
    slope.push(a);
    offset.push(b);
  });
  const zp = tensor.quant.zeroPoint;
  const pads = slope.map((a, c) => (zp - offset[c]!) / a);
  const padPixel = pads[0]!;
  if (!pads.every((p) => p === padPixel) || !Number.isInteger(padPixel) || padPixel < 0 || padPixel > 255) {
    throw badInput(
      `--raw-input: ${graph.source.file}: real zero (input code ${zp}) corresponds to raw pixel ${pads.map((p) => p.toFixed(3)).join(', ')} per channel; ` +
        `padding needs one integer pixel value in 0..255 for all channels, so folding cannot be bit-exact at the image borders`,
    );
  }
  return { slope, offset, padPixel };
}

/** The graph whose input is raw pixels, layer 0 rewritten as the file comment derives. */
export function foldRawInput(graph: QuantizedGraph, rawScale = DEFAULT_RAW_SCALE): QuantizedGraph {
  const first = graph.layers[0];
  if (first === undefined || first.kind !== 'conv' || first.inputs[0] !== graph.input.tensor) {
    throw badInput(`--raw-input: ${graph.source.file}: layer 0 must be a convolution reading the network input (it is ${first?.kind ?? 'missing'})`);
  }
  const { slope, padPixel } = rawInputMapping(graph, rawScale);
  const old = graph.tensors[graph.input.tensor]!;
  const rawName = `${graph.input.tensor}/raw_pixels`;
  const raw: QuantTensor = { name: rawName, shape: old.shape, quant: { scale: old.quant.scale * slope[0]!, zeroPoint: padPixel, bits: 8, signed: false } };
  const [outC, perGroup, kh, kw] = first.weightShape;
  const taps = kh * kw;
  const weights = first.weights.map((w, k) => {
    const m = Math.floor(k / (perGroup * taps));
    const c = (Math.floor(m / (outC / first.group)) * perGroup) + Math.floor((k % (perGroup * taps)) / taps);
    return w * slope[c]!;
  });
  const maxAbs = Math.max(1, ...weights.map(Math.abs));
  const folded: QConvLayer = { ...first, inputs: [rawName], weights, inputZeroPoint: padPixel, weightBits: Math.max(first.weightBits, Math.ceil(Math.log2(maxAbs + 1)) + 1) };
  const tensors = { ...graph.tensors, [rawName]: raw };
  return {
    ...graph,
    input: { ...graph.input, tensor: rawName, preprocess: { scale: slope.map(() => 1), offset: slope.map(() => 0) } },
    tensors,
    layers: [folded, ...graph.layers.slice(1)],
  };
}
