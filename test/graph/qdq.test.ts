/**
 * QDQ models: activations' Q/DQ pairs become TensorInfo.quant, weights keep their integers with the
 * zero point subtracted (w - zp), per-tensor and per-channel, int8 and uint8, int32 biases -> biasInt.
 */
import { describe, expect, it } from 'vitest';
import type { ConvLayer } from '../../generator/graph/ir.js';
import { printLayerGraph } from '../../generator/graph/print.js';
import { resolveFixedLayers } from '../../generator/graph/split.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { importBuilt } from './helpers.js';

function qdqModel(): { b: OnnxBuilder; l1: ReturnType<OnnxBuilder['qdqConv']>; l2: ReturnType<OnnxBuilder['qdqConv']> } {
  const b = new OnnxBuilder();
  b.input('x', ['N', 2, 8, 8]);
  const l1 = b.qdqConv({
    name: 'c1', input: 'x', inputQuant: { scale: 0.02, zeroPoint: 3, type: 'uint8' },
    weights: randomFloats(3 * 2 * 3 * 3, 21, 0.5), weightShape: [3, 2, 3, 3],
    weightQuant: { type: 'uint8', perChannel: false, zeroPoint: 120 },
    bias: Float32Array.of(0.1, -0.2, 0.3), pads: [1, 1, 1, 1], activation: 'relu6',
    outputQuant: { scale: 0.05, zeroPoint: 0, type: 'uint8' },
  });
  b.node('MaxPool', [l1.output], ['pool'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  const pooled = b.qdq('pool', { scale: 0.05, zeroPoint: 0, type: 'uint8' });
  const l2 = b.qdqConv({
    name: 'c2', input: pooled, inputScale: 0.05,
    weights: randomFloats(3 * 9, 22), weightShape: [3, 1, 3, 3], group: 3,
    weightQuant: { type: 'int8', perChannel: true, zeroPoint: [0, 2, -3] },
    bias: Float32Array.of(0, 0.1, 0.2), strides: [2, 2], pads: [0, 0, 1, 1], activation: 'relu',
    outputQuant: { scale: 0.03, zeroPoint: -5, type: 'int8' },
  });
  b.output(l2.output, ['N', 3, 2, 2]);
  return { b, l1, l2 };
}

describe('import: QDQ models', () => {
  it('carries activation quantization, integer weights (w - zp) and int32 biases', () => {
    const { b, l1, l2 } = qdqModel();
    const g = importBuilt(b);
    expect(g.quantized).toBe(true);
    expect(g.layers.map((l) => l.kind)).toEqual(['conv', 'maxpool', 'conv']);
    expect(g.tensors.get(g.firstTensor)?.quant).toEqual({ scale: Math.fround(0.02), zeroPoint: 3, signed: false, bits: 8 });
    const [c1, , c2] = g.layers as [ConvLayer, unknown, ConvLayer];
    expect(Array.from(c1.weights.int ?? [])).toEqual(l1.weightsQ.map((q) => q - 120));
    expect(Array.from(c1.weights.scale ?? [])).toEqual([l1.weightScales[0], l1.weightScales[0], l1.weightScales[0]]);
    expect(Array.from(c1.weights.biasInt ?? [])).toEqual(Array.from(l1.biasInt ?? []));
    const zp2 = [0, 2, -3];
    expect(Array.from(c2.weights.int ?? [])).toEqual(l2.weightsQ.map((q, i) => q - (zp2[Math.floor(i / 9)] ?? 0)));
    expect(Array.from(c2.weights.scale ?? [])).toEqual(l2.weightScales);
    expect(Array.from(c2.weights.biasInt ?? [])).toEqual(Array.from(l2.biasInt ?? []));
    expect(g.tensors.get(c2.output)?.quant).toEqual({ scale: Math.fround(0.03), zeroPoint: -5, signed: true, bits: 8 });
    expect(resolveFixedLayers(g, 'c1_out_quantize')).toBe(1);
    expect(printLayerGraph(g)).toMatchInlineSnapshot(`
      "source test.onnx
      input x [2,8,8] quant(scale=0.02 zp=3 uint8)
      first x [2,8,8] quant(scale=0.02 zp=3 uint8)
      layer 0 conv "c1": x [2,8,8] quant(scale=0.02 zp=3 uint8) -> c1_relu6 [3,8,8] quant(scale=0.05 zp=0 uint8)
        nodes "c1", "c1_relu6", "c1_out_quantize", "c1_out_dequantize"
        kernel 3x3 stride 1x1 pads [1,1,1,1] group 1 activation clip(0, 6)
        weights [3,2,3,3] {n=54 sum=-0.467178 abs=11.9411 min=-0.448491 max=0.426066}
        int {n=54 sum=-125 abs=3195 min=-120 max=114}
        scale [0.00373742, 0.00373742, 0.00373742]
        bias [0.100013, -0.200027, 0.299965]
        biasInt [1338, -2676, 4013]
      layer 1 maxpool "pool": c1_relu6 [3,8,8] quant(scale=0.05 zp=0 uint8) -> pool [3,4,4] quant(scale=0.05 zp=0 uint8)
        nodes "pool", "pool_quantize", "pool_dequantize"
        kernel 2x2 stride 2x2 pads [0,0,0,0]
      layer 2 conv "c2": pool [3,4,4] quant(scale=0.05 zp=0 uint8) -> c2_relu [3,2,2] quant(scale=0.03 zp=-5 int8)
        nodes "c2", "c2_relu", "c2_out_quantize", "c2_out_dequantize"
        kernel 3x3 stride 2x2 pads [0,0,1,1] group 3 activation relu
        weights [3,1,3,3] [0.243907, -0.525338, -0.550354, -0.587878, -0.268923, 0.794261, -0.106318, 0.343971, 0.487814, -0.966956, -0.788441, -0.728936, -0.63224, -0.00743812, -0.691745, 0.104134, -0.550421, 0.126448, 0.562771, 0.332907, 0.546918, -0.792635, 0.32498, -0.158527, -0.990793, -0.903604, 0.261569]
        int [39, -84, -88, -94, -43, 127, -17, 55, 78, -130, -106, -98, -85, -1, -93, 14, -74, 17, 71, 42, 69, -100, 41, -20, -125, -114, 33]
        scale [0.00625402, 0.00743812, 0.00792635]
        bias [0, 0.100043, 0.20014]
        biasInt [0, 269, 505]
      output c2_relu [3,2,2] quant(scale=0.03 zp=-5 int8) model output "c2_out_dq" quantized
      "
    `);
  });

  it('QDQ residual Add, GlobalAveragePool and a per-channel Gemm given as [N, M] (axis 1)', () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 4, 4]);
    const act = { scale: 0.05, zeroPoint: 0, type: 'uint8' } as const;
    const l1 = b.qdqConv({
      name: 'c1', input: 'x', inputQuant: { scale: 0.02, zeroPoint: 128, type: 'uint8' }, weights: randomFloats(2 * 2 * 9, 24),
      weightShape: [2, 2, 3, 3], weightQuant: { type: 'int8', perChannel: true }, pads: [1, 1, 1, 1], activation: 'relu', outputQuant: act,
    });
    b.node('Add', [l1.output, 'c1_in_dq'], ['sum'], {}, 'residual');
    const summed = b.qdq('sum', { scale: 0.08, zeroPoint: 10, type: 'uint8' });
    b.node('GlobalAveragePool', [summed], ['gap'], {}, 'gap');
    const pooled = b.qdq('gap', { scale: 0.04, zeroPoint: 5, type: 'uint8' });
    b.node('Flatten', [pooled], ['flat'], {}, 'flatten');
    b.initializer('fc_q', Int8Array.of(10, -20, 30, -40, 50, -60), [2, 3]);
    b.initializer('fc_s', Float32Array.of(0.1, 0.2, 0.3), [3]);
    b.initializer('fc_z', Int8Array.of(0, 1, -1), [3]);
    b.node('DequantizeLinear', ['fc_q', 'fc_s', 'fc_z'], ['fc_w'], { axis: 1 }, 'fc_w_dq');
    b.node('MatMul', ['flat', 'fc_w'], ['logits'], {}, 'fc');
    const out = b.qdq('logits', { scale: 0.1, zeroPoint: 0, type: 'int8' });
    b.output(out);
    const g = importBuilt(b);
    expect(g.layers.map((l) => l.kind)).toEqual(['conv', 'add', 'globalavgpool', 'gemm']);
    expect(g.layers[1]?.inputs).toEqual(['c1_relu', 'x']);
    const fc = g.layers[3];
    if (fc?.kind !== 'gemm') throw new Error('expected a gemm');
    expect(fc.weights.shape).toEqual([3, 2]);
    // W[m][n] = B[n][m] - zp[m]: B = [[10, -20, 30], [-40, 50, -60]], zp = [0, 1, -1].
    expect(Array.from(fc.weights.int ?? [])).toEqual([10, -40, -21, 49, 31, -59]);
    expect(Array.from(fc.weights.scale ?? []).map((v) => Math.fround(v))).toEqual([0.1, 0.2, 0.3].map(Math.fround));
    expect(g.tensors.get('gap')?.quant).toEqual({ scale: Math.fround(0.04), zeroPoint: 5, signed: false, bits: 8 });
  });

  it('keeps large int32 biases exact (no round trip through float)', () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 1, 2, 2]);
    const x = b.qdq('x', { scale: 0.1, zeroPoint: 0, type: 'int8' });
    b.initializer('wq', Int8Array.of(7), [1, 1, 1, 1]);
    b.initializer('ws', Float32Array.of(0.003), []);
    b.initializer('wz', Int8Array.of(0), []);
    b.node('DequantizeLinear', ['wq', 'ws', 'wz'], ['w'], {}, 'w_dq');
    const big = 2 ** 30 + 12345;
    b.initializer('bq', Int32Array.of(big), [1]);
    b.initializer('bs', Float32Array.of(Math.fround(Math.fround(0.1) * Math.fround(0.003))), []);
    b.node('DequantizeLinear', ['bq', 'bs'], ['bias'], {}, 'b_dq');
    b.node('Conv', [x, 'w', 'bias'], ['c'], {}, 'conv');
    b.output(b.qdq('c', { scale: 0.2, zeroPoint: 0, type: 'int8' }));
    const layer = importBuilt(b).layers[0];
    expect(layer?.kind === 'conv' && Array.from(layer.weights.biasInt ?? [])).toEqual([big]);
  });

  it('refuses a partially quantized model, naming the tensor', () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 1, 4, 4]);
    const l1 = b.qdqConv({
      name: 'c1', input: 'x', inputQuant: { scale: 0.1, zeroPoint: 0, type: 'int8' },
      weights: randomFloats(9, 23), weightShape: [1, 1, 3, 3], weightQuant: { type: 'int8', perChannel: false },
      outputQuant: { scale: 0.1, zeroPoint: 0, type: 'int8' },
    });
    b.initializer('w', Float32Array.of(2), [1, 1, 1, 1]);
    b.node('Conv', [l1.output, 'w'], ['y'], {}, 'float_conv');
    b.output('y');
    expect(() => importBuilt(b)).toThrow(/tensor "y" has no QuantizeLinear\/DequantizeLinear pair.*partially quantized/);
  });

  it('refuses a DequantizeLinear on an activation without its QuantizeLinear', () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 1, 4, 4]);
    b.floats('s', [0.1], []);
    b.node('DequantizeLinear', ['x', 's'], ['y'], {}, 'lonely_dq');
    b.output('y');
    expect(() => importBuilt(b)).toThrow(/node "lonely_dq" \(DequantizeLinear\)/);
  });
});
