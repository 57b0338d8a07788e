/**
 * ONNX's own conformance models (Debian's libonnx-testdata, installed by scripts/setup-tools.sh): each
 * model folder holds model.onnx and test_data_set_N/{input_i,output_i}.pb (TensorProto). A node test
 * passes its weights as graph inputs (x, W, B); `bindConstantInputs` turns every input after the first
 * into an initializer holding its test data, as a trained network would hold it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
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
