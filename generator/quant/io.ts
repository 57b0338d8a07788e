/**
 * The conversions at the chip's edges, off-chip: the float image the model takes -> integer codes of the
 * first tensor, and integer codes -> real values. Shared by calibration, the integer model and the
 * hardware generators' raw-input folding, so all three agree on what the chip's input means.
 */
import { badInput } from '../common/errors.js';
import { realQuantizer } from './fixed-point.js';
import type { QuantizedGraph, QuantTensor } from './ir.js';

/**
 * The off-chip input conversion: preprocessing in float32 as the float model computes it, then ONNX
 * QuantizeLinear (round half to even, saturate).
 */
export function quantizeInput(graph: QuantizedGraph, image: Float32Array): Int32Array {
  const [c, h, w] = graph.input.shape;
  if (image.length !== c * h * w) throw badInput(`input image has ${image.length} values; the model takes [${c}, ${h}, ${w}] = ${c * h * w}`);
  const quant = inputTensor(graph).quant;
  const out = new Int32Array(image.length);
  const plane = h * w;
  // One quantizer for the tensor (a frame of MobileNet is 150k values).
  const quantize = realQuantizer(quant);
  for (let ch = 0; ch < c; ch++) {
    const scale = Math.fround(graph.input.preprocess.scale[ch] ?? 1);
    const offset = Math.fround(graph.input.preprocess.offset[ch] ?? 0);
    for (let i = ch * plane; i < (ch + 1) * plane; i++) {
      out[i] = quantize(Math.fround(Math.fround((image[i] ?? 0) * scale) + offset));
    }
  }
  return out;
}

/** q -> real value: scale * (q - zeroPoint). */
export function dequantize(tensor: QuantTensor, q: Int32Array): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = tensor.quant.scale * ((q[i] ?? 0) - tensor.quant.zeroPoint);
  return out;
}

function inputTensor(graph: QuantizedGraph): QuantTensor {
  const t = graph.tensors[graph.input.tensor];
  if (!t) throw badInput(`quantized graph: input tensor '${graph.input.tensor}' is missing`);
  return t;
}
