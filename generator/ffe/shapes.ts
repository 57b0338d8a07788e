/** A QuantizedGraph tensor as a stream shape (channels per beat, frame size, pixel type). */
import type { QuantTensor } from '../quant/ir.js';
import type { StreamShape } from './layer-module.js';

export function streamShapeOf(t: QuantTensor): StreamShape {
  const [channels, height, width] = t.shape;
  return { channels, height, width, type: { bits: t.quant.bits, signed: t.quant.signed } };
}
