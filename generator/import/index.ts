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
import { decodeOnnx, readOnnxFile, type OnnxModel } from '../onnx/decode.js';

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
  const opGraph = buildOpGraph(model);
  options.afterPass?.('buildOpGraph', opGraph);
  const passed = runPasses(opGraph, opGraphPasses, options.afterPass);
  const graph = groupLayers(passed);
  checkLayerGraph(graph);
  return graph;
}
