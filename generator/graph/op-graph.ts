/**
 * The op graph: the ONNX nodes between decoding and layer grouping, in topological order, with
 * constants resolved and every dynamic tensor's shape known. Passes (generator/graph/passes) rewrite
 * it step by step until only layer-forming nodes remain; group-layers.ts turns it into a LayerGraph.
 * Shapes here are full ONNX shapes with the batch dimension (taken as 1).
 */
import { badInput, type FixynnError } from '../common/errors.js';
import { describeNode, type OnnxModel, type OnnxNode } from '../onnx/decode.js';
import type { SupportedOp } from '../onnx/ops.js';
import type { Tensor } from '../onnx/tensor.js';
import type { ActQuant, InputPreprocess } from './ir.js';

/** A node of the model that was folded into another one (kept for `--fixed-layers NODE`). */
export interface FoldedNode {
  readonly name: string;
  readonly order: number;
}

export interface OpNode {
  readonly name: string;
  readonly op: SupportedOp;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly order: number;
  /** Nodes folded into this one by earlier passes. */
  readonly folded: readonly FoldedNode[];
}

/** Integer view of a constant produced by DequantizeLinear (QDQ weights and biases). */
export interface QuantizedConst {
  /** q - zeroPoint, element by element, same layout as the float tensor. */
  readonly int: Float64Array;
  /** Scale per slice along `axis` (length 1 for per-tensor). */
  readonly scale: Float64Array;
  readonly zeroPoint: Float64Array;
  /** The axis the scale runs along (-1 for per-tensor). */
  readonly axis: number;
  readonly signed: boolean;
  readonly bits: number;
}

export interface ConstValue {
  readonly tensor: Tensor;
  readonly quant?: QuantizedConst;
}

export interface OpGraph {
  readonly file: string;
  readonly sha256: string;
  readonly opset: number;
  /** The model's float input, full shape [1, C, H, W]. */
  readonly input: { readonly name: string; readonly shape: readonly number[] };
  readonly preprocess: InputPreprocess;
  /** The tensor the first layer reads (after preprocessing). */
  readonly firstTensor: string;
  /** The tensor the network computes (after aliases and a final Softmax are removed). */
  readonly output: string;
  /** The model's own output name. */
  readonly modelOutput: string;
  readonly softmaxOutside: boolean;
  readonly nodes: readonly OpNode[];
  readonly constants: ReadonlyMap<string, ConstValue>;
  /** Full shapes of dynamic tensors. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Activation quantization from Q/DQ pairs. */
  readonly quant: ReadonlyMap<string, ActQuant>;
  /** Nodes removed entirely (Identity, Flatten, Constant, ...): named in errors for `--fixed-layers`. */
  readonly removed: readonly FoldedNode[];
}

/** An error about one node: file, node name, op, then the message. */
export function nodeError(graph: { readonly file: string }, node: { name: string; op: string; order: number }, message: string): FixynnError {
  return badInput(`${graph.file}: ${describeNode(node)}: ${message}`);
}

/** Map from tensor name to the nodes that read it. */
export function consumersOf(graph: OpGraph): Map<string, OpNode[]> {
  const out = new Map<string, OpNode[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input === '') continue;
      const list = out.get(input) ?? [];
      if (!list.includes(node)) list.push(node);
      out.set(input, list);
    }
  }
  return out;
}

/** Map from tensor name to the node producing it. */
export function producersOf(graph: OpGraph): Map<string, OpNode> {
  const out = new Map<string, OpNode>();
  for (const node of graph.nodes) for (const output of node.outputs) out.set(output, node);
  return out;
}

/** Replace every use of tensor `from` by `to` (removing a node that only forwards its input). */
export function renameUses(graph: OpGraph, from: string, to: string): OpGraph {
  const nodes = graph.nodes.map((n) => (n.inputs.includes(from) ? { ...n, inputs: n.inputs.map((i) => (i === from ? to : i)) } : n));
  return { ...graph, nodes, output: graph.output === from ? to : graph.output, firstTensor: graph.firstTensor === from ? to : graph.firstTensor };
}

/** Remove `node`, letting its first input stand for its output everywhere. */
export function bypassNode(graph: OpGraph, node: OpNode): OpGraph {
  const input = node.inputs[0] ?? '';
  const output = node.outputs[0] ?? '';
  const without: OpGraph = { ...graph, nodes: graph.nodes.filter((n) => n !== node), removed: [...graph.removed, ...namesOf(node)] };
  return renameUses(without, output, input);
}

/** The node and everything folded into it, as FoldedNode entries. */
export function namesOf(node: OpNode): FoldedNode[] {
  return [{ name: node.name, order: node.order }, ...node.folded];
}

/** Replace one node by another (same position). */
export function replaceNode(graph: OpGraph, oldNode: OpNode, newNode: OpNode): OpGraph {
  return { ...graph, nodes: graph.nodes.map((n) => (n === oldNode ? newNode : n)) };
}

/** Sort nodes topologically (stable: model order among ready nodes); reports cycles and unknown inputs. */
export function sortTopologically(model: OnnxModel, known: ReadonlySet<string>): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  for (const node of model.nodes) {
    for (const output of node.outputs) {
      if (producer.has(output) || known.has(output)) {
        throw badInput(`${model.file}: ${describeNode(node)}: output "${output}" is produced more than once (an ONNX graph assigns each tensor once)`);
      }
      producer.set(output, node);
    }
  }
  for (const node of model.nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !known.has(input) && !producer.has(input)) {
        throw badInput(`${model.file}: ${describeNode(node)}: input "${input}" is neither a graph input, an initializer nor any node's output (missing initializer?)`);
      }
    }
  }
  const pending = new Map<OnnxNode, number>();
  const readers = new Map<string, OnnxNode[]>();
  for (const node of model.nodes) {
    const waits = new Set(node.inputs.filter((i) => producer.has(i)));
    pending.set(node, waits.size);
    for (const i of waits) readers.set(i, [...(readers.get(i) ?? []), node]);
  }
  const ready = model.nodes.filter((n) => pending.get(n) === 0);
  const sorted: OnnxNode[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a.order - b.order);
    const node = ready.shift() as OnnxNode;
    sorted.push(node);
    for (const output of node.outputs) {
      for (const reader of readers.get(output) ?? []) {
        const left = (pending.get(reader) ?? 0) - 1;
        pending.set(reader, left);
        if (left === 0) ready.push(reader);
      }
    }
  }
  if (sorted.length < model.nodes.length) {
    const stuck = model.nodes.filter((n) => !sorted.includes(n)).slice(0, 3).map(describeNode).join(', ');
    throw badInput(`${model.file}: the graph has a cycle (involving ${stuck}); ONNX graphs must be acyclic`);
  }
  return sorted;
}
