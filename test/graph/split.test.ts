/** Valid cuts between the fixed front end and the accelerator, and `--fixed-layers` resolution. */
import { describe, expect, it } from 'vitest';
import { resolveFixedLayers, splitPoints } from '../../generator/graph/split.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { importBuilt } from './helpers.js';

/** conv0+clip, conv1+relu, conv2, add(conv2, conv0) + relu, gap, gemm: a residual block in the middle. */
function residualModel(): OnnxBuilder {
  const b = new OnnxBuilder();
  b.input('x', [1, 2, 4, 4]);
  const conv = (name: string, input: string, output: string, seed: number): void => {
    b.initializer(`${name}_w`, randomFloats(2 * 2 * 9, seed), [2, 2, 3, 3]);
    b.node('Conv', [input, `${name}_w`], [output], { pads: [1, 1, 1, 1] }, name);
  };
  conv('conv0', 'x', 'c0', 1);
  b.floats('lo', [0], []);
  b.floats('hi', [6], []);
  b.node('Clip', ['c0', 'lo', 'hi'], ['r0'], {}, 'clip0');
  conv('conv1', 'r0', 'c1', 2);
  b.node('Relu', ['c1'], ['r1'], {}, 'relu1');
  conv('conv2', 'r1', 'c2', 3);
  b.node('Add', ['c2', 'r0'], ['s'], {}, 'add');
  b.node('Relu', ['s'], ['r2'], {}, 'relu2');
  b.node('GlobalAveragePool', ['r2'], ['g'], {}, 'gap');
  b.node('Flatten', ['g'], ['f'], {}, 'flatten');
  b.initializer('fc_w', randomFloats(3 * 2, 4), [3, 2]);
  b.node('Gemm', ['f', 'fc_w'], ['y'], { transB: 1 }, 'fc');
  b.output('y');
  return b;
}

describe('split points and --fixed-layers', () => {
  const graph = importBuilt(residualModel());

  it('lists only cuts crossed by exactly one tensor', () => {
    expect(graph.layers.map((l) => l.name)).toEqual(['conv0', 'conv1', 'conv2', 'add', 'gap', 'fc']);
    expect(splitPoints(graph)).toEqual([
      { k: 0, tensor: 'x' },
      { k: 1, tensor: 'r0' },
      { k: 4, tensor: 'r2' },
      { k: 5, tensor: 'g' },
      { k: 6, tensor: 'y' },
    ]);
  });

  it('resolves numbers and node names; a Conv and the Clip after it select the same layer', () => {
    expect(resolveFixedLayers(graph, '0')).toBe(0);
    expect(resolveFixedLayers(graph, '1')).toBe(1);
    expect(resolveFixedLayers(graph, 'conv0')).toBe(1);
    expect(resolveFixedLayers(graph, 'clip0')).toBe(1);
    expect(resolveFixedLayers(graph, 'relu2')).toBe(4);
    expect(resolveFixedLayers(graph, '6')).toBe(6);
  });

  it('refuses cuts inside the residual block, unknown names and too many layers', () => {
    expect(() => resolveFixedLayers(graph, '2')).toThrow(/--fixed-layers 2: cutting test\.onnx after 2 layers crosses 2 tensors \(r0, r1\).*valid values: 0, 1, 4, 5, 6/);
    expect(() => resolveFixedLayers(graph, 'relu1')).toThrow(/crosses 2 tensors/);
    expect(() => resolveFixedLayers(graph, 'flatten')).toThrow(/no layer of test\.onnx contains a node named "flatten"; give a number \(0 to 6\) or a node name such as "conv0"/);
    expect(() => resolveFixedLayers(graph, '7')).toThrow(/test\.onnx has only 6 layers/);
  });

  it('takes "-1" and "2.5" as malformed numbers, not as node names', () => {
    expect(() => resolveFixedLayers(graph, '-1')).toThrow(/--fixed-layers -1: K must be a whole number from the valid split points of test\.onnx \(0, 1, 4, 5, 6\), or a node name/);
    expect(() => resolveFixedLayers(graph, '2.5')).toThrow(/--fixed-layers 2\.5: K must be a whole number/);
  });
});
