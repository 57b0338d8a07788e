/**
 * The float rung of the verification ladder: ONNX Runtime on the model itself, with every layer's output
 * tensor exposed. The model is decoded with onnx-proto, the wanted tensors are appended as graph outputs
 * and the model is re-encoded in memory (the file is never changed). Batch 1, CPU, one thread (the
 * machine is shared; results do not depend on it).
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { badInput } from '../generator/errors.js';

const { onnx } = onnxProto;
type IModelProto = onnxProto.onnx.IModelProto;

const FLOAT = 1;
const UINT8 = 2;

export interface OrtRunner {
  /** The model's input name and its [C, H, W] shape. */
  readonly inputName: string;
  /** Runs one image ([C, H, W] float32, batch 1); returns each requested tensor as float32 values. */
  run(image: Float32Array): Promise<Map<string, Float32Array>>;
  release(): Promise<void>;
}

/**
 * Opens `modelPath` in ONNX Runtime with `tensors` (activation names of the model) added as outputs.
 * Integer tensors (a QuantizeLinear's output) are returned as their integer values in a Float32Array.
 */
export async function openWithOutputs(modelPath: string, tensors: readonly string[], inputShape: readonly [number, number, number]): Promise<OrtRunner> {
  const model = decodeModel(modelPath);
  const graph = model.graph;
  if (!graph) throw badInput(`${modelPath}: the model has no graph`);
  const inputName = graph.input?.find((i) => !(graph.initializer ?? []).some((t) => t.name === i.name))?.name ?? '';
  if (!inputName) throw badInput(`${modelPath}: the model has no non-initializer input`);
  exposeTensors(model, tensors, modelPath);
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (err) {
    throw badInput(`${modelPath}: ONNX Runtime cannot load the model: ${(err as Error).message.split('\n')[0] ?? ''}`);
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

function decodeModel(modelPath: string): IModelProto {
  let bytes: Buffer;
  try {
    bytes = readFileSync(modelPath);
  } catch (err) {
    throw badInput(`${modelPath}: cannot read the model (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw badInput(`${modelPath}: not a valid ONNX protobuf (${(err as Error).message})`);
  }
}

/** Appends each tensor not already an output, typed from its producer (QuantizeLinear: its zero point's type). */
function exposeTensors(model: IModelProto, tensors: readonly string[], modelPath: string): void {
  const graph = model.graph ?? {};
  const outputs = (graph.output ??= []);
  const existing = new Set(outputs.map((o) => o.name));
  const producers = new Map<string, onnxProto.onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const o of node.output ?? []) producers.set(o, node);
  const inputs = new Set((graph.input ?? []).map((i) => i.name));
  for (const name of tensors) {
    if (existing.has(name)) continue;
    if (!producers.has(name) && !inputs.has(name)) throw badInput(`${modelPath}: no node produces tensor '${name}'`);
    outputs.push({ name, type: { tensorType: { elemType: elemTypeOf(name, producers, model) } } });
    existing.add(name);
  }
}

function elemTypeOf(name: string, producers: Map<string, onnxProto.onnx.INodeProto>, model: IModelProto): number {
  const node = producers.get(name);
  if (node?.opType !== 'QuantizeLinear') return FLOAT;
  const zeroPoint = node.input?.[2];
  if (!zeroPoint) return UINT8;
  const init = model.graph?.initializer?.find((t) => t.name === zeroPoint);
  if (init?.dataType) return init.dataType;
  const constant = producers.get(zeroPoint)?.attribute?.find((a) => a.name === 'value')?.t?.dataType;
  return constant ?? UINT8;
}
