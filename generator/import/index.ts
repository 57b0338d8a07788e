/**
 * The one entry point from an `.onnx` file to the LayerGraph: decode, build the op graph (constants
 * folded, shapes inferred), run the float passes, group into layers, check. A caller that also runs the
 * model in ONNX Runtime decodes once (`readOnnxFile`) and imports the decoded model (`importDecoded`).
 */
import { checkLayerGraph } from '../graph/check.js';
import { groupLayers } from '../graph/group-layers.js';
import type { LayerGraph } from '../graph/ir.js';
import { buildOpGraph } from '../graph/infer-shapes.js';
import type { OpGraph } from '../graph/op-graph.js';
import { runPasses } from '../graph/pass.js';
import { opGraphPasses } from '../graph/passes/index.js';
import { badInput } from '../common/errors.js';
import { decodeOnnx, readOnnxFile, type OnnxModel, type UnsupportedNode } from '../onnx/decode.js';

export interface ImportOptions {
  /** Called with each op-graph stage (for --dump-after style debugging). */
  readonly afterPass?: (name: string, graph: OpGraph) => void;
}

/** Import a model file. Throws a FixynnError (exit 2) naming the file, node and cause on bad input. */
export function importModel(path: string, options: ImportOptions = {}): LayerGraph {
  return importDecoded(readOnnxFile(path), options);
}

/** Import from bytes already in memory (tests, fuzzing); `file` names the model in messages. */
export function importModelBytes(bytes: Uint8Array, file: string, options: ImportOptions = {}): LayerGraph {
  return importDecoded(decodeOnnx(bytes, file), options);
}

/** Import a model already decoded (the same OnnxModel then feeds ONNX Runtime: onnx/runtime.ts). */
export function importDecoded(model: OnnxModel, options: ImportOptions = {}): LayerGraph {
  const refused = model.unsupported?.[0];
  if (refused !== undefined) throw badInput(refused.message);
  const opGraph = buildOpGraph(model);
  options.afterPass?.('buildOpGraph', opGraph);
  const passed = runPasses(opGraph, opGraphPasses, options.afterPass);
  const graph = groupLayers(passed);
  checkLayerGraph(graph);
  return graph;
}

/**
 * The part of a model before its first unsupported node (decoded with `keepUnsupported`): the nodes that
 * node's data input depends on, with that tensor as the output. A fixed part needs only its own layers,
 * so an operator fixynn does not support after the split (a Sigmoid in the classifier) must not block it;
 * `cut` is that node (null when the model has none), for the message when the split lies past it. ONNX
 * Runtime still runs the whole model as written (the proto is unchanged; it only reads more outputs).
 */
export function supportedPrefix(model: OnnxModel): { model: OnnxModel; cut: UnsupportedNode | null } {
  const unsupported = model.unsupported ?? [];
  if (unsupported.length === 0) return { model, cut: null };
  const producer = new Map<string, OnnxModel['nodes'][number]>();
  for (const n of model.nodes) for (const o of n.outputs) producer.set(o, n);
  const refusedBy = new Map<string, UnsupportedNode>();
  for (const n of unsupported) for (const o of n.outputs) refusedBy.set(o, n);
  const inputName = model.inputs[0]?.name;
  // The earliest unsupported node in data-flow order: one whose data input depends on no other.
  let cut = [...unsupported].sort((a, b) => a.order - b.order)[0]!;
  for (;;) {
    const data = cut.inputs.find((t) => t !== '' && !model.initializers.has(t));
    if (data === undefined || data === inputName) throw badInput(`${cut.message} (it takes the model's input: no layer lies before it)`);
    const kept = new Set<OnnxModel['nodes'][number]>();
    const earlier: UnsupportedNode[] = [];
    const stack = [data];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      const refused = refusedBy.get(t);
      if (refused !== undefined) earlier.push(refused);
      const n = producer.get(t);
      if (n === undefined || kept.has(n)) continue;
      kept.add(n);
      stack.push(...n.inputs.filter((x) => x !== ''));
    }
    if (earlier.length > 0) {
      cut = earlier.sort((a, b) => a.order - b.order)[0]!;
      continue;
    }
    const nodes = model.nodes.filter((n) => kept.has(n));
    const outputs = [{ name: data, elemType: 1, shape: undefined }];
    const { unsupported: _dropped, ...rest } = model;
    return { model: { ...rest, nodes, outputs }, cut };
  }
}
