/**
 * BatchNormalization after a Conv folds into the conv's weights and bias:
 * w' = w * g / sqrt(var + eps) per output channel, b' = (b - mean) * g / sqrt(var + eps) + beta.
 */
import { makeTensor } from '../../onnx/tensor.js';
import { consumersOf, namesOf, nodeError, producersOf, type ConstValue, type OpGraph, type OpNode } from '../op-graph.js';

export function foldBatchNorm(graph: OpGraph): OpGraph {
  let g = graph;
  for (const bn of graph.nodes.filter((n) => n.op === 'BatchNormalization')) {
    const conv = producersOf(g).get(bn.inputs[0] ?? '');
    const readers = consumersOf(g).get(bn.inputs[0] ?? '') ?? [];
    if (!conv || conv.op !== 'Conv' || readers.length !== 1 || g.output === bn.inputs[0]) {
      throw nodeError(g, bn, 'BatchNormalization is supported only directly after a Conv whose output it alone reads');
    }
    g = fold(g, conv, bn);
  }
  return g;
}

function fold(graph: OpGraph, conv: OpNode, bn: OpNode): OpGraph {
  const param = (i: number): Float64Array => graph.constants.get(bn.inputs[i] ?? '')?.tensor.data ?? new Float64Array();
  const [gamma, beta, mean, variance] = [param(1), param(2), param(3), param(4)];
  const eps = (bn.attrs['epsilon'] as number | undefined) ?? 1e-5;
  const weight = graph.constants.get(conv.inputs[1] ?? '') as ConstValue;
  if (weight.quant) throw nodeError(graph, bn, 'cannot fold into a conv with quantized (QDQ) weights');
  const m = weight.tensor.dims[0] ?? 1;
  const perChannel = weight.tensor.data.length / m;
  const factor = Array.from({ length: m }, (_, c) => (gamma[c] ?? 1) / Math.sqrt((variance[c] ?? 0) + eps));
  const w = weight.tensor.data.map((v, i) => Math.fround(v * (factor[Math.floor(i / perChannel)] ?? 1)));
  const oldBias = conv.inputs[2] ? graph.constants.get(conv.inputs[2])?.tensor.data : undefined;
  const b = Array.from({ length: m }, (_, c) => Math.fround(((oldBias?.[c] ?? 0) - (mean[c] ?? 0)) * (factor[c] ?? 1) + (beta[c] ?? 0)));
  const out = bn.outputs[0] ?? '';
  const constants = new Map(graph.constants);
  constants.set(`${out}::folded_weight`, { tensor: makeTensor('float32', weight.tensor.dims, w) });
  constants.set(`${out}::folded_bias`, { tensor: makeTensor('float32', [m], b) });
  const merged: OpNode = {
    ...conv,
    inputs: [conv.inputs[0] ?? '', `${out}::folded_weight`, `${out}::folded_bias`],
    outputs: [out],
    folded: [...conv.folded, ...namesOf(bn)],
  };
  return { ...graph, constants, nodes: graph.nodes.filter((n) => n !== bn).map((n) => (n === conv ? merged : n)) };
}
