/**
 * ONNX's own conformance models (Debian's libonnx-testdata, installed by scripts/setup-tools.sh): each
 * model folder holds model.onnx and test_data_set_N/{input_i,output_i}.pb (TensorProto). A node test
 * passes its weights as graph inputs (x, W, B); `bindConstantInputs` turns every input after the first
 * into an initializer holding its test data, as a trained network would hold it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { dequantize, IntegerModel } from '../../generator/golden/integer-model.js';
import { importDecoded } from '../../generator/import/index.js';
import { decodeOnnx } from '../../generator/onnx/decode.js';
import { decodeTensor, type Tensor } from '../../generator/onnx/tensor.js';

const { onnx } = onnxProto;

export const CONFORMANCE_DIR = '/usr/share/libonnx-testdata/data';

export function conformanceInstalled(): boolean {
  return existsSync(CONFORMANCE_DIR);
}

/** Every model folder, as "node/test_conv..." relative to CONFORMANCE_DIR, sorted. */
export function conformanceModels(): string[] {
  return readdirSync(CONFORMANCE_DIR).sort().flatMap((group) =>
    readdirSync(join(CONFORMANCE_DIR, group)).sort().filter((m) => existsSync(join(CONFORMANCE_DIR, group, m, 'model.onnx'))).map((m) => `${group}/${m}`));
}

export interface TestDataSet {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
}

export function readTestDataSets(model: string): TestDataSet[] {
  const dir = join(CONFORMANCE_DIR, model);
  const read = (path: string): Tensor => decodeTensor(onnx.TensorProto.decode(readFileSync(path)), path);
  return readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort().map((set) => {
    const files = readdirSync(join(dir, set)).sort();
    const of = (prefix: string) => files.filter((f) => f.startsWith(prefix)).sort((a, b) => index(a) - index(b)).map((f) => read(join(dir, set, f)));
    return { inputs: of('input_'), outputs: of('output_') };
  });
}

function index(file: string): number {
  return Number(/_(\d+)\.pb$/.exec(file)?.[1] ?? 0);
}

/** The model's bytes with graph inputs 1.. made initializers from `values` (the first test data set). */
export function bindConstantInputs(model: string, values: readonly Tensor[]): Uint8Array {
  const proto = onnx.ModelProto.decode(readFileSync(join(CONFORMANCE_DIR, model, 'model.onnx')));
  const graph = proto.graph ?? {};
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name));
  const free = (graph.input ?? []).filter((i) => !initialized.has(i.name));
  const bound = free.slice(1).map((info, k) => {
    const t = values[k + 1];
    if (!t) throw new Error(`${model}: no test data for input ${info.name}`);
    return { name: info.name ?? null, dims: [...t.dims], dataType: 1, floatData: Array.from(t.data) };
  });
  if (bound.length === 0) return onnx.ModelProto.encode(proto).finish();
  const names = new Set(bound.map((t) => t.name));
  const rewritten = { ...proto, graph: { ...graph, input: (graph.input ?? []).filter((i) => !names.has(i.name ?? '')), initializer: [...(graph.initializer ?? []), ...bound] } };
  return onnx.ModelProto.encode(rewritten).finish();
}

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
  'node/test_maxpool_2d_dilations',
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
  'pytorch-converted/test_Conv2d_dilated',
  'pytorch-converted/test_Conv2d_groups',
  'pytorch-converted/test_Conv2d_groups_thnn',
  'pytorch-converted/test_Conv2d_no_bias',
  'pytorch-converted/test_Conv2d_padding',
  'pytorch-converted/test_Conv2d_strided',
  'pytorch-converted/test_MaxPool2d',
  'pytorch-converted/test_MaxPool2d_stride_padding_dilation',
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
