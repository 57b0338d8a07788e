/**
 * From decoded ONNX to the op graph: topological order, constant folding (initializers, Constant nodes,
 * Shape chains, DequantizeLinear of weights) and shape inference of every dynamic tensor, checking that
 * shapes agree (weights vs channels, broadcast, Gemm sizes, declared output shape). Conv and pool
 * attributes come out normalized: explicit kernel_shape, strides, pads (auto_pad resolved) and dilations.
 */
import { badInput } from '../common/errors.js';
import type { OnnxModel, OnnxNode } from '../onnx/decode.js';
import { makeTensor, type Tensor } from '../onnx/tensor.js';
import { broadcastShapes, ConstEvalError, evaluate, FOLDABLE_OPS, normalizeAxis, resolveReshape } from './const-eval.js';
import { nodeError, sortTopologically, type ConstValue, type FoldedNode, type OpGraph, type OpNode } from './op-graph.js';

type Shape = readonly number[];

class ShapeError extends Error {}
const fail = (message: string): ShapeError => new ShapeError(message);

/** What a node sees of the graph so far. */
interface Env {
  readonly constants: Map<string, ConstValue>;
  readonly shapes: Map<string, Shape>;
}

export function buildOpGraph(model: OnnxModel): OpGraph {
  const input = readInput(model);
  const modelOutput = readOutput(model);
  const env: Env = { constants: new Map(), shapes: new Map([[input.name, input.shape]]) };
  for (const [name, tensor] of model.initializers) env.constants.set(name, { tensor });
  const sorted = sortTopologically(model, new Set([input.name, ...model.initializers.keys()]));
  const nodes: OpNode[] = [];
  const removed: FoldedNode[] = [];
  for (const node of sorted) {
    try {
      const folded = tryFold(node, env, model.opset);
      if (folded) {
        node.outputs.forEach((o) => env.constants.set(o, folded));
        removed.push({ name: node.name, order: node.order });
        continue;
      }
      const { shape, attrs } = inferNode(node, env);
      for (const o of node.outputs.slice(0, 1)) env.shapes.set(o, checkSize(shape));
      if (node.outputs.length > 1 && node.op === 'Dropout') env.shapes.set(node.outputs[1] ?? '', shape);
      nodes.push({ name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs, attrs: attrs ?? node.attrs, order: node.order, folded: [] });
    } catch (err) {
      if (err instanceof ShapeError || err instanceof ConstEvalError) throw nodeError(model, node, err.message);
      throw err;
    }
  }
  checkOutput(model, modelOutput, env);
  checkDeclaredShapes(model, env);
  return {
    file: model.file,
    sha256: model.sha256,
    opset: model.opset,
    input,
    preprocess: { scale: new Array<number>(input.shape[1] ?? 0).fill(1), offset: new Array<number>(input.shape[1] ?? 0).fill(0) },
    firstTensor: input.name,
    output: modelOutput.name,
    modelOutput: modelOutput.name,
    softmaxOutside: false,
    nodes,
    constants: env.constants,
    shapes: env.shapes,
    quant: new Map(),
    removed,
  };
}

function readInput(model: OnnxModel): { name: string; shape: number[] } {
  if (model.inputs.length !== 1) {
    throw badInput(`${model.file}: the model has ${model.inputs.length} inputs (${model.inputs.map((i) => `"${i.name}"`).join(', ')}); fixynn supports one image input [N, C, H, W]`);
  }
  const info = model.inputs[0] as (typeof model.inputs)[number];
  const where = `${model.file}: input "${info.name}"`;
  if (info.elemType !== 1) throw badInput(`${where}: element type ${info.elemType} is not supported (supported: float)`);
  const shape = info.shape;
  if (!shape || shape.length !== 4) throw badInput(`${where}: shape ${shape ? `[${shape.join(', ')}]` : 'unknown'} is not supported (supported: [N, C, H, W] with known C, H, W)`);
  const [n, c, h, w] = shape;
  // A fixed batch N > 1 (e.g. ONNX's conformance models) holds N independent images: fixynn takes one.
  if (n !== null && n !== undefined && n < 1) throw badInput(`${where}: batch size ${n} is not supported (supported: 1 or more, or symbolic)`);
  for (const d of [c, h, w]) {
    if (d === null || d === undefined || d < 1) throw badInput(`${where}: shape [${shape.map((x) => x ?? '?').join(', ')}] must have known, positive C, H and W`);
  }
  return { name: info.name, shape: [1, c as number, h as number, w as number] };
}

function readOutput(model: OnnxModel): (typeof model.outputs)[number] {
  if (model.outputs.length !== 1) throw badInput(`${model.file}: the model has ${model.outputs.length} outputs; fixynn supports exactly one`);
  return model.outputs[0] as (typeof model.outputs)[number];
}

function checkOutput(model: OnnxModel, output: (typeof model.outputs)[number], env: Env): void {
  const shape = env.shapes.get(output.name);
  if (!shape) {
    const what = env.constants.has(output.name) ? 'is a constant (it does not depend on the input)' : 'is produced by no node';
    throw badInput(`${model.file}: output "${output.name}" ${what}`);
  }
  const declared = output.shape;
  if (!declared) return;
  const mismatch = declared.length !== shape.length || declared.some((d, i) => i > 0 && d !== null && d !== shape[i]);
  if (mismatch) {
    throw badInput(`${model.file}: output "${output.name}" is declared [${declared.map((d) => d ?? '?').join(', ')}] but the graph computes [${shape.join(', ')}] (inconsistent shapes)`);
  }
}

/** value_info shapes the model declares must agree with what the nodes compute (batch aside). */
function checkDeclaredShapes(model: OnnxModel, env: Env): void {
  for (const info of model.valueInfo) {
    const shape = env.shapes.get(info.name);
    if (!shape || !info.shape) continue;
    const differs = info.shape.length !== shape.length || info.shape.some((d, i) => i > 0 && d !== null && d !== shape[i]);
    if (differs) {
      throw badInput(`${model.file}: tensor "${info.name}" is declared [${info.shape.map((d) => d ?? '?').join(', ')}] but the graph computes [${shape.join(', ')}] (inconsistent shapes)`);
    }
  }
}

/** Activations beyond this many values per image are not something a streaming front end handles. */
const MAX_ACTIVATION = 1 << 26;

function checkSize(shape: Shape): Shape {
  const count = shape.reduce((p, d) => p * d, 1);
  if (count > MAX_ACTIVATION) throw fail(`its output [${shape.join(', ')}] has ${count} values per image, more than supported (${MAX_ACTIVATION})`);
  return shape;
}

/** Fold a node whose inputs are all constants (or a Shape of a tensor with a known shape). */
function tryFold(node: OnnxNode, env: Env, opset: number): ConstValue | undefined {
  if (node.op === 'Shape') {
    const shape = env.shapes.get(node.inputs[0] ?? '') ?? env.constants.get(node.inputs[0] ?? '')?.tensor.dims;
    if (!shape) throw fail('input has no known shape');
    const start = normalizeSlice(node.attrs['start'], 0, shape.length);
    const end = normalizeSlice(node.attrs['end'], shape.length, shape.length);
    const dims = shape.slice(start, end);
    return { tensor: makeTensor('int64', [dims.length], dims) };
  }
  const present = node.inputs.filter((i) => i !== '');
  if (!present.every((i) => env.constants.has(i))) return undefined;
  if (!FOLDABLE_OPS.has(node.op)) throw fail(`all inputs are constants; fixynn folds only ${[...FOLDABLE_OPS].join(', ')} on constants`);
  return evaluate(node.op, node.attrs, node.inputs.map((i) => (i === '' ? undefined : env.constants.get(i))), opset);
}

function normalizeSlice(value: unknown, dflt: number, rank: number): number {
  const v = typeof value === 'number' ? value : dflt;
  return Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
}

function shapeOf(env: Env, name: string): Shape {
  const s = env.shapes.get(name) ?? env.constants.get(name)?.tensor.dims;
  if (!s) throw fail(`input "${name}" has no known shape`);
  return s;
}

function dynamicShape(env: Env, name: string, rank?: number): Shape {
  const s = env.shapes.get(name);
  if (!s) throw fail(`input "${name}" must be an activation (it is a constant)`);
  if (rank !== undefined && s.length !== rank) throw fail(`input "${name}" has shape [${s.join(', ')}], expected rank ${rank}`);
  return s;
}

function constant(env: Env, name: string | undefined, what: string): Tensor {
  const c = name ? env.constants.get(name) : undefined;
  if (!c) throw fail(`${what} "${name ?? ''}" must be a constant (an initializer), it is computed from the input`);
  return c.tensor;
}

/** A float parameter (weights, biases, BN statistics): integer tensors must go through DequantizeLinear. */
function floatConstant(env: Env, name: string | undefined, what: string): Tensor {
  const t = constant(env, name, what);
  if (t.dtype !== 'float32') throw fail(`${what} "${name ?? ''}" is ${t.dtype}; it must be float (integer weights need a DequantizeLinear)`);
  return t;
}

function optionalConstant(env: Env, name: string | undefined, what: string): Tensor | undefined {
  return name ? constant(env, name, what) : undefined;
}

interface Inferred {
  readonly shape: Shape;
  readonly attrs?: Record<string, unknown>;
}

function inferNode(node: OnnxNode, env: Env): Inferred {
  const [a = '', b = '', c = ''] = node.inputs;
  switch (node.op) {
    case 'Conv': return inferConv(node, env);
    case 'MaxPool':
    case 'AveragePool': return inferPool(node, env);
    case 'GlobalAveragePool': {
      const [n, ch] = dynamicShape(env, a, 4);
      return { shape: [n ?? 1, ch ?? 1, 1, 1] };
    }
    case 'BatchNormalization': {
      const x = dynamicShape(env, a, 4);
      node.inputs.slice(1).forEach((name, i) => {
        const t = floatConstant(env, name, ['scale', 'bias', 'mean', 'var'][i] ?? 'parameter');
        if (t.data.length !== x[1]) throw fail(`parameter "${name}" has ${t.data.length} values for ${x[1]} channels (inconsistent shapes)`);
      });
      return { shape: x };
    }
    case 'Clip': {
      for (const bound of node.inputs.slice(1)) {
        if (bound && constant(env, bound, 'bound').data.length !== 1) throw fail(`bound "${bound}" must be a scalar`);
      }
      return { shape: dynamicShape(env, a) };
    }
    case 'PRelu': {
      const slope = constant(env, b, 'slope');
      const x = dynamicShape(env, a);
      if (slope.data.length !== 1 && slope.data.length !== (x[1] ?? 0)) throw fail(`slope "${b}" has ${slope.data.length} values; supported: one, or one per channel (${x[1]})`);
      return { shape: x };
    }
    case 'Relu':
    case 'LeakyRelu':
    case 'Softmax':
    case 'Identity':
    case 'Dropout': return { shape: dynamicShape(env, a) };
    case 'QuantizeLinear':
    case 'DequantizeLinear': {
      constant(env, b, 'scale');
      optionalConstant(env, c || undefined, 'zero point');
      return { shape: dynamicShape(env, a) };
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      try {
        return { shape: broadcastShapes(shapeOf(env, a), shapeOf(env, b)) };
      } catch (err) {
        throw fail(`${(err as Error).message} (inconsistent shapes)`);
      }
    }
    case 'Flatten': {
      const x = dynamicShape(env, a);
      const axis = normalizeAxis(typeof node.attrs['axis'] === 'number' ? node.attrs['axis'] : 1, x.length, true);
      const head = x.slice(0, axis).reduce((p, d) => p * d, 1);
      return { shape: [head, x.slice(axis).reduce((p, d) => p * d, 1)] };
    }
    case 'Reshape': return { shape: resolveReshape(dynamicShape(env, a), Array.from(constant(env, b, 'shape').data)) };
    case 'Gemm': return inferGemm(node, env);
    case 'MatMul': {
      const [n, k] = dynamicShape(env, a, 2);
      const w = floatConstant(env, b, 'weight');
      if (w.dims.length !== 2 || w.dims[0] !== k) throw fail(`weight "${b}" is [${w.dims.join(', ')}], expected [${k}, M] (inconsistent shapes)`);
      return { shape: [n ?? 1, w.dims[1] ?? 0] };
    }
    case 'Pad': return inferPad(node, env);
    case 'Squeeze': {
      const x = dynamicShape(env, a);
      const given = b ? Array.from(constant(env, b, 'axes').data) : (node.attrs['axes'] as number[] | undefined);
      const axes = (given ?? x.flatMap((d, i) => (d === 1 && i > 0 ? [i] : []))).map((ax) => normalizeAxis(ax, x.length));
      if (axes.includes(0)) throw fail('squeezing the batch axis is not supported');
      for (const ax of axes) if (x[ax] !== 1) throw fail(`cannot squeeze axis ${ax} of size ${x[ax]}`);
      return { shape: x.filter((_, i) => !axes.includes(i)) };
    }
    default:
      throw fail(`${node.op} is supported only on constants (the Shape/Gather/Unsqueeze/Concat chains around Reshape), not on activations`);
  }
}

/** Explicit [top, left, bottom, right] pads from pads / auto_pad. */
function resolvePads(attrs: Readonly<Record<string, unknown>>, size: readonly [number, number], kernel: readonly [number, number], strides: readonly [number, number]): [number, number, number, number] {
  const mode = (attrs['auto_pad'] as string | undefined) ?? 'NOTSET';
  if (mode === 'NOTSET') return [...((attrs['pads'] as [number, number, number, number] | undefined) ?? [0, 0, 0, 0])];
  if (mode === 'VALID') return [0, 0, 0, 0];
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [n, k, s] = [size[i] ?? 1, kernel[i] ?? 1, strides[i] ?? 1];
    const total = Math.max(0, (Math.ceil(n / s) - 1) * s + k - n);
    const first = mode === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
    begin.push(first);
    end.push(total - first);
  }
  return [begin[0] ?? 0, begin[1] ?? 0, end[0] ?? 0, end[1] ?? 0];
}

function outputSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number): number {
  const out = Math.floor((size + padBegin + padEnd - kernel) / stride) + 1;
  if (out < 1) throw fail(`a ${kernel}-wide window with stride ${stride} does not fit an input of ${size} (pads ${padBegin}, ${padEnd}) (inconsistent shapes)`);
  return out;
}

function spatialOut(attrs: Readonly<Record<string, unknown>>, x: Shape, kernel: [number, number]): { attrs: Record<string, unknown>; hw: [number, number] } {
  const strides = (attrs['strides'] as [number, number] | undefined) ?? [1, 1];
  const dilations = (attrs['dilations'] as [number, number] | undefined) ?? [1, 1];
  const size: [number, number] = [x[2] ?? 1, x[3] ?? 1];
  // A dilated window spans (k - 1) * d + 1 pixels: padding and the output size follow the span.
  const span: [number, number] = [(kernel[0] - 1) * dilations[0] + 1, (kernel[1] - 1) * dilations[1] + 1];
  const pads = resolvePads(attrs, size, span, strides);
  const hw: [number, number] = [outputSize(size[0], span[0], strides[0], pads[0], pads[2]), outputSize(size[1], span[1], strides[1], pads[1], pads[3])];
  const normalized: Record<string, unknown> = { ...attrs, kernel_shape: kernel, strides, pads, dilations };
  delete normalized['auto_pad'];
  return { attrs: normalized, hw };
}

function inferConv(node: OnnxNode, env: Env): Inferred {
  const [a = '', b, c] = node.inputs;
  const x = dynamicShape(env, a, 4);
  const w = floatConstant(env, b, 'weight');
  if (w.dims.length !== 4) throw fail(`weight "${b}" has shape [${w.dims.join(', ')}]; only 2-D convolutions ([M, C/group, kH, kW]) are supported`);
  const [m = 0, cg = 0, kh = 0, kw = 0] = w.dims;
  const group = (node.attrs['group'] as number | undefined) ?? 1;
  if (cg * group !== x[1] || m % group !== 0) {
    throw fail(`weight "${b}" [${w.dims.join(', ')}] with group ${group} does not fit an input of ${x[1]} channels (inconsistent shapes)`);
  }
  const kernel = node.attrs['kernel_shape'] as [number, number] | undefined;
  if (kernel && (kernel[0] !== kh || kernel[1] !== kw)) throw fail(`kernel_shape [${kernel.join(', ')}] differs from the weight's [${kh}, ${kw}] (inconsistent shapes)`);
  if (kh < 1 || kw < 1 || m < 1) throw fail(`weight "${b}" has an empty shape [${w.dims.join(', ')}]`);
  const bias = c ? floatConstant(env, c, 'bias') : undefined;
  if (bias && bias.data.length !== m) throw fail(`bias "${c}" has ${bias.data.length} values for ${m} output channels (inconsistent shapes)`);
  const { attrs, hw } = spatialOut(node.attrs, x, [kh, kw]);
  return { shape: [1, m, hw[0], hw[1]], attrs: { ...attrs, group } };
}

function inferPool(node: OnnxNode, env: Env): Inferred {
  const x = dynamicShape(env, node.inputs[0] ?? '', 4);
  const kernel = node.attrs['kernel_shape'] as [number, number];
  const { attrs, hw } = spatialOut(node.attrs, x, kernel);
  // Dense windows always hold a pixel (pads <= span - 1); a dilated one can straddle a small map.
  const [pads, dilations, strides] = [attrs['pads'] as number[], attrs['dilations'] as number[], attrs['strides'] as number[]];
  for (const axis of [0, 1]) {
    const o = emptyWindow(x[2 + axis] ?? 1, hw[axis] ?? 1, kernel[axis] ?? 1, dilations[axis] ?? 1, strides[axis] ?? 1, pads[axis] ?? 0);
    if (o !== undefined) throw fail(`the ${kernel.join('x')} window dilated ${dilations.join('x')} at output ${axis === 0 ? 'row' : 'column'} ${o} holds no pixel of the image (its taps all fall in the padding); a pool needs at least one`);
  }
  return { shape: [1, x[1] ?? 1, hw[0], hw[1]], attrs };
}

/** The first output position along one axis whose taps (start + i*d) all miss [0, size), if any. */
function emptyWindow(size: number, outputs: number, kernel: number, dilation: number, stride: number, before: number): number | undefined {
  for (let o = 0; o < outputs; o++) {
    const start = o * stride - before;
    if (!Array.from({ length: kernel }, (_, i) => start + i * dilation).some((y) => y >= 0 && y < size)) return o;
  }
  return undefined;
}


function inferGemm(node: OnnxNode, env: Env): Inferred {
  const [a = '', b, c] = node.inputs;
  const [n, k] = dynamicShape(env, a, 2);
  const w = floatConstant(env, b, 'weight');
  const transB = node.attrs['transB'] === 1;
  if (w.dims.length !== 2) throw fail(`weight "${b}" must be 2-D, it is [${w.dims.join(', ')}]`);
  const [wk, m] = transB ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
  if (wk !== k) throw fail(`weight "${b}" [${w.dims.join(', ')}] (transB ${transB ? 1 : 0}) does not fit an input of ${k} features (inconsistent shapes)`);
  const bias = c ? floatConstant(env, c, 'bias') : undefined;
  if (bias && bias.data.length !== 1 && bias.data.length !== m) throw fail(`bias "${c}" has ${bias.data.length} values for ${m} outputs (inconsistent shapes)`);
  return { shape: [n ?? 1, m ?? 0] };
}

function inferPad(node: OnnxNode, env: Env): Inferred {
  const [a = '', b, c, d] = node.inputs;
  const x = dynamicShape(env, a);
  if (d) throw fail('the axes input is not supported (give pads for every axis)');
  const pads = b ? Array.from(constant(env, b, 'pads').data) : ((node.attrs['pads'] as number[] | undefined) ?? []);
  if (pads.length !== 2 * x.length) throw fail(`${pads.length} pads for a rank-${x.length} input, expected ${2 * x.length}`);
  if (pads.some((p) => p < 0)) throw fail('negative pads (cropping) are not supported');
  const value = c ? constant(env, c, 'constant value').data[0] : ((node.attrs['value'] as number | undefined) ?? 0);
  if (value !== 0) throw fail(`constant value ${value} is not supported (only zero padding)`);
  const shape = x.map((dim, i) => dim + (pads[i] ?? 0) + (pads[i + x.length] ?? 0));
  return { shape, attrs: { ...node.attrs, pads } };
}
