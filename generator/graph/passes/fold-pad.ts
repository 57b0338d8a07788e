/**
 * A zero Pad before a Conv or pool folds into that op's pads. For AveragePool the padded zeros count in
 * the divisor (count_include_pad), exactly as the explicit Pad made them count. For MaxPool zeros only
 * equal ONNX's -infinity padding when the input cannot be negative, so the Pad must follow a ReLU/Clip>=0.
 */
import { consumersOf, namesOf, nodeError, producersOf, type OpGraph, type OpNode } from '../op-graph.js';

export function foldPad(graph: OpGraph): OpGraph {
  let g = graph;
  for (const pad of graph.nodes.filter((n) => n.op === 'Pad')) {
    const readers = consumersOf(g).get(pad.outputs[0] ?? '') ?? [];
    const target = readers[0];
    if (readers.length !== 1 || !target || !['Conv', 'MaxPool', 'AveragePool'].includes(target.op)) {
      throw nodeError(g, pad, 'a Pad is supported only directly before one Conv, MaxPool or AveragePool (it is folded into its pads)');
    }
    const p = pad.attrs['pads'] as number[];
    if ((p[0] ?? 0) + (p[1] ?? 0) + (p[4] ?? 0) + (p[5] ?? 0) !== 0 || p.length !== 8) {
      throw nodeError(g, pad, 'only padding of the spatial axes (H, W) of a [N, C, H, W] tensor is supported');
    }
    const extra = [p[2] ?? 0, p[3] ?? 0, p[6] ?? 0, p[7] ?? 0];
    g = merge(g, pad, target, extra);
  }
  return g;
}

function merge(graph: OpGraph, pad: OpNode, target: OpNode, extra: number[]): OpGraph {
  const own = (target.attrs['pads'] as number[] | undefined) ?? [0, 0, 0, 0];
  const attrs: Record<string, unknown> = { ...target.attrs, pads: own.map((v, i) => v + (extra[i] ?? 0)) };
  if (target.op === 'AveragePool') {
    if (target.attrs['count_include_pad'] !== 1 && own.some((v) => v !== 0)) {
      throw nodeError(graph, pad, 'cannot fold into an AveragePool that has its own pads with count_include_pad 0');
    }
    attrs['count_include_pad'] = 1;
  }
  if (target.op === 'MaxPool' && !isNonNegative(graph, pad.inputs[0] ?? '')) {
    throw nodeError(graph, pad, 'zero padding before a MaxPool is supported only after a ReLU or a Clip with min >= 0');
  }
  const merged: OpNode = { ...target, attrs, inputs: target.inputs.map((i) => (i === pad.outputs[0] ? pad.inputs[0] ?? '' : i)), folded: [...target.folded, ...namesOf(pad)] };
  return { ...graph, nodes: graph.nodes.filter((n) => n !== pad).map((n) => (n === target ? merged : n)) };
}

function isNonNegative(graph: OpGraph, tensor: string): boolean {
  const producer = producersOf(graph).get(tensor);
  if (!producer) return false;
  if (producer.op === 'Relu') return true;
  if (producer.op !== 'Clip') return false;
  const min = producer.inputs[1] ? graph.constants.get(producer.inputs[1])?.tensor.data[0] : (producer.attrs['min'] as number | undefined);
  return min !== undefined && min >= 0;
}
