/** Shared helpers of the graph tests: import a built model, run it in ONNX Runtime and in float. */
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { layerGraphProblems } from '../../generator/graph/check.js';
import type { LayerGraph } from '../../generator/graph/ir.js';
import { opGraphProblems, printOpGraph } from '../../generator/graph/op-graph-check.js';
import { importModelBytes } from '../../generator/import/index.js';
import { randomFloats, type OnnxBuilder } from '../helpers/onnx-builder.js';
import { evaluateFloat } from '../helpers/float-eval.js';

/** Import a built model, checking the op graph after every pass and the layer graph at the end. */
export function importBuilt(b: OnnxBuilder, file = 'test.onnx'): LayerGraph {
  const graph = importModelBytes(b.encode(), file, {
    afterPass: (pass, opGraph) => expect(opGraphProblems(opGraph), `after ${pass}:\n${printOpGraph(opGraph)}`).toEqual([]),
  });
  expect(layerGraphProblems(graph)).toEqual([]);
  return graph;
}

function softmax(v: Float64Array): Float64Array {
  const max = Math.max(...v);
  const e = v.map((x) => Math.exp(x - max));
  const s = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / s);
}

/**
 * The imported graph, executed in float64, computes what ONNX Runtime computes on the original model
 * (within float32 rounding). Returns the largest absolute difference.
 */
export async function expectSameAsOrt(model: OnnxBuilder | Uint8Array, graph: LayerGraph, seed = 7): Promise<number> {
  const [c, h, w] = graph.input.shape;
  const x = randomFloats(c * h * w, seed, 2);
  const session = await ort.InferenceSession.create(model instanceof Uint8Array ? model : model.encode());
  const feeds = { [graph.input.name]: new ort.Tensor('float32', x, [1, c, h, w]) };
  const result = await session.run(feeds);
  const expected = result[graph.modelOutput]?.data as Float32Array;
  const scores = evaluateFloat(graph, x).get(graph.output)?.data ?? new Float64Array();
  const ours = graph.softmaxOutside ? softmax(scores) : scores;
  expect(ours.length).toBe(expected.length);
  let maxDiff = 0;
  let maxAbs = 0;
  ours.forEach((v, i) => {
    maxDiff = Math.max(maxDiff, Math.abs(v - (expected[i] ?? 0)));
    maxAbs = Math.max(maxAbs, Math.abs(expected[i] ?? 0));
  });
  expect(maxDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs));
  return maxDiff;
}
