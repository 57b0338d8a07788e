/** A small float ONNX model of pointwise convolutions on MNIST-shaped input, for the stand-in FFE. */
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';

/** Node names that must never reach Verilog as they are. */
export const HOSTILE_NAMES = ['module', 'ünïcødé €/layer', `${'very_long_name_'.repeat(20)}end`, 'dup', 'dup'];

/** 1 -> 3 -> 2 channels (ReLU after the first), with the given node names for the two convs and the relu. */
export function pointwiseModel(path: string, names: readonly string[] = ['pw0', 'relu0', 'pw1'], seed = 7): string {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('image', [1, 1, 28, 28]);
  const w0 = b.initializer('w0', randomFloats(3, seed), [3, 1, 1, 1]);
  const b0 = b.initializer('b0', randomFloats(3, seed + 1, 0.2), [3]);
  const w1 = b.initializer('w1', randomFloats(6, seed + 2), [2, 3, 1, 1]);
  const b1 = b.initializer('b1', randomFloats(2, seed + 3, 0.2), [2]);
  b.node('Conv', ['image', w0, b0], ['c0'], { kernel_shape: [1, 1] }, names[0]);
  b.node('Relu', ['c0'], ['r0'], {}, names[1]);
  b.node('Conv', ['r0', w1, b1], ['features'], { kernel_shape: [1, 1] }, names[2]);
  b.output('features', [1, 2, 28, 28]);
  return b.save(path);
}
