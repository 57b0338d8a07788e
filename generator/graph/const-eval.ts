/**
 * Evaluation of the ops that appear on constants: the Shape/Gather/Unsqueeze/Concat chains PyTorch
 * exports around Flatten/Reshape, Constant nodes, Cast, arithmetic on initializers, and Q/DQ of
 * weights (DequantizeLinear of a constant keeps its integers, see QuantizedConst).
 * Each function returns the result or throws an Error with a plain message; the caller adds the node.
 */
import { elementCount, makeTensor, stridesOf, type DType, type Tensor } from '../onnx/tensor.js';
import type { ConstValue, QuantizedConst } from './op-graph.js';

export class ConstEvalError extends Error {}
const fail = (message: string): ConstEvalError => new ConstEvalError(message);

/** ONNX Cast target codes we can represent. */
const CAST_TARGETS: ReadonlyMap<number, DType> = new Map([[1, 'float32'], [2, 'uint8'], [3, 'int8'], [6, 'int32'], [7, 'int64']]);

export function normalizeAxis(axis: number, rank: number, allowEnd = false): number {
  const limit = allowEnd ? rank + 1 : rank;
  const a = axis < 0 ? axis + limit : axis;
  if (!Number.isInteger(a) || a < 0 || a >= limit) throw fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Numpy-style broadcast of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw fail(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The values of `t` broadcast to `shape` (which must be a broadcast of t's shape). */
export function broadcastTo(t: Tensor, shape: readonly number[]): Float64Array {
  const count = elementCount(shape, 'broadcast');
  const out = new Float64Array(count);
  const rank = shape.length;
  const srcDims = [...new Array<number>(rank - t.dims.length).fill(1), ...t.dims];
  const srcStrides = stridesOf(srcDims);
  const dstStrides = stridesOf(shape);
  for (let i = 0; i < count; i++) {
    let rem = i;
    let src = 0;
    for (let d = 0; d < rank; d++) {
      const stride = dstStrides[d] ?? 1;
      const idx = Math.floor(rem / stride);
      rem -= idx * stride;
      if ((srcDims[d] ?? 1) !== 1) src += idx * (srcStrides[d] ?? 0);
    }
    out[i] = t.data[src] ?? 0;
  }
  return out;
}

const BINARY: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
};

function binary(op: string, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.dims, b.dims);
  const x = broadcastTo(a, shape);
  const y = broadcastTo(b, shape);
  const f = BINARY[op] ?? ((): number => { throw fail(`no constant rule for ${op}`); });
  const isInt = a.dtype !== 'float32';
  const data = x.map((v, i) => {
    const r = f(v, y[i] ?? 0);
    return isInt ? Math.trunc(r) : Math.fround(r);
  });
  return { dtype: a.dtype, dims: shape, data };
}

function gather(data: Tensor, indices: Tensor, axisAttr: number): Tensor {
  const axis = normalizeAxis(axisAttr, data.dims.length);
  const axisLen = data.dims[axis] ?? 0;
  const outer = data.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = data.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const rawIdx of indices.data) {
      const idx = rawIdx < 0 ? rawIdx + axisLen : rawIdx;
      if (!Number.isInteger(idx) || idx < 0 || idx >= axisLen) throw fail(`index ${rawIdx} is out of range for a dimension of ${axisLen}`);
      for (let i = 0; i < inner; i++) out.push(data.data[(o * axisLen + idx) * inner + i] ?? 0);
    }
  }
  return makeTensor(data.dtype, dims, out);
}

function unsqueeze(t: Tensor, axes: readonly number[]): Tensor {
  const rank = t.dims.length + axes.length;
  const norm = axes.map((a) => normalizeAxis(a, rank)).sort((a, b) => a - b);
  if (new Set(norm).size !== norm.length) throw fail('axes repeat');
  const dims = [...t.dims];
  for (const a of norm) dims.splice(a, 0, 1);
  return { ...t, dims };
}

function squeeze(t: Tensor, axes: readonly number[] | undefined): Tensor {
  const norm = axes ? axes.map((a) => normalizeAxis(a, t.dims.length)) : t.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of norm) if (t.dims[a] !== 1) throw fail(`cannot squeeze axis ${a} of size ${t.dims[a]}`);
  return { ...t, dims: t.dims.filter((_, i) => !norm.includes(i)) };
}

function concat(parts: readonly Tensor[], axisAttr: number): Tensor {
  const first = parts[0];
  if (!first) throw fail('no inputs');
  const axis = normalizeAxis(axisAttr, first.dims.length);
  for (const p of parts) {
    if (p.dims.length !== first.dims.length || p.dims.some((d, i) => i !== axis && d !== first.dims[i])) throw fail('inputs have mismatching shapes');
  }
  const outer = first.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = p.data.length / Math.max(outer, 1);
      for (let i = 0; i < chunk; i++) out.push(p.data[o * chunk + i] ?? 0);
    }
  }
  const dims = [...first.dims];
  dims[axis] = parts.reduce((s, p) => s + (p.dims[axis] ?? 0), 0);
  return makeTensor(first.dtype, dims, out);
}

/** Reshape's target shape with 0 (copy) and -1 (infer) resolved; shared with dynamic shape inference. */
export function resolveReshape(inputDims: readonly number[], target: readonly number[]): number[] {
  const total = inputDims.reduce((p, d) => p * d, 1);
  const dims = target.map((d, i) => {
    if (d !== 0) return d;
    const copied = inputDims[i];
    if (copied === undefined) throw fail(`shape entry 0 at ${i} has no input dimension to copy`);
    return copied;
  });
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1 || dims.some((d) => d < -1 || !Number.isInteger(d))) throw fail(`invalid target shape [${target.join(', ')}]`);
  const known = dims.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  if (unknown === 1) {
    if (known === 0 || total % known !== 0) throw fail(`cannot reshape ${total} elements to [${target.join(', ')}]`);
    return dims.map((d) => (d === -1 ? total / known : d));
  }
  if (known !== total) throw fail(`cannot reshape ${total} elements to [${target.join(', ')}]`);
  return dims;
}

function cast(t: Tensor, to: number): Tensor {
  const dtype = CAST_TARGETS.get(to);
  if (!dtype) throw fail(`Cast to type ${to} is not supported (supported: float, uint8, int8, int32, int64)`);
  const data = dtype === 'float32' ? t.data.map((v) => Math.fround(v)) : t.data.map((v) => Math.trunc(v));
  return { dtype, dims: t.dims, data };
}

function constantNode(attrs: Record<string, unknown>): Tensor {
  if (attrs['value']) return attrs['value'] as Tensor;
  if (typeof attrs['value_float'] === 'number') return makeTensor('float32', [], [attrs['value_float']]);
  if (typeof attrs['value_int'] === 'number') return makeTensor('int64', [], [attrs['value_int']]);
  const fl = attrs['value_floats'] as number[] | undefined;
  if (fl) return makeTensor('float32', [fl.length], fl);
  const il = attrs['value_ints'] as number[] | undefined;
  if (il) return makeTensor('int64', [il.length], il);
  throw fail('has no value (supported: value, value_float(s), value_int(s))');
}

/** Quantization parameters (scale, zero point, axis) as Q/DQ nodes give them. */
export interface QParams {
  readonly scale: Tensor;
  readonly zeroPoint: Tensor | undefined;
  readonly axis: number;
}

function qTypeOf(zeroPoint: Tensor | undefined): { dtype: DType; lo: number; hi: number; signed: boolean; bits: number } {
  const dtype = zeroPoint?.dtype ?? 'uint8';
  if (dtype === 'uint8') return { dtype, lo: 0, hi: 255, signed: false, bits: 8 };
  if (dtype === 'int8') return { dtype, lo: -128, hi: 127, signed: true, bits: 8 };
  if (dtype === 'int32') return { dtype, lo: -(2 ** 31), hi: 2 ** 31 - 1, signed: true, bits: 32 };
  throw fail(`zero point type ${dtype} is not supported (supported: uint8, int8, and int32 for biases)`);
}

/** Per-element index into the scale/zero-point vectors (per-tensor: 0). */
function channelIndexer(dims: readonly number[], q: QParams): (i: number) => number {
  if (q.scale.data.length <= 1) return () => 0;
  if (q.scale.dims.length !== 1) throw fail('a per-channel scale must be 1-D');
  const axis = normalizeAxis(q.axis, dims.length);
  if (dims[axis] !== q.scale.data.length) throw fail(`${q.scale.data.length} scales for axis ${axis} of size ${dims[axis]}`);
  const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const len = dims[axis] ?? 1;
  return (i) => Math.floor(i / inner) % len;
}

function checkQParams(q: QParams): void {
  if (q.zeroPoint && q.zeroPoint.data.length !== q.scale.data.length) throw fail('scale and zero point differ in length');
  for (const s of q.scale.data) if (!(s > 0) || !Number.isFinite(s)) throw fail(`scale ${s} is not a positive finite number`);
}

function quantizeLinear(x: Tensor, q: QParams): Tensor {
  checkQParams(q);
  const type = qTypeOf(q.zeroPoint);
  const channel = channelIndexer(x.dims, q);
  const data = x.data.map((v, i) => {
    const c = channel(i);
    const r = roundHalfEven(v / (q.scale.data[c] ?? 1)) + (q.zeroPoint?.data[c] ?? 0);
    return Math.min(type.hi, Math.max(type.lo, r));
  });
  return { dtype: type.dtype, dims: x.dims, data };
}

function dequantizeLinear(x: Tensor, q: QParams): ConstValue {
  checkQParams(q);
  if (x.dtype === 'float32' || x.dtype === 'int64') throw fail(`cannot dequantize a ${x.dtype} tensor`);
  if (q.zeroPoint && q.zeroPoint.dtype !== x.dtype) throw fail(`zero point type ${q.zeroPoint.dtype} differs from the data type ${x.dtype}`);
  const type = qTypeOf(q.zeroPoint ?? { dtype: x.dtype, dims: [], data: new Float64Array(1) });
  const channel = channelIndexer(x.dims, q);
  const int = x.data.map((v, i) => v - (q.zeroPoint?.data[channel(i)] ?? 0));
  const data = int.map((v, i) => Math.fround(v * (q.scale.data[channel(i)] ?? 1)));
  const quant: QuantizedConst = {
    int,
    scale: Float64Array.from(q.scale.data),
    zeroPoint: q.zeroPoint ? Float64Array.from(q.zeroPoint.data) : new Float64Array(q.scale.data.length),
    axis: q.scale.data.length > 1 ? normalizeAxis(q.axis, x.dims.length) : -1,
    signed: type.signed,
    bits: type.bits,
  };
  return { tensor: { dtype: 'float32', dims: x.dims, data }, quant };
}

/** ONNX's rounding for QuantizeLinear: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The ops evaluate() can fold when all their inputs are constants. */
export const FOLDABLE_OPS: ReadonlySet<string> = new Set(['Constant', 'Identity', 'Dropout', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Reshape', 'Flatten', 'Add', 'Sub', 'Mul', 'Div', 'QuantizeLinear', 'DequantizeLinear']);

/** Evaluate a foldable op on constant inputs (`inputs[i]` undefined for an omitted optional input). */
export function evaluate(op: string, attrs: Record<string, unknown>, inputs: ReadonlyArray<ConstValue | undefined>, opset: number): ConstValue {
  const t = (i: number): Tensor => {
    const v = inputs[i];
    if (!v) throw fail(`input ${i} is missing`);
    return v.tensor;
  };
  const num = (key: string, dflt: number): number => (typeof attrs[key] === 'number' ? (attrs[key] as number) : dflt);
  switch (op) {
    case 'Constant': return { tensor: constantNode(attrs) };
    case 'Identity':
    case 'Dropout': return inputs[0] ?? { tensor: t(0) };
    case 'Gather': return { tensor: gather(t(0), t(1), num('axis', 0)) };
    case 'Unsqueeze': return { tensor: unsqueeze(t(0), opset >= 13 ? Array.from(t(1).data) : ((attrs['axes'] as number[] | undefined) ?? [])) };
    case 'Squeeze': return { tensor: squeeze(t(0), opset >= 13 ? (inputs[1] ? Array.from(t(1).data) : undefined) : (attrs['axes'] as number[] | undefined)) };
    case 'Concat': return { tensor: concat(inputs.map((_, i) => t(i)), num('axis', 0)) };
    case 'Cast': return { tensor: cast(t(0), num('to', 1)) };
    case 'Reshape': return { tensor: { ...t(0), dims: resolveReshape(t(0).dims, Array.from(t(1).data)) } };
    case 'Flatten': {
      const x = t(0);
      const axis = normalizeAxis(num('axis', 1), x.dims.length, true);
      const head = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
      return { tensor: { ...x, dims: [head, x.data.length / Math.max(head, 1)] } };
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': return { tensor: binary(op, t(0), t(1)) };
    case 'QuantizeLinear': {
      const zeroPoint = inputs[2]?.tensor ?? (attrs['output_dtype'] === 3 ? makeTensor('int8', t(1).dims, new Array<number>(t(1).data.length).fill(0)) : undefined);
      return { tensor: quantizeLinear(t(0), { scale: t(1), zeroPoint, axis: num('axis', 1) }) };
    }
    case 'DequantizeLinear': return dequantizeLinear(t(0), { scale: t(1), zeroPoint: inputs[2]?.tensor, axis: num('axis', 1) });
    default: throw fail(`${op} cannot be evaluated on constants`);
  }
}
