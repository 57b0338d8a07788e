/**
 * A TensorFlow-style network as its exporters write it: SAME convolution with LeakyReLU, SAME average
 * pooling whose border windows divide by their real pixels only (count_include_pad 0), a per-channel
 * PReLU after a pointwise conv, a max pool. Through the whole ladder: the imported graph computes what ONNX
 * Runtime computes, the integer model follows ONNX Runtime, and generate + verify in Verilator are
 * bit-exact with the integer model on every layer's tap, lint clean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { loadInputs, writeNpy } from '../../generator/data/index.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { describeMismatch, verifyDesign } from '../../verify/ffe/index.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { lint } from '../../verify/sim/index.js';
import { expectSameAsOrt } from '../graph/helpers.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { generate, rtlOf } from './ladder.js';

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-tf-style-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tfStyleModel(): OnnxBuilder {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('image', [1, 3, 11, 10]);
  b.initializer('w1', randomFloats(6 * 3 * 9, 61, 0.5), [6, 3, 3, 3]);
  b.floats('b1', [0.1, -0.2, 0.05, 0, 0.3, -0.1]);
  b.node('Conv', ['image', 'w1', 'b1'], ['c1'], { kernel_shape: [3, 3], auto_pad: 'SAME_UPPER' }, 'conv1');
  b.node('LeakyRelu', ['c1'], ['a1'], { alpha: 0.2 }, 'leaky1');
  b.node('AveragePool', ['a1'], ['p1'], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }, 'pool1');
  b.initializer('w2', randomFloats(4 * 6, 62, 0.6), [4, 6, 1, 1]);
  b.floats('b2', [0.05, -0.1, 0.2, 0]);
  b.node('Conv', ['p1', 'w2', 'b2'], ['c2'], { kernel_shape: [1, 1] }, 'conv2');
  b.floats('slope', [0.25, 0, 0.1, 0.5], [4, 1, 1]);
  b.node('PRelu', ['c2', 'slope'], ['a2'], {}, 'prelu2');
  b.node('AveragePool', ['a2'], ['y'], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_LOWER' }, 'pool2');
  b.output('y');
  return b;
}

describe('a TensorFlow-style network (SAME pooling without pads in the divisor, LeakyReLU, PReLU)', () => {
  it('imports, quantizes, and runs bit-exact through generate and verify in Verilator', async () => {
    const b = tfStyleModel();
    const model = b.save(path.join(work, 'tf-style.onnx'));
    const onnx = readOnnxFile(model);
    const graph = importDecoded(onnx);
    expect(graph.layers.map((l) => l.kind)).toEqual(['conv', 'avgpool', 'conv', 'avgpool']);
    expect(graph.layers.filter((l) => l.kind === 'avgpool').map((l) => l.kind === 'avgpool' && l.countIncludePad)).toEqual([false, false]);
    await expectSameAsOrt(b, graph);

    const calib = loadInputs('random', graph.input.shape, { count: 12, seed: 71 }).images;
    const data = loadInputs('random', graph.input.shape, { count: 3, seed: 72 }).images;
    const quantized = await quantizeModel(onnx, graph, { calibImages: calib });
    const [conv1, pool1, conv2] = quantized.layers;
    expect(conv1?.kind === 'conv' && conv1.requant.negative?.multiplier.length).toBe(6);
    expect(pool1?.kind === 'avgpool' && pool1.borderDivisors?.map((d) => d.count)).toEqual([4, 6]);
    expect(conv2?.kind === 'conv' && conv2.requant.negative?.multiplier[1]).toBe(0);
    const report = await evaluate({ onnx, graph, quantized, images: data });
    for (const layer of report.layers) expect(layer.sqnrDb, `layer ${layer.index} ${layer.kind}`).toBeGreaterThan(25);

    const npy = (images: readonly Float32Array[], file: string): string => {
      const flat = new Float32Array(images.length * (images[0]?.length ?? 0));
      images.forEach((img, i) => flat.set(img, i * img.length));
      writeNpy(file, flat, [images.length, ...graph.input.shape]);
      return file;
    };
    const out = path.join(work, 'design');
    await generate(model, { fixedLayers: String(graph.layers.length), out, calib: npy(calib, path.join(work, 'calib.npy')) });
    const summary = await verifyDesign(out, { simulator: 'verilator', images: 3, data: npy(data, path.join(work, 'data.npy')) });
    expect(summary.mismatches, summary.firstMismatch ? describeMismatch(summary.firstMismatch) : '').toBe(0);
    const { files, top } = rtlOf(out);
    expect(await lint(files, top)).toEqual([]);
  }, 600_000);
});
