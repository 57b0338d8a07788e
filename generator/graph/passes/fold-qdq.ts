/**
 * QDQ models: a QuantizeLinear -> DequantizeLinear pair on an activation becomes the activation's
 * quantization (TensorInfo.quant) and disappears; the tensor before the pair stands for the one after.
 * Q/DQ of weights and biases were already folded into constants with their integers (const-eval.ts).
 */
import type { ActQuant } from '../ir.js';
import { consumersOf, namesOf, nodeError, producersOf, renameUses, replaceNode, type OpGraph, type OpNode } from '../op-graph.js';

export function foldQdqPairs(graph: OpGraph): OpGraph {
  let g = graph;
  const quant = new Map(graph.quant);
  for (const q of graph.nodes.filter((n) => n.op === 'QuantizeLinear')) {
    const params = activationQuant(g, q);
    const consumers = consumersOf(g).get(q.outputs[0] ?? '') ?? [];
    if (consumers.length === 0 || consumers.some((c) => c.op !== 'DequantizeLinear')) {
      throw nodeError(g, q, 'its output must feed DequantizeLinear nodes only (QDQ format); integer tensors between layers are not supported');
    }
    if ((q.outputs[0] ?? '') === g.output) throw nodeError(g, q, 'the model output must be float (end with DequantizeLinear)');
    const x = q.inputs[0] ?? '';
    const known = quant.get(x);
    if (known && !sameQuant(known, params)) throw nodeError(g, q, `tensor "${x}" is quantized twice with different parameters`);
    quant.set(x, params);
    for (const dq of consumers) {
      if (!sameQuant(activationQuant(g, dq), params)) throw nodeError(g, dq, `scale/zero point differ from its QuantizeLinear's`);
      g = { ...g, nodes: g.nodes.filter((n) => n !== dq), removed: [...g.removed, ...namesOf(dq)] };
      g = renameUses(g, dq.outputs[0] ?? '', x);
    }
    g = { ...g, nodes: g.nodes.filter((n) => n !== q), removed: [...g.removed, ...namesOf(q)] };
    g = creditProducer(g, x, [q, ...consumers]);
  }
  const strayDq = g.nodes.find((n) => n.op === 'DequantizeLinear');
  if (strayDq) throw nodeError(g, strayDq, 'dequantizes an activation that no QuantizeLinear produced; only Q -> DQ pairs are supported');
  return { ...g, quant };
}

/** The Q/DQ nodes belong to the layer producing the tensor (so `--fixed-layers <Q name>` finds it). */
function creditProducer(graph: OpGraph, tensor: string, nodes: readonly OpNode[]): OpGraph {
  const producer = producersOf(graph).get(tensor);
  if (!producer) return graph;
  return replaceNode(graph, producer, { ...producer, folded: [...producer.folded, ...nodes.flatMap(namesOf)] });
}

function activationQuant(graph: OpGraph, node: OpNode): ActQuant {
  const scale = graph.constants.get(node.inputs[1] ?? '')?.tensor;
  const zp = node.inputs[2] ? graph.constants.get(node.inputs[2])?.tensor : undefined;
  if (!scale || scale.data.length !== 1) throw nodeError(graph, node, 'activations need a per-tensor (scalar) scale');
  const s = scale.data[0] ?? 0;
  if (!(s > 0) || !Number.isFinite(s)) throw nodeError(graph, node, `scale ${s} is not a positive finite number`);
  if (zp && zp.data.length !== 1) throw nodeError(graph, node, 'activations need a per-tensor (scalar) zero point');
  // Without a zero point the type is uint8, or QuantizeLinear's output_dtype (opset 21).
  const dtype = zp?.dtype ?? (node.attrs['output_dtype'] === 3 ? 'int8' : 'uint8');
  if (dtype !== 'uint8' && dtype !== 'int8') throw nodeError(graph, node, `activation type ${dtype} is not supported (supported: uint8, int8)`);
  return { scale: s, zeroPoint: zp?.data[0] ?? 0, signed: dtype === 'int8', bits: 8 };
}

function sameQuant(a: ActQuant, b: ActQuant): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.signed === b.signed && a.bits === b.bits;
}
