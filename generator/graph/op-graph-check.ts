/**
 * The op graph's checker and text form, for runs after every pass (tests, --dump-after): nodes in
 * topological order, every input available before use, every dynamic tensor shaped, the output produced.
 */
import { describeNode } from '../onnx/decode.js';
import type { OpGraph } from './op-graph.js';
import { formatNumber } from './print.js';

export function opGraphProblems(graph: OpGraph): string[] {
  const problems: string[] = [];
  const available = new Set<string>([graph.input.name, graph.firstTensor, ...graph.constants.keys()]);
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !available.has(input)) problems.push(`${describeNode(node)}: input "${input}" is not available before use`);
    }
    for (const output of node.outputs) {
      if (available.has(output)) problems.push(`${describeNode(node)}: output "${output}" is produced twice`);
      available.add(output);
    }
    const first = node.outputs[0];
    if (first !== undefined && !graph.shapes.has(first)) problems.push(`${describeNode(node)}: output "${first}" has no shape`);
  }
  if (!available.has(graph.output)) problems.push(`output "${graph.output}" is not produced`);
  if (graph.preprocess.scale.length !== graph.input.shape[1]) problems.push('preprocessing has the wrong number of channels');
  return problems;
}

export function printOpGraph(graph: OpGraph): string {
  const shape = (name: string): string => `[${(graph.shapes.get(name) ?? graph.constants.get(name)?.tensor.dims ?? []).join(',')}]`;
  const q = (name: string): string => {
    const quant = graph.quant.get(name);
    return quant ? ` q(${formatNumber(quant.scale)},${quant.zeroPoint})` : '';
  };
  const lines = [
    `input ${graph.input.name} ${shape(graph.input.name)} first ${graph.firstTensor}`,
    ...graph.nodes.map((n) => {
      const ins = n.inputs.map((i) => (graph.constants.has(i) ? `const:${i}${shape(i)}` : `${i}${shape(i)}${q(i)}`)).join(', ');
      const folded = n.folded.length > 0 ? ` +{${n.folded.map((f) => f.name).join(', ')}}` : '';
      return `${n.op} "${n.name}"${folded}: ${ins} -> ${n.outputs.map((o) => `${o}${shape(o)}${q(o)}`).join(', ')}`;
    }),
    `output ${graph.output} (model output ${graph.modelOutput})${graph.softmaxOutside ? ' softmax outside' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
