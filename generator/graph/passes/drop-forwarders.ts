/**
 * Identity, Dropout (inference) and Flatten / Reshape / Squeeze to 2-D only forward their input: remove them,
 * letting the input tensor stand for the output. A Gemm after them reads the [C, H, W] tensor in
 * C-major order, which is what ONNX Flatten does.
 */
import { bypassNode, consumersOf, nodeError, type OpGraph, type OpNode } from '../op-graph.js';

const FORWARDERS = new Set(['Identity', 'Dropout', 'Flatten', 'Reshape', 'Squeeze']);
const RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze']);

export function dropForwarders(graph: OpGraph): OpGraph {
  let g = graph;
  for (const node of graph.nodes) {
    if (!FORWARDERS.has(node.op)) continue;
    if (RESHAPES.has(node.op)) checkTo2d(g, node);
    if (node.op === 'Dropout' && node.outputs.length > 1 && consumersOf(g).has(node.outputs[1] ?? '')) {
      throw nodeError(g, node, 'the mask output is used; only inference Dropout (an identity) is supported');
    }
    g = bypassNode(g, node);
  }
  return g;
}

function checkTo2d(graph: OpGraph, node: OpNode): void {
  const out = graph.shapes.get(node.outputs[0] ?? '') ?? [];
  const input = graph.shapes.get(node.inputs[0] ?? '') ?? [];
  const sameShape = out.length === input.length && out.every((d, i) => d === input[i]);
  if (!sameShape && (out.length !== 2 || out[0] !== 1)) {
    throw nodeError(graph, node, `reshapes [${input.join(', ')}] to [${out.join(', ')}]; only a flatten to 2-D [1, N] (before a Gemm/MatMul or at the output) is supported`);
  }
}
