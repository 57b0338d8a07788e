/**
 * Building adder graphs: a node table with depths, optional structural sharing of identical adders,
 * signed shifted terms, and the sum of terms as a tree balanced by arrival depth.
 */
import type { AdderGraph, GraphNode, Operand, OutputRef } from './adder-graph.js';
import { ZERO_OUTPUT } from './adder-graph.js';

/** A signed, shifted reference to a node: value = sign * (node << shift). */
export interface Term {
  readonly node: number;
  readonly shift: number;
  readonly sign: 1 | -1;
}

export interface BuilderOptions {
  /** Reuse an existing adder when the same two operands are added again (off for the plain CSD baseline). */
  readonly reuseAdders: boolean;
}

export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly depths: number[] = [];
  private readonly existing = new Map<string, number>();

  constructor(
    readonly inputCount: number,
    private readonly options: BuilderOptions,
  ) {
    // Nodes 0..n-1 are the inputs, so an input's node id is its index.
    for (let i = 0; i < inputCount; i += 1) {
      this.nodes.push({ kind: 'input', index: i });
      this.depths.push(0);
    }
  }

  /** A new (or reused) adder node ((±a<<sa) + (±b<<sb)) >> rshift. */
  add(a: Operand, b: Operand, rshift = 0): number {
    const [first, second] = operandKey(a) <= operandKey(b) ? [a, b] : [b, a];
    const key = `${operandKey(first)}|${operandKey(second)}|${rshift}`;
    if (this.options.reuseAdders) {
      const found = this.existing.get(key);
      if (found !== undefined) return found;
    }
    const id = this.nodes.length;
    this.nodes.push({ kind: 'add', a: first, b: second, rshift });
    this.depths.push(1 + Math.max(this.depths[a.node]!, this.depths[b.node]!));
    this.existing.set(key, id);
    return id;
  }

  /** One adder for t1 + t2; the common shift is factored out so the adder stays narrow. */
  combine(t1: Term, t2: Term): Term {
    // Lead with a positive term, so that at most one operand is negated (a - b, not -a + b).
    const [p, q] = t1.sign < 0 && t2.sign > 0 ? [t2, t1] : [t1, t2];
    const common = Math.min(p.shift, q.shift);
    const node = this.add(
      { node: p.node, shift: p.shift - common, negate: false },
      { node: q.node, shift: q.shift - common, negate: p.sign !== q.sign },
    );
    return { node, shift: common, sign: p.sign };
  }

  /**
   * The sum of the terms as a tree that always adds the two earliest-arriving values (Huffman on depth):
   * this gives the least depth possible for the given term depths, with terms - 1 adders.
   */
  sumTerms(terms: readonly Term[]): OutputRef {
    if (terms.length === 0) return ZERO_OUTPUT;
    const queue = terms.map((t) => ({ term: t, depth: this.depths[t.node]! }));
    queue.sort((x, y) => x.depth - y.depth);
    while (queue.length > 1) {
      const x = queue.shift()!;
      const y = queue.shift()!;
      const term = this.combine(x.term, y.term);
      insertByDepth(queue, { term, depth: this.depths[term.node]! });
    }
    const last = queue[0]!.term;
    return { kind: 'term', node: last.node, shift: last.shift, negate: last.sign < 0 };
  }

  /** The finished graph, without adders no output depends on. */
  finish(outputs: readonly OutputRef[]): AdderGraph {
    return pruneUnused({ inputCount: this.inputCount, nodes: this.nodes.slice(), outputs });
  }
}

function operandKey(op: Operand): string {
  return `${op.node}:${op.shift}:${op.negate ? 1 : 0}`;
}

function insertByDepth<T extends { depth: number }>(queue: T[], item: T): void {
  let at = queue.length;
  while (at > 0 && queue[at - 1]!.depth > item.depth) at -= 1;
  queue.splice(at, 0, item);
}

/** Drops adders that no output reaches; inputs always stay (node id = input index). */
export function pruneUnused(graph: AdderGraph): AdderGraph {
  const used = new Array<boolean>(graph.nodes.length).fill(false);
  for (const out of graph.outputs) if (out.kind === 'term') used[out.node] = true;
  for (let id = graph.nodes.length - 1; id >= 0; id -= 1) {
    const node = graph.nodes[id]!;
    if (node.kind === 'input') used[id] = true;
    else if (used[id]) {
      used[node.a.node] = true;
      used[node.b.node] = true;
    }
  }
  const newId: number[] = [];
  const nodes: GraphNode[] = [];
  graph.nodes.forEach((node, id) => {
    if (!used[id]) return;
    newId[id] = nodes.length;
    if (node.kind === 'input') nodes.push(node);
    else {
      const remap = (op: Operand): Operand => ({ ...op, node: newId[op.node]! });
      nodes.push({ kind: 'add', a: remap(node.a), b: remap(node.b), rshift: node.rshift });
    }
  });
  const outputs = graph.outputs.map((out) => (out.kind === 'zero' ? out : { ...out, node: newId[out.node]! }));
  return { inputCount: graph.inputCount, nodes, outputs };
}
