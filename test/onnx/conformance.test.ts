/**
 * ONNX's conformance models (libonnx-testdata) that are 2-D image networks in fixynn's operator set: each
 * imports, is quantized (8 bits, calibrated on its own test inputs) and the integer model run on each of
 * its test_data_set inputs agrees with the expected outputs as closely as 8-bit quantization can
 * (SQNR >= 30 dB, or every value within 3 output LSB). The batch of a model's input holds independent
 * images: each runs alone. The rest of the 1,072 models are counted by `npm run bench:conformance`.
 */
import { describe, expect, it } from 'vitest';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { dequantize, IntegerModel } from '../../generator/golden/integer-model.js';
import { importDecoded } from '../../generator/import/index.js';
import { decodeOnnx } from '../../generator/onnx/decode.js';
import { bindConstantInputs, conformanceInstalled, readTestDataSets } from '../helpers/conformance.js';

/** The 2-D image models of the package in fixynn's operator set (conv of every kind, pools). */
export const IMAGE_MODELS = [
  'node/test_averagepool_2d_default',
  'node/test_averagepool_2d_pads',
  'node/test_averagepool_2d_pads_count_include_pad',
  'node/test_averagepool_2d_precomputed_pads',
  'node/test_averagepool_2d_precomputed_pads_count_include_pad',
  'node/test_averagepool_2d_precomputed_same_upper',
  'node/test_averagepool_2d_precomputed_strides',
  'node/test_averagepool_2d_same_lower',
  'node/test_averagepool_2d_same_upper',
  'node/test_averagepool_2d_strides',
  'node/test_basic_conv_with_padding',
  'node/test_basic_conv_without_padding',
  'node/test_conv_with_autopad_same',
  'node/test_conv_with_strides_and_asymmetric_padding',
  'node/test_conv_with_strides_no_padding',
  'node/test_conv_with_strides_padding',
  'node/test_maxpool_2d_default',
  'node/test_maxpool_2d_pads',
  'node/test_maxpool_2d_precomputed_pads',
  'node/test_maxpool_2d_precomputed_same_upper',
  'node/test_maxpool_2d_precomputed_strides',
  'node/test_maxpool_2d_same_lower',
  'node/test_maxpool_2d_same_upper',
  'node/test_maxpool_2d_strides',
  'pytorch-converted/test_AvgPool2d',
  'pytorch-converted/test_AvgPool2d_stride',
  'pytorch-converted/test_Conv2d',
  'pytorch-converted/test_Conv2d_depthwise',
  'pytorch-converted/test_Conv2d_depthwise_padded',
  'pytorch-converted/test_Conv2d_depthwise_strided',
  'pytorch-converted/test_Conv2d_depthwise_with_multiplier',
  'pytorch-converted/test_Conv2d_groups',
  'pytorch-converted/test_Conv2d_groups_thnn',
  'pytorch-converted/test_Conv2d_no_bias',
  'pytorch-converted/test_Conv2d_padding',
  'pytorch-converted/test_Conv2d_strided',
  'pytorch-converted/test_MaxPool2d',
  'pytorch-operator/test_operator_conv',
] as const;

/** A model's import, quantization and integer outputs vs its expected outputs, per image. */
export async function runConformanceModel(model: string) {
  const sets = readTestDataSets(model);
  const first = sets[0];
  if (!first) throw new Error(`${model}: no test_data_set`);
  const onnx = decodeOnnx(bindConstantInputs(model, first.inputs), model);
  const graph = importDecoded(onnx);
  const [c, h, w] = graph.input.shape;
  const size = c * h * w;
  const images: Float32Array[] = [];
  const expected: Float32Array[] = [];
  for (const set of sets) {
    const input = set.inputs[0];
    const output = set.outputs[0];
    if (!input || !output) throw new Error(`${model}: a test_data_set without input_0 or output_0`);
    const batch = input.data.length / size;
    const outSize = output.data.length / batch;
    for (let n = 0; n < batch; n++) {
      images.push(Float32Array.from(input.data.subarray(n * size, (n + 1) * size)));
      expected.push(Float32Array.from(output.data.subarray(n * outSize, (n + 1) * outSize)));
    }
  }
  const qg = await quantizeModel(onnx, graph, { calibImages: images });
  const integer = new IntegerModel(qg);
  const outTensor = qg.tensors[qg.output];
  if (!outTensor) throw new Error(`${model}: no output tensor`);
  const results = images.map((image, i) => {
    const q = integer.run(integer.quantizeInput(image)).get(qg.output) ?? new Int32Array();
    const ours = dequantize(outTensor, q);
    const want = expected[i] ?? new Float32Array();
    let signal = 0;
    let noise = 0;
    let worst = 0;
    for (let k = 0; k < want.length; k++) {
      const e = (ours[k] ?? NaN) - (want[k] ?? 0);
      signal += (want[k] ?? 0) ** 2;
      noise += e * e;
      worst = Math.max(worst, Math.abs(e));
    }
    return { length: ours.length, expectedLength: want.length, sqnr: 10 * Math.log10(signal / noise), lsb: worst / outTensor.quant.scale };
  });
  return { graph, qg, images, results };
}

describe('ONNX conformance models (libonnx-testdata)', () => {
  it('is installed (bash scripts/setup-tools.sh installs Debian package libonnx-testdata)', () => {
    expect(conformanceInstalled()).toBe(true);
  });

  it.each(IMAGE_MODELS)('%s: the integer model matches the expected outputs', async (model) => {
    const { results } = await runConformanceModel(model);
    for (const r of results) {
      expect(r.length).toBe(r.expectedLength);
      expect(r.sqnr >= 30 || r.lsb <= 3, `SQNR ${r.sqnr.toFixed(1)} dB, worst ${r.lsb.toFixed(2)} LSB`).toBe(true);
    }
  });
});
