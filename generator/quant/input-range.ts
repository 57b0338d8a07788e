/**
 * Data that do not look like what the model's input was quantized for. The input's quantization (from a
 * QDQ model, or from calibration) is the one hint a model carries about its input range: uint8 pixels fed
 * to a model quantized for [-1, 1] clip almost everywhere, and [0, 1] fed to a model quantized for
 * [0, 255] use a sliver of the codes. Either way the figures are meaningless without a word; a warning
 * names the two ranges and the flags that set the preprocessing.
 */
import type { QuantizedGraph } from './ir.js';
import { qRange } from './ir.js';

/** Share of values outside the quantized range above which the data are called out of range. */
const CLIPPED_SHARE = 0.05;
/** The data's span below this share of the quantized span uses too few codes to be meant. */
const NARROW_SHARE = 1 / 16;

export function inputRangeWarning(graph: QuantizedGraph, images: readonly Float32Array[], source: string): string | undefined {
  const quant = graph.tensors[graph.input.tensor]?.quant;
  if (!quant || images.length === 0) return undefined;
  const q = qRange(quant);
  const lo = (q.min - quant.zeroPoint) * quant.scale;
  const hi = (q.max - quant.zeroPoint) * quant.scale;
  const { scale, offset } = graph.input.preprocess;
  const [, h, w] = graph.input.shape;
  const plane = h * w;
  let min = Infinity;
  let max = -Infinity;
  let clipped = 0;
  let total = 0;
  for (const image of images) {
    for (let i = 0; i < image.length; i++) {
      const c = Math.floor(i / plane);
      // The value the first layer sees: the model's own preprocessing applied to the fed input.
      const v = (image[i] as number) * (scale[c] ?? scale[0] ?? 1) + (offset[c] ?? offset[0] ?? 0);
      if (v < min) min = v;
      if (v > max) max = v;
      if (v < lo - quant.scale || v > hi + quant.scale) clipped++;
      total++;
    }
  }
  const range = (a: number, b: number): string => `[${Number(a.toPrecision(4))}, ${Number(b.toPrecision(4))}]`;
  const fix = 'check the preprocessing (--scale/--mean/--std, docs/inputs.md)';
  if (clipped > CLIPPED_SHARE * total) {
    return `${source}: ${((100 * clipped) / total).toFixed(0)}% of the input values lie outside ${range(lo, hi)}, the range the model's input is quantized for (the data span ${range(min, max)}); ${fix}`;
  }
  if (max - min < NARROW_SHARE * (hi - lo)) {
    return `${source}: the input values span only ${range(min, max)} of ${range(lo, hi)}, the range the model's input is quantized for; ${fix}`;
  }
  return undefined;
}
