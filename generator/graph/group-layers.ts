/**
 * The op graph, once the passes have run, grouped into layers as DESIGN.md defines them: a weighted op
 * (Conv, Gemm, MatMul) with its bias Add and Relu/Clip, or a pool, or a residual Add (with its
 * activation). The result is the LayerGraph of ir.ts, numbered in topological order.
 */
import type { Activation, Layer, LayerGraph, TensorInfo, Weights } from './ir.js';
import { badInput } from '../common/errors.js';
import { consumersOf, nodeError, type ConstValue, type FoldedNode, type OpGraph, type OpNode, type QuantizedConst } from './op-graph.js';

/** A layer under construction: everything but the index, with a mutable activation, bias and output. */
interface Draft {
  readonly kind: Layer['kind'];
  readonly main: OpNode;
  readonly inputs: readonly string[];
  output: string;
  nodes: FoldedNode[];
  activation: Activation;
  weights?: Weights;
  bias?: Float32Array;
  /** The model's own integer bias (QDQ), while no bias Add has changed the float bias. */
  biasQuant?: QuantizedConst | undefined;
}

export function groupLayers(graph: OpGraph): LayerGraph {
  const consumers = consumersOf(graph);
  const drafts: Draft[] = [];
  const producer = new Map<string, Draft>();
  for (const node of graph.nodes) {
    const { draft, started } = absorbOrStart(graph, node, producer, consumers);
    if (started) drafts.push(draft);
    producer.set(draft.output, draft);
  }
  return finish(graph, drafts, producer);
}

/** Start a layer at `node`, or fold `node` into the layer producing its input. */
function absorbOrStart(graph: OpGraph, node: OpNode, producer: Map<string, Draft>, consumers: Map<string, OpNode[]>): { draft: Draft; started: boolean } {
  const started = startLayer(graph, node, producer);
  if (started) return { draft: started, started: true };
  const activation = ACTIVATIONS.has(node.op);
  const target = targetOf(graph, node, producer, consumers, activation ? `a ${node.op}` : `a bias ${node.op}`);
  if (activation) foldActivation(graph, node, target);
  else foldBiasAdd(graph, node, target);
  return { draft: target, started: false };
}

const ACTIVATIONS = new Set(['Relu', 'Clip', 'LeakyRelu', 'PRelu']);

/** A new layer for a layer-forming node; undefined for nodes that fold into the previous layer. */
function startLayer(graph: OpGraph, node: OpNode, producer: Map<string, Draft>): Draft | undefined {
  checkInputsAvailable(graph, node, producer);
  const base = { main: node, output: node.outputs[0] ?? '', nodes: namesOfNode(node), activation: { kind: 'none' } as Activation };
  switch (node.op) {
    case 'Conv': return { ...base, kind: 'conv', inputs: [node.inputs[0] ?? ''], ...convParams(graph, node) };
    case 'Gemm':
    case 'MatMul': return { ...base, kind: 'gemm', inputs: [node.inputs[0] ?? ''], ...gemmParams(graph, node) };
    case 'MaxPool': return { ...base, kind: 'maxpool', inputs: [node.inputs[0] ?? ''] };
    case 'AveragePool': return { ...base, kind: 'avgpool', inputs: [node.inputs[0] ?? ''] };
    case 'GlobalAveragePool': return { ...base, kind: 'globalavgpool', inputs: [node.inputs[0] ?? ''] };
    case 'Add':
      return node.inputs.every((i) => graph.shapes.has(i)) ? startResidualAdd(graph, node, base) : undefined;
    case 'Sub':
      if (graph.constants.has(node.inputs[1] ?? '')) return undefined;
      break;
    case 'Relu':
    case 'Clip':
    case 'LeakyRelu':
    case 'PRelu':
      return undefined;
    default:
      break;
  }
  throw nodeError(graph, node, `${node.op} is supported here only as input preprocessing (scalar or per-channel Mul/Div/Sub/Add with a constant directly on the network input), or a bias Add after a Conv/Gemm/MatMul`);
}

function namesOfNode(node: OpNode): FoldedNode[] {
  return [{ name: node.name, order: node.order }, ...node.folded];
}

function checkInputsAvailable(graph: OpGraph, node: OpNode, producer: Map<string, Draft>): void {
  for (const input of node.inputs) {
    if (input === '' || graph.constants.has(input) || input === graph.firstTensor || producer.has(input)) continue;
    throw nodeError(graph, node, `input "${input}" is not produced by a supported layer (fixynn chains layers: Conv/Gemm/MatMul, pools, residual Add)`);
  }
}

/** The layer whose output `node` reads, when `node` may fold into it (it alone reads that output). */
function targetOf(graph: OpGraph, node: OpNode, producer: Map<string, Draft>, consumers: Map<string, OpNode[]>, what: string): Draft {
  const input = node.inputs.find((i) => graph.shapes.has(i)) ?? '';
  const draft = producer.get(input);
  const alone = (consumers.get(input) ?? []).length === 1 && input !== graph.output;
  if (!draft || !alone || draft.output !== input) {
    throw nodeError(graph, node, `${what} is supported only directly after a Conv, Gemm, MatMul${what.includes('bias') ? '' : ' or residual Add'} whose output it alone reads`);
  }
  return draft;
}

function foldActivation(graph: OpGraph, node: OpNode, draft: Draft): void {
  if (draft.kind !== 'conv' && draft.kind !== 'gemm' && draft.kind !== 'add') {
    throw nodeError(graph, node, `an activation is supported only directly after a Conv, Gemm, MatMul or residual Add, not after the ${draft.kind} "${draft.main.name}"`);
  }
  if (draft.activation.kind !== 'none') throw nodeError(graph, node, 'the layer already has an activation');
  draft.activation = node.op === 'Relu' ? { kind: 'relu' } : node.op === 'Clip' ? clipBounds(graph, node) : leakySlopes(graph, node, draft);
  draft.output = node.outputs[0] ?? '';
  draft.nodes.push(...namesOfNode(node));
}

/**
 * LeakyRelu's alpha or PRelu's slopes, one per output channel of the layer (a leaky activation is folded
 * into the requantization as a second multiplier for the negative side, so only Conv/Gemm take it).
 */
function leakySlopes(graph: OpGraph, node: OpNode, draft: Draft): Activation {
  if (draft.kind !== 'conv' && draft.kind !== 'gemm') throw nodeError(graph, node, `a ${node.op} is supported only after a Conv, Gemm or MatMul (folded into its requantization)`);
  const channels = draft.weights?.shape[0] ?? 0;
  const given = node.op === 'LeakyRelu' ? [(node.attrs['alpha'] as number | undefined) ?? 0.01] : Array.from(graph.constants.get(node.inputs[1] ?? '')?.tensor.data ?? []);
  const slope = Array.from({ length: channels }, (_, c) => given[given.length === 1 ? 0 : c] ?? 0);
  const negative = slope.findIndex((s) => !(s >= 0));
  if (negative >= 0) throw nodeError(graph, node, `slope ${slope[negative]} of channel ${negative} is negative; supported: slopes >= 0`);
  return { kind: 'leaky', slope };
}

function clipBounds(graph: OpGraph, node: OpNode): Activation {
  const bound = (index: number, attr: string, dflt: number): number => {
    const name = node.inputs[index];
    if (name) return graph.constants.get(name)?.tensor.data[0] ?? dflt;
    return (node.attrs[attr] as number | undefined) ?? dflt;
  };
  const min = bound(1, 'min', -Infinity);
  const max = bound(2, 'max', Infinity);
  if (!(min <= max)) throw nodeError(graph, node, `min ${min} is above max ${max}`);
  return { kind: 'clip', min, max };
}

function foldBiasAdd(graph: OpGraph, node: OpNode, draft: Draft): void {
  if ((draft.kind !== 'conv' && draft.kind !== 'gemm') || draft.activation.kind !== 'none' || !draft.bias) {
    throw nodeError(graph, node, 'a bias Add must directly follow a Conv, Gemm or MatMul (before its activation)');
  }
  const c = node.inputs.map((i) => graph.constants.get(i)).find((v) => v !== undefined) as ConstValue;
  const m = draft.bias.length;
  const values = c.tensor.data;
  const channelShaped = values.length === m && c.tensor.dims.filter((d) => d !== 1).length <= 1 && isChannelAxis(c.tensor.dims, m, draft.kind);
  if (values.length !== 1 && !channelShaped) {
    throw nodeError(graph, node, `bias "${c.tensor.dims.join('x')}" must be a scalar or one value per output channel (${m})`);
  }
  const sign = node.op === 'Sub' ? -1 : 1;
  draft.bias = draft.bias.map((b, i) => Math.fround(b + sign * (values[values.length === 1 ? 0 : i] ?? 0)));
  draft.biasQuant = undefined;
  draft.output = node.outputs[0] ?? '';
  draft.nodes.push(...namesOfNode(node));
}

/** True when a per-channel constant lies on the channel axis ([M], [M,1,1], [1,M,1,1] for conv). */
function isChannelAxis(dims: readonly number[], m: number, kind: Layer['kind']): boolean {
  if (kind === 'gemm') return dims[dims.length - 1] === m;
  return dims.length === 1 ? false : dims[dims.length - 3] === m;
}

function startResidualAdd(graph: OpGraph, node: OpNode, base: Omit<Draft, 'kind' | 'inputs'>): Draft {
  const [a = '', b = ''] = node.inputs;
  const sa = graph.shapes.get(a) ?? [];
  const sb = graph.shapes.get(b) ?? [];
  if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw nodeError(graph, node, `residual Add of [${sa.join(', ')}] and [${sb.join(', ')}]: both inputs must have the same shape (inconsistent shapes)`);
  }
  return { ...base, kind: 'add', inputs: [a, b] };
}

interface WeightedParams {
  readonly weights: Weights;
  readonly bias: Float32Array;
  readonly biasQuant: QuantizedConst | undefined;
}

function convParams(graph: OpGraph, node: OpNode): WeightedParams {
  const w = graph.constants.get(node.inputs[1] ?? '') as ConstValue;
  const m = w.tensor.dims[0] ?? 1;
  if (w.quant && w.quant.axis !== -1 && w.quant.axis !== 0) throw nodeError(graph, node, `per-channel weight scales must run along the output channels (axis 0), not axis ${w.quant.axis}`);
  return { weights: weightsFrom(w, w.tensor.dims, (i) => i, m), bias: biasFrom(graph, node.inputs[2], m, 1), biasQuant: biasQuantOf(graph, node.inputs[2], m) };
}

function gemmParams(graph: OpGraph, node: OpNode): WeightedParams {
  const w = graph.constants.get(node.inputs[1] ?? '') as ConstValue;
  const transposed = node.op === 'MatMul' || node.attrs['transB'] !== 1;
  const [r = 1, c = 1] = w.tensor.dims;
  const [m, n] = transposed ? [c, r] : [r, c];
  const outputAxis = transposed ? 1 : 0;
  if (w.quant && w.quant.axis !== -1 && w.quant.axis !== outputAxis) throw nodeError(graph, node, `per-channel weight scales must run along the outputs (axis ${outputAxis})`);
  const alpha = (node.attrs['alpha'] as number | undefined) ?? 1;
  if (alpha !== 1 && w.quant) throw nodeError(graph, node, `alpha ${alpha} with quantized weights is not supported`);
  // Source index of W[mi][ni] in B: B[ni][mi] when B is [N, M], else B[mi][ni].
  const source = (i: number): number => (transposed ? (i % n) * m + Math.floor(i / n) : i);
  const weights = weightsFrom(w, [m, n], source, m, alpha);
  const beta = (node.attrs['beta'] as number | undefined) ?? 1;
  const hasBias = node.op === 'Gemm' && node.inputs[2] !== undefined;
  return { weights, bias: hasBias ? biasFrom(graph, node.inputs[2], m, beta) : new Float32Array(m), biasQuant: hasBias && beta === 1 ? biasQuantOf(graph, node.inputs[2], m) : undefined };
}

function weightsFrom(w: ConstValue, shape: readonly number[], source: (i: number) => number, m: number, alpha = 1): Weights {
  const count = shape.reduce((p, d) => p * d, 1);
  const float = Float32Array.from({ length: count }, (_, i) => (w.tensor.data[source(i)] ?? 0) * alpha);
  if (!w.quant) return { shape: [...shape], float };
  const q = w.quant;
  const int = Int32Array.from({ length: count }, (_, i) => q.int[source(i)] ?? 0);
  const scale = Float64Array.from({ length: m }, (_, k) => q.scale[q.scale.length === 1 ? 0 : k] ?? 1);
  return { shape: [...shape], float, int, scale };
}

/** The integer form of a DequantizeLinear'd bias with one value per output. */
function biasQuantOf(graph: OpGraph, name: string | undefined, m: number): QuantizedConst | undefined {
  const q = name ? graph.constants.get(name)?.quant : undefined;
  return q && q.int.length === m ? q : undefined;
}

function biasFrom(graph: OpGraph, name: string | undefined, m: number, beta: number): Float32Array {
  const b = name ? graph.constants.get(name)?.tensor.data : undefined;
  if (!b) return new Float32Array(m);
  return Float32Array.from({ length: m }, (_, i) => (b[b.length === 1 ? 0 : i] ?? 0) * beta);
}

/** [1, C, H, W] -> [C, H, W]; [1, M] -> [M, 1, 1]. */
function perImage(shape: readonly number[]): [number, number, number] {
  if (shape.length === 4) return [shape[1] ?? 1, shape[2] ?? 1, shape[3] ?? 1];
  return [shape.slice(1).reduce((p, d) => p * d, 1), 1, 1];
}

function finish(graph: OpGraph, drafts: Draft[], producer: Map<string, Draft>): LayerGraph {
  if (drafts.length === 0) throw badInput(`${graph.file}: the model has no layers (no Conv, Gemm, MatMul, pool or residual Add)`);
  if (graph.output !== graph.firstTensor && !producer.has(graph.output)) {
    throw badInput(`${graph.file}: the model output "${graph.output}" is not the output of a layer`);
  }
  const tensors = new Map<string, TensorInfo>();
  const info = (name: string): TensorInfo => {
    const q = graph.quant.get(name);
    const shape = perImage(graph.shapes.get(name) ?? []);
    return q ? { name, shape, quant: q } : { name, shape };
  };
  tensors.set(graph.firstTensor, info(graph.firstTensor));
  const quantized = graph.quant.size > 0 || drafts.some((d) => d.weights?.int !== undefined);
  const layers = drafts.map((d, index) => {
    tensors.set(d.output, info(d.output));
    const layer = toLayer(graph, d, index, quantized);
    checkGemmInput(graph, d.main, layer, tensors);
    return layer;
  });
  if (quantized) checkFullyQuantized(graph, layers, tensors);
  const inputQuant = graph.quant.get(graph.input.name);
  const inputInfo = { name: graph.input.name, shape: perImage(graph.input.shape), preprocess: graph.preprocess };
  return {
    source: { file: graph.file, sha256: graph.sha256 },
    input: inputQuant ? { ...inputInfo, quant: inputQuant } : inputInfo,
    firstTensor: graph.firstTensor,
    tensors,
    layers,
    output: graph.output,
    modelOutput: graph.modelOutput,
    softmaxOutside: graph.softmaxOutside,
    quantized,
  };
}

function toLayer(graph: OpGraph, d: Draft, index: number, quantized: boolean): Layer {
  const nodes = [...d.nodes].sort((a, b) => a.order - b.order).map((n) => n.name).filter((n) => n !== '');
  const common = { index, name: d.main.name || d.main.outputs[0] || `layer${index}`, nodes, inputs: d.inputs, output: d.output };
  const attrs = d.main.attrs;
  const spatial = {
    kernel: attrs['kernel_shape'] as [number, number],
    stride: attrs['strides'] as [number, number],
    pads: attrs['pads'] as [number, number, number, number],
  };
  switch (d.kind) {
    case 'conv': {
      const weights = withBiasInt(graph, d, quantized);
      const dilation = attrs['dilations'] as [number, number];
      return { ...common, kind: 'conv', weights, bias: d.bias ?? new Float32Array(), group: (attrs['group'] as number | undefined) ?? 1, ...spatial, dilation, activation: d.activation };
    }
    case 'gemm': return { ...common, kind: 'gemm', weights: withBiasInt(graph, d, quantized), bias: d.bias ?? new Float32Array(), activation: d.activation };
    case 'maxpool':
    case 'avgpool': return { ...common, kind: d.kind, ...spatial, dilation: attrs['dilations'] as [number, number], countIncludePad: attrs['count_include_pad'] === 1 };
    case 'globalavgpool': return { ...common, kind: 'globalavgpool' };
    case 'add': return { ...common, kind: 'add', activation: d.activation };
  }
}

/** QDQ models: the bias as int32 at scale inputScale * weightScale[m] (exactly the model's int32 when scales agree). */
function withBiasInt(graph: OpGraph, d: Draft, quantized: boolean): Weights {
  const weights = d.weights as Weights;
  if (!quantized || !weights.scale) return weights;
  const inQuant = graph.quant.get(d.inputs[0] ?? '');
  if (!inQuant) return weights; // reported by checkFullyQuantized
  const bias = d.bias ?? new Float32Array();
  const values = Array.from(bias, (b, m) => {
    const accScale = inQuant.scale * (weights.scale?.[m] ?? 1);
    const own = d.biasQuant;
    const ownScale = own?.scale[own.scale.length === 1 ? 0 : m];
    // The model's integer is exact; dividing the dequantized float could be off by one for large values.
    if (own && ownScale !== undefined && Math.abs(ownScale - accScale) <= 1e-6 * accScale) return own.int[m] ?? 0;
    return Math.round(b / accScale);
  });
  const overflow = values.findIndex((v) => Math.abs(v) >= 2 ** 31);
  if (overflow >= 0) throw nodeError(graph, d.main, `bias of output channel ${overflow} does not fit int32 at the accumulator scale`);
  return { ...weights, biasInt: Int32Array.from(values) };
}

function checkGemmInput(graph: OpGraph, node: OpNode, layer: Layer, tensors: Map<string, TensorInfo>): void {
  if (layer.kind !== 'gemm') return;
  const input = tensors.get(layer.inputs[0] ?? '');
  const n = layer.weights.shape[1] ?? 0;
  const size = input ? input.shape[0] * input.shape[1] * input.shape[2] : 0;
  if (size !== n) throw nodeError(graph, node, `its ${n} inputs do not match the ${size} values of "${layer.inputs[0]}" (inconsistent shapes)`);
}

function checkFullyQuantized(graph: OpGraph, layers: readonly Layer[], tensors: Map<string, TensorInfo>): void {
  for (const t of tensors.values()) {
    if (!t.quant) throw badInput(`${graph.file}: tensor "${t.name}" has no QuantizeLinear/DequantizeLinear pair; a QDQ model must quantize every activation between layers (partially quantized models are not supported)`);
  }
  for (const l of layers) {
    if ((l.kind === 'conv' || l.kind === 'gemm') && !l.weights.int) {
      throw badInput(`${graph.file}: layer ${l.index} "${l.name}" has float weights in a QDQ model; quantize its weights with DequantizeLinear (partially quantized models are not supported)`);
    }
  }
}
