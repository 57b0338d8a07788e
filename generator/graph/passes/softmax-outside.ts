/**
 * A final Softmax stays outside the hardware: the chip returns the scores before it (monotonic, so the
 * top-1 class is the same). Any other Softmax is refused.
 */
import { nodeError, renameUses, type OpGraph } from '../op-graph.js';

export function leaveSoftmaxOutside(graph: OpGraph): OpGraph {
  let g = graph;
  for (const node of graph.nodes.filter((n) => n.op === 'Softmax')) {
    if ((node.outputs[0] ?? '') !== g.output) throw nodeError(g, node, 'only a final Softmax (producing the model output) is supported');
    const shape = g.shapes.get(node.inputs[0] ?? '') ?? [];
    if (shape.filter((d) => d !== 1).length > 1) throw nodeError(g, node, `Softmax over [${shape.join(', ')}] is supported only on a vector of scores`);
    g = { ...g, nodes: g.nodes.filter((n) => n !== node), removed: [...g.removed, { name: node.name, order: node.order }], softmaxOutside: true };
    g = { ...renameUses(g, node.outputs[0] ?? '', node.inputs[0] ?? ''), modelOutput: graph.modelOutput };
  }
  return g;
}
