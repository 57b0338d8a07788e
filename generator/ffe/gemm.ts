/**
 * A Gemm after global pooling is a pointwise conv on a 1x1 frame: the same engine (no line buffer,
 * no window registers, one beat per frame). A Gemm over a flattened H x W > 1 map would need the whole
 * frame at once, which a streaming front end does not hold: that is a clear error.
 */
import { badInput } from '../common/errors.js';
import type { QConvLayer, QGemmLayer } from '../quant/ir.js';
import type { Stream } from '../contract/stream.js';

export function gemmAsPointwise(layer: QGemmLayer, input: Stream): QConvLayer {
  const [outputs, inputs] = layer.weightShape;
  if (input.height !== 1 || input.width !== 1 || input.channels !== inputs) {
    throw badInput(
      `layer ${layer.index} '${layer.name}': a fixed Gemm must follow global pooling (a ${inputs}x1x1 input); its input is ${input.channels}x${input.height}x${input.width}. Supported: Gemm/MatMul after GlobalAveragePool; fix fewer layers (--fixed-layers) to run this Gemm on the accelerator`,
    );
  }
  return {
    kind: 'conv',
    index: layer.index,
    name: layer.name,
    nodes: layer.nodes,
    inputs: layer.inputs,
    output: layer.output,
    group: 1,
    kernel: [1, 1],
    dilation: [1, 1],
    stride: [1, 1],
    pads: [0, 0, 0, 0],
    weightShape: [outputs, inputs, 1, 1],
    weights: layer.weights,
    weightBits: layer.weightBits,
    weightScale: layer.weightScale,
    bias: layer.bias,
    inputZeroPoint: layer.inputZeroPoint,
    requant: layer.requant,
  };
}
