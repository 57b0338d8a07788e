/**
 * A deterministic text form of a LayerGraph for golden tests and --dump-after: one block per layer,
 * numbers in a fixed format, small weight tensors in full and larger ones as a checksum-like summary.
 */
import type { Activation, ActQuant, Layer, LayerGraph, TensorInfo, Weights } from './ir.js';

/** Tensors up to this many values are printed in full. */
const FULL_LIMIT = 32;

export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan';
  return String(Number(v.toPrecision(6)));
}

function list(values: ArrayLike<number>): string {
  return `[${Array.from(values, formatNumber).join(', ')}]`;
}

/** Small arrays in full; larger ones as count, sum, sum of absolute values, min and max. */
function values(data: ArrayLike<number>): string {
  if (data.length <= FULL_LIMIT) return list(data);
  let sum = 0;
  let abs = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] ?? 0;
    sum += v;
    abs += Math.abs(v);
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return `{n=${data.length} sum=${formatNumber(sum)} abs=${formatNumber(abs)} min=${formatNumber(min)} max=${formatNumber(max)}}`;
}

function quant(q: ActQuant | undefined): string {
  return q ? ` quant(scale=${formatNumber(q.scale)} zp=${q.zeroPoint} ${q.signed ? 'int' : 'uint'}${q.bits})` : '';
}

function tensor(t: TensorInfo | undefined, name: string): string {
  return `${name} [${t ? t.shape.join(',') : '?'}]${quant(t?.quant)}`;
}

function activation(a: Activation): string {
  if (a.kind === 'leaky') return `leaky(${a.slope.map(formatNumber).join(', ')})`;
  return a.kind === 'clip' ? `clip(${formatNumber(a.min)}, ${formatNumber(a.max)})` : a.kind;
}

function weights(w: Weights, bias: Float32Array): string[] {
  const lines = [`  weights [${w.shape.join(',')}] ${values(w.float)}`];
  if (w.int) lines.push(`  int ${values(w.int)}`);
  if (w.scale) lines.push(`  scale ${values(w.scale)}`);
  lines.push(`  bias ${values(bias)}`);
  if (w.biasInt) lines.push(`  biasInt ${values(w.biasInt)}`);
  return lines;
}

/** " dilation 2x2" for a dilated conv; nothing for a dense one (the common case reads as before). */
export function dilated(dilation: readonly [number, number]): string {
  return dilation.every((d) => d === 1) ? '' : ` dilation ${dilation.join('x')}`;
}

function layerLines(graph: LayerGraph, layer: Layer): string[] {
  const ins = layer.inputs.map((n) => tensor(graph.tensors.get(n), n)).join(' + ');
  const head = `layer ${layer.index} ${layer.kind} "${layer.name}": ${ins} -> ${tensor(graph.tensors.get(layer.output), layer.output)}`;
  const lines = [head, `  nodes ${layer.nodes.map((n) => `"${n}"`).join(', ')}`];
  switch (layer.kind) {
    case 'conv':
      lines.push(`  kernel ${layer.kernel.join('x')} stride ${layer.stride.join('x')}${dilated(layer.dilation)} pads [${layer.pads.join(',')}] group ${layer.group} activation ${activation(layer.activation)}`);
      lines.push(...weights(layer.weights, layer.bias));
      break;
    case 'gemm':
      lines.push(`  activation ${activation(layer.activation)}`);
      lines.push(...weights(layer.weights, layer.bias));
      break;
    case 'maxpool':
    case 'avgpool':
      lines.push(`  kernel ${layer.kernel.join('x')} stride ${layer.stride.join('x')}${dilated(layer.dilation)} pads [${layer.pads.join(',')}]${layer.kind === 'avgpool' ? ` countIncludePad ${layer.countIncludePad}` : ''}`);
      break;
    case 'add':
      lines.push(`  activation ${activation(layer.activation)}`);
      break;
    case 'globalavgpool':
      break;
  }
  return lines;
}

export function printLayerGraph(graph: LayerGraph): string {
  const pre = graph.input.preprocess;
  const isIdentity = pre.scale.every((s) => s === 1) && pre.offset.every((o) => o === 0);
  const lines = [
    `source ${graph.source.file}`,
    `input ${tensor(graph.input, graph.input.name)}${isIdentity ? '' : ` preprocess scale ${list(pre.scale)} offset ${list(pre.offset)}`}`,
    `first ${tensor(graph.tensors.get(graph.firstTensor), graph.firstTensor)}`,
    ...graph.layers.flatMap((l) => layerLines(graph, l)),
    `output ${tensor(graph.tensors.get(graph.output), graph.output)} model output "${graph.modelOutput}"${graph.softmaxOutside ? ' (softmax outside)' : ''}${graph.quantized ? ' quantized' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
