/**
 * Nodes whose outputs nothing reads (and that are not the model output) are dropped: exporters leave
 * such branches behind (e.g. an auxiliary head), and they must not become layers or spoil split points.
 */
import type { OpGraph, OpNode } from '../op-graph.js';

export function dropDeadNodes(graph: OpGraph): OpGraph {
  const needed = new Set([graph.output]);
  const live: OpNode[] = [];
  // Walk backwards: a node is live when one of its outputs is needed; its inputs then become needed.
  for (const node of [...graph.nodes].reverse()) {
    if (!node.outputs.some((o) => needed.has(o))) continue;
    live.push(node);
    for (const input of node.inputs) needed.add(input);
  }
  if (live.length === graph.nodes.length) return graph;
  const kept = new Set(live);
  const dead = graph.nodes.filter((n) => !kept.has(n)).map((n) => ({ name: n.name, order: n.order }));
  return { ...graph, nodes: graph.nodes.filter((n) => kept.has(n)), removed: [...graph.removed, ...dead] };
}
