/**
 * Independent parts of a constant matrix: the connected components of its outputs and inputs (an output
 * and an input are linked by a nonzero weight). No pattern of the shared optimizer spans two parts (a
 * pattern's terms lie in one output, and an output lies in one part), so solving them apart loses no
 * sharing and costs the sum of the parts, not the square of the whole: a depthwise layer's matrix is one
 * part per channel, and its look-ahead over all of them was seconds for what is a handful of digits each.
 */
import type { AdderGraph, ConstMatrix, GraphNode, OutputRef } from './adder-graph.js';
import { ZERO_OUTPUT } from './adder-graph.js';

export interface MatrixPart {
  /** The part's outputs and inputs, ascending (original indices). */
  readonly outputs: readonly number[];
  readonly inputs: readonly number[];
  /** The sub-matrix: row r = output outputs[r], column k = input inputs[k]. */
  readonly matrix: ConstMatrix;
}

function find(parent: number[], x: number): number {
  let root = x;
  while (parent[root] !== root) root = parent[root]!;
  while (parent[x] !== root) {
    const next = parent[x]!;
    parent[x] = root;
    x = next;
  }
  return root;
}

/**
 * The parts with at least one nonzero weight, ordered by their first output (all-zero rows and unused
 * inputs belong to none).
 */
export function matrixParts(w: ConstMatrix, inputCount: number): MatrixPart[] {
  const parent = Array.from({ length: inputCount }, (_, i) => i);
  const anchor = w.map((row) => {
    let first = -1;
    row.forEach((c, i) => {
      if (c === 0) return;
      if (first < 0) first = i;
      else parent[find(parent, i)] = find(parent, first);
    });
    return first;
  });
  const byRoot = new Map<number, { outputs: number[]; inputs: number[] }>();
  anchor.forEach((first, o) => {
    if (first < 0) return;
    const root = find(parent, first);
    let part = byRoot.get(root);
    if (part === undefined) {
      part = { outputs: [], inputs: [] };
      byRoot.set(root, part);
    }
    part.outputs.push(o);
  });
  for (let i = 0; i < inputCount; i += 1) {
    const part = byRoot.get(find(parent, i));
    if (part !== undefined && w.some((row) => row[i] !== 0)) part.inputs.push(i);
  }
  return [...byRoot.values()].map((p) => ({ ...p, matrix: p.outputs.map((o) => p.inputs.map((i) => w[o]![i]!)) }));
}

/** One graph of the whole matrix from the parts' graphs (node k = input k; the parts' adders in order). */
export function joinParts(inputCount: number, outputCount: number, parts: readonly MatrixPart[], graphs: readonly AdderGraph[]): AdderGraph {
  const nodes: GraphNode[] = Array.from({ length: inputCount }, (_, index): GraphNode => ({ kind: 'input', index }));
  const outputs: OutputRef[] = Array.from({ length: outputCount }, () => ZERO_OUTPUT);
  parts.forEach((part, p) => {
    const graph = graphs[p]!;
    const base = nodes.length - graph.inputCount;
    const id = (node: number) => (node < graph.inputCount ? part.inputs[node]! : base + node);
    for (const node of graph.nodes) {
      if (node.kind === 'input') continue;
      nodes.push({ ...node, a: { ...node.a, node: id(node.a.node) }, b: { ...node.b, node: id(node.b.node) } });
    }
    graph.outputs.forEach((out, r) => {
      outputs[part.outputs[r]!] = out.kind === 'zero' ? out : { ...out, node: id(out.node) };
    });
  });
  return { inputCount, nodes, outputs };
}
