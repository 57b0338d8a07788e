/**
 * Each supported op and pass on a small built model: the printed LayerGraph (golden text) and, where
 * ONNX Runtime can run the model, the imported graph executed in float equals ONNX Runtime's output.
 */
import { describe, expect, it } from 'vitest';
import { printLayerGraph } from '../../generator/graph/print.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { expectSameAsOrt, importBuilt } from './helpers.js';

function convModel(opset = 13): OnnxBuilder {
  const b = new OnnxBuilder({ opset });
  b.input('x', ['batch', 2, 5, 5]);
  b.initializer('w', randomFloats(3 * 2 * 3 * 3, 1), [3, 2, 3, 3]);
  b.floats('b', [0.5, -0.25, 0.125]);
  b.node('Conv', ['x', 'w', 'b'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv');
  b.node('Relu', ['c'], ['y'], {}, 'relu');
  b.output('y', ['batch', 3, 5, 5]);
  return b;
}

describe('import: ops and passes', () => {
  it('Conv + bias + Relu, symbolic batch', async () => {
    const b = convModel();
    const g = importBuilt(b);
    expect(printLayerGraph(g)).toMatchInlineSnapshot(`
      "source test.onnx
      input x [2,5,5]
      first x [2,5,5]
      layer 0 conv "conv": x [2,5,5] -> y [3,5,5]
        nodes "conv", "relu"
        kernel 3x3 stride 1x1 pads [1,1,1,1] group 1 activation relu
        weights [3,2,3,3] {n=54 sum=-2.90464 abs=26.0734 min=-0.994529 max=0.989646}
        bias [0.5, -0.25, 0.125]
      output y [3,5,5] model output "y"
      "
    `);
    await expectSameAsOrt(b, g);
  });

  it.each([6, 7, 9, 11, 21])('reads opset %i', async (opset) => {
    const b = convModel(opset);
    const g = importBuilt(b);
    expect(g.layers).toHaveLength(1);
    await expectSameAsOrt(b, g);
  });

  it('depthwise conv, stride 2, asymmetric pads, Clip with min/max inputs (ReLU6)', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 4, 7, 6]);
    b.initializer('w', randomFloats(4 * 9, 2, 3), [4, 1, 3, 3]);
    b.node('Conv', ['x', 'w'], ['c'], { group: 4, kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }, 'dw');
    b.floats('lo', [0], []);
    b.floats('hi', [6], []);
    b.node('Clip', ['c', 'lo', 'hi'], ['y'], {}, 'relu6');
    b.output('y', [1, 4, 3, 3]);
    const g = importBuilt(b);
    expect(printLayerGraph(g)).toMatchInlineSnapshot(`
      "source test.onnx
      input x [4,7,6]
      first x [4,7,6]
      layer 0 conv "dw": x [4,7,6] -> y [4,3,3]
        nodes "dw", "relu6"
        kernel 3x3 stride 2x2 pads [0,0,1,1] group 4 activation clip(0, 6)
        weights [4,1,3,3] {n=36 sum=-10.4693 abs=57.3356 min=-2.95737 max=2.93046}
        bias [0, 0, 0, 0]
      output y [4,3,3] model output "y"
      "
    `);
    await expectSameAsOrt(b, g);
  });

  it.each(['SAME_UPPER', 'SAME_LOWER', 'VALID'])('grouped conv with auto_pad %s, stride 2 on an odd size', async (autoPad) => {
    const b = new OnnxBuilder();
    b.input('x', [1, 4, 7, 5]);
    b.initializer('w', randomFloats(6 * 2 * 4 * 4, 3), [6, 2, 4, 4]);
    b.node('Conv', ['x', 'w'], ['y'], { group: 2, kernel_shape: [4, 4], strides: [2, 2], auto_pad: autoPad }, 'gconv');
    b.output('y');
    const g = importBuilt(b);
    const layer = g.layers[0];
    expect(layer?.kind === 'conv' && layer.pads).toEqual(
      { SAME_UPPER: [1, 1, 2, 2], SAME_LOWER: [2, 2, 1, 1], VALID: [0, 0, 0, 0] }[autoPad],
    );
    await expectSameAsOrt(b, g);
  });

  it('folds BatchNormalization into a conv without bias', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 4, 4]);
    b.initializer('w', randomFloats(3 * 2, 4), [3, 2, 1, 1]);
    b.node('Conv', ['x', 'w'], ['c'], {}, 'conv');
    b.floats('gamma', [1.5, -0.5, 2]);
    b.floats('beta', [0.1, 0.2, -0.3]);
    b.floats('mean', [0.3, -0.2, 0]);
    b.floats('var', [0.5, 2, 0.1]);
    b.node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['y'], { epsilon: 1e-3 }, 'bn');
    b.output('y');
    const g = importBuilt(b);
    expect(printLayerGraph(g)).toMatchInlineSnapshot(`
      "source test.onnx
      input x [2,4,4]
      first x [2,4,4]
      layer 0 conv "conv": x [2,4,4] -> y [3,4,4]
        nodes "conv", "bn"
        kernel 1x1 stride 1x1 pads [0,0,0,0] group 1 activation none
        weights [3,2,1,1] [1.79554, -0.707619, 0.196761, 0.295609, -3.348, 0.106944]
        bias [-0.535761, 0.129307, -0.3]
      output y [3,4,4] model output "y"
      "
    `);
    await expectSameAsOrt(b, g);
  });

  it('folds a zero Pad (pads as input) into the following conv', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 1, 5, 5]);
    b.int64s('pads', [0, 0, 2, 1, 0, 0, 0, 1]);
    b.node('Pad', ['x', 'pads'], ['p'], { mode: 'constant' }, 'pad');
    b.initializer('w', randomFloats(2 * 9, 5), [2, 1, 3, 3]);
    b.node('Conv', ['p', 'w'], ['y'], { pads: [1, 0, 0, 0] }, 'conv');
    b.output('y');
    const g = importBuilt(b);
    const layer = g.layers[0];
    expect(layer?.kind === 'conv' && layer.pads).toEqual([3, 1, 0, 1]);
    expect(layer?.nodes).toEqual(['pad', 'conv']);
    await expectSameAsOrt(b, g);
  });

  it('folds a Pad into an AveragePool (padded zeros count) and after a ReLU into a MaxPool', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 6, 6]);
    b.int64s('pads', [0, 0, 1, 1, 0, 0, 1, 0]);
    b.node('Pad', ['x', 'pads'], ['p'], {}, 'pad1');
    b.node('AveragePool', ['p'], ['a'], { kernel_shape: [3, 3], strides: [2, 2] }, 'avg');
    b.node('Relu', ['a'], ['r'], {}, 'relu');
    b.int64s('pads2', [0, 0, 0, 1, 0, 0, 1, 0]);
    b.node('Pad', ['r', 'pads2'], ['p2'], {}, 'pad2');
    b.node('MaxPool', ['p2'], ['y'], { kernel_shape: [2, 2] }, 'max');
    b.output('y');
    // A ReLU after a pool is not foldable: the model is refused with a clear message instead.
    expect(() => importBuilt(b)).toThrow(/node "relu" \(Relu\): an activation is supported only directly after a Conv, Gemm, MatMul or residual Add, not after the avgpool "avg"/);
  });

  it('folds a Pad into an AveragePool with count_include_pad and a MaxPool after a conv+ReLU', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 6, 6]);
    b.int64s('pads', [0, 0, 1, 1, 0, 0, 1, 0]);
    b.node('Pad', ['x', 'pads'], ['p'], {}, 'pad1');
    b.node('AveragePool', ['p'], ['a'], { kernel_shape: [3, 3], strides: [2, 2] }, 'avg');
    b.initializer('w', randomFloats(2 * 2, 6), [2, 2, 1, 1]);
    b.node('Conv', ['a', 'w'], ['c'], {}, 'conv');
    b.node('Relu', ['c'], ['r'], {}, 'relu');
    b.int64s('pads2', [0, 0, 0, 1, 0, 0, 1, 0]);
    b.node('Pad', ['r', 'pads2'], ['p2'], {}, 'pad2');
    b.node('MaxPool', ['p2'], ['y'], { kernel_shape: [2, 2] }, 'max');
    b.output('y');
    const g = importBuilt(b);
    expect(printLayerGraph(g)).toMatchInlineSnapshot(`
      "source test.onnx
      input x [2,6,6]
      first x [2,6,6]
      layer 0 avgpool "avg": x [2,6,6] -> a [2,3,3]
        nodes "pad1", "avg"
        kernel 3x3 stride 2x2 pads [1,1,1,0] countIncludePad true
      layer 1 conv "conv": a [2,3,3] -> r [2,3,3]
        nodes "conv", "relu"
        kernel 1x1 stride 1x1 pads [0,0,0,0] group 1 activation relu
        weights [2,2,1,1] [0.0514932, -0.995313, 0.326343, -0.595675]
        bias [0, 0]
      layer 2 maxpool "max": r [2,3,3] -> y [2,3,3]
        nodes "pad2", "max"
        kernel 2x2 stride 1x1 pads [0,1,1,0]
      output y [2,3,3] model output "y"
      "
    `);
    await expectSameAsOrt(b, g);
  });

  it('MaxPool and AveragePool with their own pads (count_include_pad 0 and 1), GlobalAveragePool', async () => {
    for (const countIncludePad of [0, 1]) {
      const b = new OnnxBuilder();
      b.input('x', [1, 3, 7, 7]);
      b.node('MaxPool', ['x'], ['m'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 'max');
      b.node('AveragePool', ['m'], ['a'], { kernel_shape: [3, 2], pads: [1, 0, 1, 1], count_include_pad: countIncludePad }, 'avg');
      b.node('GlobalAveragePool', ['a'], ['y'], {}, 'gap');
      b.output('y', [1, 3, 1, 1]);
      const g = importBuilt(b);
      expect(g.layers.map((l) => l.kind)).toEqual(['maxpool', 'avgpool', 'globalavgpool']);
      await expectSameAsOrt(b, g);
    }
  });

  it('Gemm with transB, alpha and beta; Gemm without transB; MatMul + Add', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 2, 2]);
    b.node('Flatten', ['x'], ['f'], { axis: 1 }, 'flatten');
    b.initializer('w1', randomFloats(4 * 8, 8), [4, 8]);
    b.floats('c1', [1, 2, 3, 4]);
    b.node('Gemm', ['f', 'w1', 'c1'], ['g1'], { transB: 1, alpha: 0.5, beta: 2 }, 'gemm1');
    b.node('Relu', ['g1'], ['r1'], {}, 'relu1');
    b.initializer('w2', randomFloats(4 * 3, 9), [4, 3]);
    b.floats('c2', [0.5], [1]);
    b.node('Gemm', ['r1', 'w2', 'c2'], ['g2'], {}, 'gemm2');
    b.initializer('w3', randomFloats(3 * 2, 10), [3, 2]);
    b.node('MatMul', ['g2', 'w3'], ['mm'], {}, 'matmul');
    b.floats('b3', [0.25, -0.25]);
    b.node('Add', ['mm', 'b3'], ['y'], {}, 'bias');
    b.output('y', [1, 2]);
    const g = importBuilt(b);
    expect(printLayerGraph(g)).toMatchInlineSnapshot(`
      "source test.onnx
      input x [2,2,2]
      first x [2,2,2]
      layer 0 gemm "gemm1": x [2,2,2] -> r1 [4,1,1]
        nodes "gemm1", "relu1"
        activation relu
        weights [4,8] [-0.343705, 0.125192, -0.199335, 0.195954, 0.0850091, -0.050601, 0.31876, -0.261185, 0.00661767, -0.439862, 0.0141839, -0.426642, 0.0694547, -0.27964, -0.339452, 0.454733, 0.19343, -0.409004, -0.372193, -0.460616, 0.0559864, -0.0559042, 0.252719, 0.274185, -0.460329, -0.046051, -0.141386, 0.00041369, -0.178982, 0.0185562, -0.375369, 0.360909]
        bias [2, 4, 6, 8]
      layer 1 gemm "gemm2": r1 [4,1,1] -> g2 [3,1,1]
        nodes "gemm2"
        activation none
        weights [3,4] [-0.602542, 0.643343, -0.474563, 0.264581, 0.702422, 0.447609, 0.838908, 0.396032, -0.716468, 0.377723, -0.738277, 0.174571]
        bias [0.5, 0.5, 0.5]
      layer 2 gemm "matmul": g2 [3,1,1] -> y [2,1,1]
        nodes "matmul", "bias"
        activation none
        weights [2,3] [0.00398402, 0.382637, -0.0851647, 0.834974, 0.604205, -0.103308]
        bias [0.25, -0.25]
      output y [2,1,1] model output "y"
      "
    `);
    await expectSameAsOrt(b, g);
  });

  it('residual Add with ReLU; Identity and Dropout are dropped', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 4, 4]);
    b.initializer('w1', randomFloats(2 * 2 * 9, 11), [2, 2, 3, 3]);
    b.node('Conv', ['x', 'w1'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1');
    b.node('Relu', ['c1'], ['r1'], {}, 'relu1');
    b.node('Identity', ['r1'], ['i1'], {}, 'identity');
    b.initializer('w2', randomFloats(2 * 2 * 9, 12), [2, 2, 3, 3]);
    b.node('Conv', ['i1', 'w2'], ['c2'], { pads: [1, 1, 1, 1] }, 'conv2');
    b.node('Dropout', ['c2'], ['d2'], {}, 'dropout');
    b.node('Add', ['d2', 'r1'], ['s'], {}, 'add');
    b.node('Relu', ['s'], ['y'], {}, 'relu2');
    b.output('y');
    const g = importBuilt(b);
    expect(printLayerGraph(g)).toMatchInlineSnapshot(`
      "source test.onnx
      input x [2,4,4]
      first x [2,4,4]
      layer 0 conv "conv1": x [2,4,4] -> r1 [2,4,4]
        nodes "conv1", "relu1"
        kernel 3x3 stride 1x1 pads [1,1,1,1] group 1 activation relu
        weights [2,2,3,3] {n=36 sum=-0.176315 abs=14.0898 min=-0.887533 max=0.95534}
        bias [0, 0]
      layer 1 conv "conv2": r1 [2,4,4] -> c2 [2,4,4]
        nodes "conv2"
        kernel 3x3 stride 1x1 pads [1,1,1,1] group 1 activation none
        weights [2,2,3,3] {n=36 sum=-3.22922 abs=17.1084 min=-0.972624 max=0.994956}
        bias [0, 0]
      layer 2 add "add": c2 [2,4,4] + r1 [2,4,4] -> y [2,4,4]
        nodes "add", "relu2"
        activation relu
      output y [2,4,4] model output "y"
      "
    `);
    await expectSameAsOrt(b, g);
  });

  it('folds the Shape/Gather/Unsqueeze/Concat chain PyTorch exports around Reshape', async () => {
    const b = new OnnxBuilder();
    b.input('x', ['N', 2, 3, 3]);
    b.initializer('w', randomFloats(2 * 2, 13), [2, 2, 1, 1]);
    b.node('Conv', ['x', 'w'], ['c'], {}, 'conv');
    b.node('Shape', ['c'], ['shape'], {}, 'shape');
    b.int64s('zero', [0], []);
    b.node('Gather', ['shape', 'zero'], ['n'], { axis: 0 }, 'gather');
    b.int64s('axes', [0]);
    b.node('Unsqueeze', ['n', 'axes'], ['n1'], {}, 'unsqueeze');
    b.node('Constant', [], ['minus1'], { value: { attrType: 'tensor', value: { name: 'm1', dims: [1], dataType: 7, int64Data: [-1] } } }, 'const');
    b.node('Concat', ['n1', 'minus1'], ['target'], { axis: 0 }, 'concat');
    b.node('Reshape', ['c', 'target'], ['f'], {}, 'reshape');
    b.initializer('wf', randomFloats(18 * 3, 14), [3, 18]);
    b.node('Gemm', ['f', 'wf'], ['y'], { transB: 1 }, 'fc');
    b.output('y', ['N', 3]);
    const g = importBuilt(b);
    expect(g.layers.map((l) => `${l.kind}:${l.inputs.join('+')}`)).toEqual(['conv:x', 'gemm:c']);
    await expectSameAsOrt(b, g);
  });

  it('recognizes Sub/Div scalar and Mul/Add per-channel preprocessing on the input', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 3, 4, 4]);
    b.floats('mean', [0.5], []);
    b.node('Sub', ['x', 'mean'], ['s'], {}, 'sub');
    b.floats('std', [0.25], []);
    b.node('Div', ['s', 'std'], ['d'], {}, 'div');
    b.floats('k', [1, 2, 3], [1, 3, 1, 1]);
    b.node('Mul', ['d', 'k'], ['m'], {}, 'mul');
    b.floats('o', [0.1, 0.2, 0.3], [3, 1, 1]);
    b.node('Add', ['m', 'o'], ['a'], {}, 'add');
    b.initializer('w', randomFloats(2 * 3, 15), [2, 3, 1, 1]);
    b.node('Conv', ['a', 'w'], ['y'], {}, 'conv');
    b.output('y');
    const g = importBuilt(b);
    expect(g.input.preprocess.scale).toEqual([4, 8, 12]);
    expect(g.input.preprocess.offset.map((v) => Number(v.toFixed(6)))).toEqual([-1.9, -3.8, -5.7]);
    expect(g.firstTensor).toBe('a');
    expect(printLayerGraph(g).split('\n').slice(0, 3).join('\n')).toMatchInlineSnapshot(`
      "source test.onnx
      input x [3,4,4] preprocess scale [4, 8, 12] offset [-1.9, -3.8, -5.7]
      first a [3,4,4]"
    `);
    await expectSameAsOrt(b, g);
  });

  it('leaves a final Softmax outside and reports the scores tensor as the output', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 4, 1, 1]);
    b.node('Flatten', ['x'], ['f'], {}, 'flatten');
    b.initializer('w', randomFloats(4 * 5, 16), [4, 5]);
    b.node('MatMul', ['f', 'w'], ['s'], {}, 'fc');
    b.node('Softmax', ['s'], ['y'], { axis: 1 }, 'softmax');
    b.output('y', [1, 5]);
    const g = importBuilt(b);
    expect(g.softmaxOutside).toBe(true);
    expect(g.output).toBe('s');
    expect(g.modelOutput).toBe('y');
    await expectSameAsOrt(b, g);
  });

  it('treats GlobalAveragePool -> Squeeze -> Gemm like a Flatten', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 3, 4, 4]);
    b.node('GlobalAveragePool', ['x'], ['g'], {}, 'gap');
    b.int64s('axes', [2, 3]);
    b.node('Squeeze', ['g', 'axes'], ['s'], {}, 'squeeze');
    b.initializer('w', randomFloats(2 * 3, 17), [2, 3]);
    b.node('Gemm', ['s', 'w'], ['y'], { transB: 1 }, 'fc');
    b.output('y', [1, 2]);
    const g = importBuilt(b);
    expect(g.layers.map((l) => `${l.kind}:${l.inputs.join('+')}`)).toEqual(['globalavgpool:x', 'gemm:g']);
    await expectSameAsOrt(b, g);
  });

  it('drops a branch nothing reads (it does not become a layer)', async () => {
    const b = convModel();
    b.initializer('w_aux', randomFloats(2 * 2, 18), [2, 2, 1, 1]);
    b.node('Conv', ['x', 'w_aux'], ['aux'], {}, 'aux_head');
    const g = importBuilt(b);
    expect(g.layers.map((l) => l.name)).toEqual(['conv']);
    await expectSameAsOrt(b, g);
  });

  it('reads the type of a QuantizeLinear without zero point from output_dtype (opset 21)', () => {
    const b = new OnnxBuilder({ opset: 21 });
    b.input('x', [1, 1, 2, 2]);
    b.floats('s', [0.5], []);
    b.node('QuantizeLinear', ['x', 's'], ['q'], { output_dtype: 3 }, 'q');
    b.initializer('zp', Int8Array.of(0), []);
    b.node('DequantizeLinear', ['q', 's', 'zp'], ['dq'], {}, 'dq');
    b.initializer('wq', Int8Array.of(3), [1, 1, 1, 1]);
    b.node('DequantizeLinear', ['wq', 's', 'zp'], ['w'], {}, 'w_dq');
    b.node('Conv', ['dq', 'w'], ['c'], {}, 'conv');
    b.node('QuantizeLinear', ['c', 's', 'zp'], ['cq'], {}, 'cq');
    b.node('DequantizeLinear', ['cq', 's', 'zp'], ['y'], {}, 'cdq');
    b.output('y');
    const g = importBuilt(b);
    expect(g.tensors.get('x')?.quant).toEqual({ scale: 0.5, zeroPoint: 0, signed: true, bits: 8 });
  });

  it('Clip with an omitted min input (only max given)', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 1, 3, 3]);
    b.initializer('w', Float32Array.of(-2), [1, 1, 1, 1]);
    b.node('Conv', ['x', 'w'], ['c'], {}, 'conv');
    b.floats('hi', [0.5], []);
    b.node('Clip', ['c', '', 'hi'], ['y'], {}, 'clip');
    b.output('y');
    const g = importBuilt(b);
    const layer = g.layers[0];
    expect(layer?.kind === 'conv' && layer.activation).toEqual({ kind: 'clip', min: -Infinity, max: 0.5 });
    await expectSameAsOrt(b, g);
  });

  it('accepts Clip bounds given as attributes', () => {
    const b = new OnnxBuilder({ opset: 11 });
    b.input('x', [1, 1, 3, 3]);
    b.initializer('w', Float32Array.of(1), [1, 1, 1, 1]);
    b.node('Conv', ['x', 'w'], ['c'], {}, 'conv');
    b.node('Clip', ['c'], ['y'], { min: -1, max: 2.5 }, 'clip');
    b.output('y');
    const layer = importBuilt(b).layers[0];
    expect(layer?.kind === 'conv' && layer.activation).toEqual({ kind: 'clip', min: -1, max: 2.5 });
  });

  it('maps the opset 6-10 forms: Pad and Clip attributes, BatchNormalization is_test, Gemm broadcast, batch 2', async () => {
    const b = new OnnxBuilder({ opset: 6 });
    b.input('x', [2, 2, 4, 4]);
    b.node('Pad', ['x'], ['p'], { mode: 'constant', pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 0 }, 'pad');
    b.initializer('w', randomFloats(3 * 2 * 9, 5), [3, 2, 3, 3]);
    b.node('Conv', ['p', 'w'], ['c'], { kernel_shape: [3, 3] }, 'conv');
    for (const [name, values] of [['g', [1, 2, 0.5]], ['be', [0.1, 0, -0.1]], ['mu', [0, 0.2, 0]], ['var', [1, 0.5, 2]]] as const) b.floats(name, [...values]);
    b.node('BatchNormalization', ['c', 'g', 'be', 'mu', 'var'], ['n'], { epsilon: 1e-5, is_test: 1 }, 'bn');
    b.node('Clip', ['n'], ['r'], { min: 0, max: 6 }, 'relu6');
    b.node('Flatten', ['r'], ['f'], {}, 'flat');
    b.initializer('wg', randomFloats(5 * 48, 6), [5, 48]);
    b.floats('bg', [1, 2, 3, 4, 5]);
    b.node('Gemm', ['f', 'wg', 'bg'], ['y'], { transB: 1, broadcast: 1 }, 'fc');
    b.output('y', [2, 5]);
    const g = importBuilt(b);
    expect(g.layers.map((l) => l.kind)).toEqual(['conv', 'gemm']);
    expect(g.layers[0]?.kind === 'conv' && g.layers[0].pads).toEqual([1, 1, 1, 1]);
    expect(g.layers[0]?.kind === 'conv' && g.layers[0].activation).toEqual({ kind: 'clip', min: 0, max: 6 });
    expect(g.input.shape).toEqual([2, 4, 4]);
  });

  it('refuses opset-6 broadcasting along an axis, and the broadcast attribute from opset 7 on', () => {
    for (const [opset, pattern] of [[6, /opset-6 broadcasting with an axis is not supported/], [7, /broadcast and axis exist only up to opset 6/]] as const) {
      const b = new OnnxBuilder({ opset });
      b.input('x', [1, 2, 3, 3]);
      b.initializer('w', randomFloats(2 * 2, 8), [2, 2, 1, 1]);
      b.node('Conv', ['x', 'w'], ['c'], {}, 'conv');
      b.floats('b', [1, 2]);
      b.node('Add', ['c', 'b'], ['y'], { broadcast: 1, axis: 1 }, 'bias');
      b.output('y');
      expect(() => importBuilt(b)).toThrow(pattern);
    }
  });
});
