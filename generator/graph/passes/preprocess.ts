/**
 * Scalar or per-channel Mul/Div/Sub/Add with a constant, applied to the network input before anything
 * else (e.g. PyTorch's `(x - mean) / std`), becomes `input.preprocess` (x * scale + offset per channel).
 */
import { consumersOf, namesOf, nodeError, type OpGraph, type OpNode } from '../op-graph.js';

const AFFINE = new Set(['Mul', 'Div', 'Sub', 'Add']);

export function recognizePreprocess(graph: OpGraph): OpGraph {
  let g = graph;
  const channels = graph.input.shape[1] ?? 1;
  const scale = [...graph.preprocess.scale];
  const offset = [...graph.preprocess.offset];
  for (;;) {
    const consumers = consumersOf(g).get(g.firstTensor) ?? [];
    const node = consumers[0];
    if (consumers.length !== 1 || !node || !AFFINE.has(node.op)) break;
    const constIndex = node.inputs.findIndex((i) => g.constants.has(i));
    if (constIndex < 0) break;
    const values = perChannel(g, node, constIndex, channels);
    applyAffine(g, node, constIndex, values, scale, offset);
    const out = node.outputs[0] ?? '';
    g = { ...g, nodes: g.nodes.filter((n) => n !== node), removed: [...g.removed, ...namesOf(node)], firstTensor: out };
  }
  return { ...g, preprocess: { scale, offset } };
}

/** The constant operand as one value per input channel (scalar, [C], [C,1,1] or [1,C,1,1]). */
function perChannel(graph: OpGraph, node: OpNode, index: number, channels: number): number[] {
  const t = graph.constants.get(node.inputs[index] ?? '')?.tensor;
  const dims = t?.dims ?? [];
  const count = t?.data.length ?? 0;
  const nonUnit = dims.filter((d) => d !== 1);
  const channelAxisOk = count === 1 || (nonUnit.length === 1 && nonUnit[0] === channels && dims.length >= 3 && dims[dims.length - 3] === channels);
  if (!t || !channelAxisOk) {
    throw nodeError(graph, node, `preprocessing constant "${node.inputs[index]}" of shape [${dims.join(', ')}] must be a scalar or one value per channel ([${channels}, 1, 1])`);
  }
  return Array.from({ length: channels }, (_, c) => t.data[count === 1 ? 0 : c] ?? 0);
}

/** Compose y = f(x) into the running x * scale + offset. */
function applyAffine(graph: OpGraph, node: OpNode, constIndex: number, k: number[], scale: number[], offset: number[]): void {
  for (let c = 0; c < scale.length; c++) {
    const kc = k[c] ?? 0;
    const [s, o] = [scale[c] ?? 1, offset[c] ?? 0];
    switch (node.op) {
      case 'Mul': scale[c] = s * kc; offset[c] = o * kc; break;
      case 'Add': offset[c] = o + kc; break;
      case 'Sub':
        if (constIndex === 1) offset[c] = o - kc;
        else { scale[c] = -s; offset[c] = kc - o; }
        break;
      case 'Div':
        if (constIndex === 0) throw nodeError(graph, node, 'dividing a constant by the input is not an affine preprocessing');
        if (kc === 0) throw nodeError(graph, node, 'divides by zero');
        scale[c] = s / kc; offset[c] = o / kc;
        break;
    }
  }
}
