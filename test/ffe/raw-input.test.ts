/**
 * --raw-input: the example model's preprocessing (x * 3.2457 - 0.4242) and input quantization fold
 * exactly into layer 0 (q = p - 128 for raw pixel p; real zero is pixel 33, the folded padding value).
 * Raw pixels streamed into the folded design give exactly the integer model's output for the float
 * image p/255. A model whose input code is not affine in the raw pixel is refused with the reason.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MNIST_CALIBRATION, mnistCalibration } from '../../generator/data/index.js';
import { generateFfe, rawInputMapping } from '../../generator/ffe/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { randomConvGraph } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');

describe('raw 8-bit input folded into layer 0', () => {
  it('example model: exact affine mapping, and the folded conv layer is bit-exact on raw pixels', async () => {
    const onnx = readOnnxFile(MODEL);
    const graph = importDecoded(onnx);
    const quantized = await quantizeModel(onnx, graph, { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
    const mapping = rawInputMapping(quantized);
    expect(mapping.slope).toEqual([1]);
    const design = generateFfe(quantized, { fixedLayers: 1, rawInput: true, name: 'raw_t' });
    expect(design.input.type).toEqual({ bits: 8, signed: false });
    const rng = seededRandom(4);
    const model = new IntegerModel(quantized);
    const frames = [0, 1].map(() => Uint8Array.from({ length: 784 }, () => Math.floor(rng() * 256)));
    const beats = frames.flatMap((p) => imageBeats(Int32Array.from(p), [1, 28, 28], { channels: 1, bits: 8, signed: false }));
    const run = driveStream(design.top, beats, { validRate: 0.8, readyRate: 0.8, rng, expectedBeats: 2 * 784, tuser: design.input });
    const out = quantized.tensors[design.output.tensor]!;
    frames.forEach((p, i) => {
      const image = Float32Array.from(p, (v) => Math.fround(v * (1 / 255)));
      const expected = model.run(model.quantizeInput(image)).get(design.output.tensor)!;
      const got = beatsImage(run.beats.slice(i * 784, (i + 1) * 784), out.shape, { channels: design.output.channels, ...design.output.type });
      expect(Array.from(got), `frame ${i}`).toEqual(Array.from(expected));
    });
  }, 120_000);

  it('refuses a model whose input code is not an affine function of the raw pixel, naming why', () => {
    const graph = randomConvGraph(seededRandom(5), { inChannels: 1, outChannels: 1, group: 1, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], height: 4, width: 4 });
    expect(() => generateFfe(graph, { fixedLayers: 1, rawInput: true })).toThrow(/not an exact affine function of the raw pixel/);
  });
});
