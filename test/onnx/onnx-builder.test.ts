import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { OnnxBuilder, quantizeValue, randomFloats } from '../helpers/onnx-builder.js';

async function run(model: Buffer, feeds: Record<string, Float32Array>, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v, dims)]));
  const out = await session.run(inputs);
  const first = Object.values(out)[0];
  return first!.data as Float32Array;
}

describe('onnx-builder', () => {
  it('builds a float conv that ONNX Runtime runs, with raw and typed initializers', async () => {
    for (const storage of ['raw', 'typed'] as const) {
      const b = new OnnxBuilder();
      b.input('x', ['N', 1, 3, 3]);
      b.initializer('w', Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9), [1, 1, 3, 3], { storage });
      b.initializer('b', Float32Array.of(0.5), [1], { storage });
      b.node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [3, 3] });
      b.output('y', ['N', 1, 1, 1]);
      const y = await run(b.encode(), { x: new Float32Array(9).fill(1) }, [1, 1, 3, 3]);
      expect(Array.from(y)).toEqual([45.5]);
    }
  });

  it('builds QDQ conv layers (per-tensor uint8 with zero point, per-channel int8) that ONNX Runtime runs', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 4, 4]);
    const w1 = randomFloats(3 * 2 * 3 * 3, 1, 0.5);
    const l1 = b.qdqConv({
      name: 'c1', input: 'x', inputQuant: { scale: 0.02, zeroPoint: 3, type: 'uint8' },
      weights: w1, weightShape: [3, 2, 3, 3], weightQuant: { type: 'uint8', perChannel: false, zeroPoint: 120 },
      bias: Float32Array.of(0.1, -0.2, 0.3), pads: [1, 1, 1, 1], activation: 'relu6',
      outputQuant: { scale: 0.05, zeroPoint: 0, type: 'uint8' },
    });
    expect(l1.weightZeroPoints).toEqual([120]);
    expect(l1.biasInt).toBeDefined();
    const l2 = b.qdqConv({
      name: 'c2', input: l1.output, inputScale: 0.05,
      weights: randomFloats(3 * 1 * 3 * 3, 2), weightShape: [3, 1, 3, 3], group: 3,
      weightQuant: { type: 'int8', perChannel: true }, bias: Float32Array.of(0, 0.1, 0.2),
      strides: [2, 2], pads: [0, 0, 1, 1], activation: 'relu',
      outputQuant: { scale: 0.03, zeroPoint: -5, type: 'int8' },
    });
    expect(l2.weightScales).toHaveLength(3);
    b.output(l2.output, [1, 3, 2, 2]);
    const x = randomFloats(32, 3, 1).map((v) => v + 1);
    const y = await run(b.encode(), { x }, [1, 2, 4, 4]);
    expect(y).toHaveLength(12);
    // Every output lies on the output quantization grid.
    for (const v of y) expect(Math.abs(v / 0.03 - Math.round(v / 0.03))).toBeLessThan(1e-3);
    expect(y.some((v) => v !== y[0])).toBe(true);
  });

  it('quantizes as ONNX QuantizeLinear does (round half to even, saturate)', () => {
    expect(quantizeValue(2.5, 1, 0, 'int8')).toBe(2);
    expect(quantizeValue(3.5, 1, 0, 'int8')).toBe(4);
    expect(quantizeValue(-2.5, 1, 0, 'int8')).toBe(-2);
    expect(quantizeValue(1000, 1, 0, 'int8')).toBe(127);
    expect(quantizeValue(-1, 1, 10, 'uint8')).toBe(9);
    expect(quantizeValue(-100, 1, 10, 'uint8')).toBe(0);
  });
});
