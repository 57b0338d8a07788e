/**
 * Real models: the ImageNet MobileNetV1 0.25 in ../shared/models (float and QDQ forms; read there, never
 * copied) and the example MNIST model. `fixynn inspect` works on each, and its parameter and MAC totals
 * equal a count made here directly from the ONNX initializers and node attributes with onnx-proto.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { main } from '../../generator/cli.js';
import type { InspectReport } from '../../generator/commands/inspect.js';
import type { ConvLayer } from '../../generator/graph/ir.js';
import { importModel } from '../../generator/import/index.js';
import { expectSameAsOrt } from '../graph/helpers.js';
import { captureStdout } from '../helpers/capture-stdout.js';
import { MOBILENET_FLOAT, MOBILENET_QDQ, requireModels } from '../helpers/models.js';

const { onnx } = onnxProto;
const MOBILENET = (form: string): string => (form === 'qdq' ? MOBILENET_QDQ : MOBILENET_FLOAT);
const EXAMPLE = join(import.meta.dirname, '../../examples/mnist-mobilenet/model.onnx');

const stdout = captureStdout();

async function inspectJson(path: string): Promise<InspectReport> {
  expect(await main(['node', 'fixynn', 'inspect', path, '--json'])).toBe(0);
  return JSON.parse(stdout()) as InspectReport;
}

/** Everything the independent count needs, read straight from the protobuf. */
interface RawModel {
  readonly nodes: onnxProto.onnx.INodeProto[];
  readonly dims: Map<string, number[]>;
  readonly producer: Map<string, onnxProto.onnx.INodeProto>;
}

function readRaw(path: string): RawModel {
  const graph = onnx.ModelProto.decode(readFileSync(path)).graph as onnxProto.onnx.IGraphProto;
  const dims = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).map(Number)]));
  const nodes = graph.node ?? [];
  const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  return { nodes, dims, producer };
}

/** Dims of a weight input: the initializer itself, or the one behind its DequantizeLinear. */
function weightDims(raw: RawModel, name: string): number[] {
  const direct = raw.dims.get(name);
  if (direct) return direct;
  const dq = raw.producer.get(name);
  return raw.dims.get(dq?.input?.[0] ?? '') ?? [];
}

const count = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);

function ints(node: onnxProto.onnx.INodeProto, name: string, dflt: number[]): number[] {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a ? (a.ints ?? []).map(Number) : dflt;
}

/**
 * Parameters: each Conv/Gemm's weight elements plus one bias per output channel (a BatchNormalization
 * supplies the bias of a conv without one). MACs: each conv output value costs C/group*kH*kW, tracked
 * through the spatial sizes from the node attributes; a Gemm costs its weight count.
 */
function independentCount(raw: RawModel, height: number, width: number): { parameters: number; macs: number; weighted: number } {
  let [h, w] = [height, width];
  let parameters = 0;
  let macs = 0;
  let weighted = 0;
  for (const node of raw.nodes) {
    if (node.opType === 'Conv' || node.opType === 'AveragePool' || node.opType === 'MaxPool') {
      const wd = node.opType === 'Conv' ? weightDims(raw, node.input?.[1] ?? '') : [];
      const [kh, kw] = node.opType === 'Conv' ? [wd[2] ?? 1, wd[3] ?? 1] : ints(node, 'kernel_shape', [1, 1]);
      const [sh, sw] = ints(node, 'strides', [1, 1]);
      const [pt, pl, pb, pr] = ints(node, 'pads', [0, 0, 0, 0]);
      h = Math.floor((h + (pt ?? 0) + (pb ?? 0) - (kh ?? 1)) / (sh ?? 1)) + 1;
      w = Math.floor((w + (pl ?? 0) + (pr ?? 0) - (kw ?? 1)) / (sw ?? 1)) + 1;
      if (node.opType === 'Conv') {
        parameters += count(wd) + (wd[0] ?? 0);
        macs += h * w * count(wd);
        weighted++;
      }
    } else if (node.opType === 'GlobalAveragePool') {
      [h, w] = [1, 1];
    } else if (node.opType === 'Gemm' || node.opType === 'MatMul') {
      const wd = weightDims(raw, node.input?.[1] ?? '');
      const transB = Number((node.attribute ?? []).find((x) => x.name === 'transB')?.i ?? 0) === 1;
      const outputs = transB ? wd[0] ?? 0 : wd[1] ?? 0;
      parameters += count(wd) + (node.opType === 'Gemm' ? outputs : 0);
      macs += count(wd);
      weighted++;
    }
  }
  return { parameters, macs, weighted };
}

describe('MobileNetV1 0.25 (ImageNet)', () => {
  it.for(['float', 'qdq'])('inspect (%s): 29 layers, totals equal the independent count', async (form, ctx) => {
    requireModels(ctx, MOBILENET(form));
    const report = await inspectJson(MOBILENET(form));
    const expected = independentCount(readRaw(MOBILENET(form)), 224, 224);
    expect(report.layers).toHaveLength(29);
    expect(report.layers.filter((l) => l.op.startsWith('dwconv'))).toHaveLength(13);
    expect(report.layers[27]?.op).toBe('avgpool 7x7/2x2');
    expect(report.layers.filter((l) => l.parameters > 0)).toHaveLength(expected.weighted);
    expect(report.totals.parameters).toBe(expected.parameters);
    expect(report.totals.macs).toBe(expected.macs);
    expect(report.output).toEqual({ name: 'op28_conv_2d', shape: [1001, 1, 1] });
    expect(report.quantized).toBe(form === 'qdq');
    expect(report.splitPoints).toHaveLength(30);
    console.info(`MobileNetV1 0.25 ${form}: ${report.layers.length} layers, ${report.totals.parameters} parameters, ${report.totals.macs} MACs`);
  });

  it('the float form, imported and executed in float, computes what ONNX Runtime computes', async (ctx) => {
    requireModels(ctx, MOBILENET_FLOAT);
    const diff = await expectSameAsOrt(readFileSync(MOBILENET('float')), importModel(MOBILENET('float')));
    console.info(`MobileNetV1 0.25 float: largest difference to ONNX Runtime ${diff.toExponential(2)}`);
  });

  it('the QDQ form carries the model quantization: uint8 activations, w - zp, int32 biases', (ctx) => {
    requireModels(ctx, MOBILENET_QDQ);
    const graph = importModel(MOBILENET('qdq'));
    const raw = onnx.ModelProto.decode(readFileSync(MOBILENET('qdq'))).graph as onnxProto.onnx.IGraphProto;
    const init = new Map((raw.initializer ?? []).map((t) => [t.name ?? '', t]));
    const bytes = (name: string): Uint8Array => init.get(name)?.rawData ?? new Uint8Array();
    expect(graph.tensors.get(graph.firstTensor)?.quant).toEqual({ scale: 0.0078125, zeroPoint: 128, signed: false, bits: 8 });
    for (const t of graph.tensors.values()) expect(t.quant?.bits).toBe(8);
    const convs = graph.layers.filter((l): l is ConvLayer => l.kind === 'conv');
    expect(convs).toHaveLength(28);
    for (const layer of convs) {
      const zp = bytes(`${layer.name}_w_z`)[0] ?? 0;
      expect(Array.from(layer.weights.int ?? []), layer.name).toEqual(Array.from(bytes(`${layer.name}_w_q`), (q) => q - zp));
      const b = bytes(`${layer.name}_b_q`);
      const biasQ = Array.from({ length: b.length / 4 }, (_, i) => new DataView(b.buffer, b.byteOffset).getInt32(i * 4, true));
      expect(Array.from(layer.weights.biasInt ?? []), layer.name).toEqual(biasQ);
    }
  });
});

describe('example MNIST model', () => {
  it('inspect: totals equal the independent count; preprocessing recognized', async () => {
    const report = await inspectJson(EXAMPLE);
    const expected = independentCount(readRaw(EXAMPLE), 28, 28);
    expect(report.layers.filter((l) => l.parameters > 0)).toHaveLength(expected.weighted);
    expect(report.totals.parameters).toBe(expected.parameters);
    expect(report.totals.macs).toBe(expected.macs);
    const graph = importModel(EXAMPLE);
    expect(graph.firstTensor).not.toBe(graph.input.name);
    expect(graph.input.preprocess.scale[0]).not.toBe(1);
    await expectSameAsOrt(readFileSync(EXAMPLE), graph);
    console.info(`example: ${report.layers.length} layers, ${report.totals.parameters} parameters, ${report.totals.macs} MACs`);
  });
});
