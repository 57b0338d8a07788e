/**
 * ONNX Runtime on a decoded model, with chosen intermediate tensors exposed: the float executor that
 * calibration needs and the float rung of the verification ladder. The tensors are appended as graph
 * outputs to a copy of the model's protobuf (decode.ts keeps it), re-encoded in memory; the file is never
 * read again or changed. Batch 1, CPU, one thread (the machine is shared; results do not depend on it).
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { badInput } from '../common/errors.js';
import type { OnnxModel } from './decode.js';
import { dtypeCode, type Tensor } from './tensor.js';

const { onnx } = onnxProto;

const FLOAT = 1;
const UINT8 = 2;

export interface OrtRunner {
  /** The model's input name. */
  readonly inputName: string;
  /** Runs one image ([C, H, W] float32, batch 1); returns each requested tensor as float32 values. */
  run(image: Float32Array): Promise<Map<string, Float32Array>>;
  release(): Promise<void>;
}

/**
 * Opens `model` in ONNX Runtime with `tensors` (activation names of the model) added as outputs; the
 * input is fed as [1, ...inputShape]. Integer tensors (a QuantizeLinear's output) are returned as their
 * integer values in a Float32Array.
 */
export async function openWithOutputs(model: OnnxModel, tensors: readonly string[], inputShape: readonly number[]): Promise<OrtRunner> {
  const inputName = model.inputs[0]?.name ?? '';
  if (!inputName) throw badInput(`${model.file}: the model has no non-initializer input`);
  const graph = model.proto.graph ?? {};
  const extended = {
    ...model.proto,
    ...(model.opset < 7 ? liftedToOpset7(model.proto) : {}),
    graph: { ...graph, node: model.opset < 7 ? (graph.node ?? []).map(withoutOpset6Attributes) : (graph.node ?? []), input: (graph.input ?? []).map((i) => (model.initializers.has(i.name ?? '') ? i : freeBatch(i))), output: [...(graph.output ?? []).map(freeBatch), ...addedOutputs(model, tensors)], valueInfo: (graph.valueInfo ?? []).map(freeBatch) },
  };
  const bytes = onnx.ModelProto.encode(extended).finish();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (err) {
    throw badInput(`${model.file}: ONNX Runtime cannot load the model: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  const wanted = [...new Set(tensors)];
  return {
    inputName,
    async run(image) {
      const feed = { [inputName]: new ort.Tensor('float32', image, [1, ...inputShape]) };
      const results = await session.run(feed, wanted);
      const out = new Map<string, Float32Array>();
      for (const name of wanted) {
        const t = results[name];
        if (!t) throw new Error(`ONNX Runtime returned no '${name}'`);
        out.set(name, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>));
      }
      return out;
    },
    release: () => session.release(),
  };
}

/**
 * ONNX Runtime no longer runs some opset-6 kernels (AveragePool-1). For fixynn's operators opset 7 differs
 * from 6 only in dropping attributes (is_test, broadcast: decode.ts refuses the axis broadcast that would
 * differ), so the copy run here imports opset 7 and drops them: the same model, in the form ORT runs.
 */
function liftedToOpset7(proto: onnxProto.onnx.ModelProto): { opsetImport: onnxProto.onnx.IOperatorSetIdProto[] } {
  return { opsetImport: (proto.opsetImport ?? []).map((o) => (!o.domain || o.domain === 'ai.onnx' ? { ...o, version: 7 } : o)) };
}

const OPSET6_ONLY = new Set(['is_test', 'broadcast', 'consumed_inputs']);

function withoutOpset6Attributes(node: onnxProto.onnx.INodeProto): onnxProto.onnx.INodeProto {
  return { ...node, attribute: (node.attribute ?? []).filter((a) => !OPSET6_ONLY.has(a.name ?? '')) };
}

/**
 * The value with a symbolic batch dimension: a model declaring a fixed batch N > 1 (N independent images,
 * e.g. ONNX's conformance models) runs here one image at a time, as fixynn imports it.
 */
function freeBatch(info: onnxProto.onnx.IValueInfoProto): onnxProto.onnx.IValueInfoProto {
  const shape = info.type?.tensorType?.shape;
  const [first, ...rest] = shape?.dim ?? [];
  if (!shape || !first || (first.dimValue ?? null) === null) return info;
  return { ...info, type: { ...info.type, tensorType: { ...info.type?.tensorType, shape: { ...shape, dim: [{ dimParam: 'batch' }, ...rest] } } } };
}

/** An output for each tensor not already one, typed from its producer (QuantizeLinear: its zero point's type). */
function addedOutputs(model: OnnxModel, tensors: readonly string[]): onnxProto.onnx.IValueInfoProto[] {
  // The proto's own outputs (model.outputs may be a prefix's: import/index.ts supportedPrefix).
  const existing = new Set((model.proto.graph?.output ?? []).map((o) => o.name ?? ''));
  const inputs = new Set(model.inputs.map((i) => i.name));
  const producers = new Map(model.nodes.flatMap((node) => node.outputs.map((o) => [o, node] as const)));
  const added: onnxProto.onnx.IValueInfoProto[] = [];
  for (const name of tensors) {
    if (existing.has(name)) continue;
    if (!producers.has(name) && !inputs.has(name)) throw badInput(`${model.file}: no node produces tensor '${name}'`);
    added.push({ name, type: { tensorType: { elemType: elemTypeOf(name, model, producers) } } });
    existing.add(name);
  }
  return added;
}

function elemTypeOf(name: string, model: OnnxModel, producers: ReadonlyMap<string, OnnxModel['nodes'][number]>): number {
  const node = producers.get(name);
  if (node?.op !== 'QuantizeLinear') return FLOAT;
  const zeroPoint = node.inputs[2];
  if (!zeroPoint) return UINT8;
  const init = model.initializers.get(zeroPoint);
  if (init) return dtypeCode(init.dtype);
  const constant = producers.get(zeroPoint)?.attrs['value'] as Tensor | undefined;
  return constant ? dtypeCode(constant.dtype) : UINT8;
}
