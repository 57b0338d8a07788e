/**
 * Tensors as the importer sees them: every element as a JavaScript number (Float64Array), which holds
 * float32, int8, uint8 and int32 exactly, and int64 exactly up to 2^53 (shapes, axes, pads; larger
 * int64 values are sentinels such as INT64_MAX in Slice and only need to compare as large).
 */
import onnxProto from 'onnx-proto';
import { badInput } from '../common/errors.js';

/** protobufjs's int64 (a Long object), structurally. */
export interface LongLike {
  toNumber(): number;
}

export type DType = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64';

export interface Tensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

/** ONNX TensorProto.DataType codes we read, with their byte size in raw_data. */
const DTYPES: ReadonlyMap<number, { dtype: DType; bytes: number }> = new Map([
  [1, { dtype: 'float32', bytes: 4 }],
  [2, { dtype: 'uint8', bytes: 1 }],
  [3, { dtype: 'int8', bytes: 1 }],
  [6, { dtype: 'int32', bytes: 4 }],
  [7, { dtype: 'int64', bytes: 8 }],
]);
const SUPPORTED_DTYPES = 'float, uint8, int8, int32, int64';

/** The ONNX TensorProto.DataType code of a dtype (what a graph output declares). */
export function dtypeCode(dtype: DType): number {
  for (const [code, info] of DTYPES) if (info.dtype === dtype) return code;
  throw new Error(`no ONNX code for dtype ${dtype}`);
}

/** Beyond this many elements a tensor is not something a fixed-weight front end can hold. */
const MAX_ELEMENTS = 1 << 24;

/** A protobuf int64 (Long or number) as a number; throws via `fail` when not a safe integer. */
export function longToNumber(value: number | LongLike | null | undefined, fail: (msg: string) => Error): number {
  if (value === null || value === undefined) return 0;
  const n = typeof value === 'number' ? value : value.toNumber();
  if (!Number.isSafeInteger(n)) throw fail(`integer ${String(value)} is out of range`);
  return n;
}

/** Number of elements of a shape, refusing negative dims and absurd sizes. */
export function elementCount(dims: readonly number[], what: string): number {
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw badInput(`${what}: invalid dimension ${d} in [${dims.join(', ')}]`);
    count *= d;
    if (count > MAX_ELEMENTS) throw badInput(`${what}: ${dims.join('x')} elements is too large (limit ${MAX_ELEMENTS})`);
  }
  return count;
}

/** Decode a TensorProto (an initializer or a Constant's value) to a Tensor. `what` names it in errors. */
export function decodeTensor(proto: onnxProto.onnx.ITensorProto, what: string): Tensor {
  const info = DTYPES.get(proto.dataType ?? 0);
  if (!info) throw badInput(`${what}: unsupported tensor data type ${proto.dataType ?? 0} (supported: ${SUPPORTED_DTYPES})`);
  if (proto.dataLocation === 1) throw badInput(`${what}: external tensor data is not supported (save the model with its weights inside)`);
  const dims = (proto.dims ?? []).map((d) => longToNumber(d, (m) => badInput(`${what}: dimension ${m}`)));
  const count = elementCount(dims, what);
  const data = proto.rawData && proto.rawData.length > 0 ? readRaw(proto.rawData, info, count, what) : readTyped(proto, info.dtype, count, what);
  return { dtype: info.dtype, dims, data };
}

function readRaw(raw: Uint8Array, info: { dtype: DType; bytes: number }, count: number, what: string): Float64Array {
  if (raw.length !== count * info.bytes) {
    throw badInput(`${what}: raw_data holds ${raw.length} bytes, expected ${count * info.bytes} for ${count} ${info.dtype} values`);
  }
  // raw_data is a view into the file buffer at any alignment: read through a DataView, little-endian.
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (info.dtype) {
      case 'float32': out[i] = view.getFloat32(i * 4, true); break;
      case 'uint8': out[i] = view.getUint8(i); break;
      case 'int8': out[i] = view.getInt8(i); break;
      case 'int32': out[i] = view.getInt32(i * 4, true); break;
      case 'int64': out[i] = Number(view.getBigInt64(i * 8, true)); break;
    }
  }
  return out;
}

function readTyped(proto: onnxProto.onnx.ITensorProto, dtype: DType, count: number, what: string): Float64Array {
  const values: ArrayLike<number | LongLike> =
    dtype === 'float32' ? (proto.floatData ?? []) : dtype === 'int64' ? (proto.int64Data ?? []) : (proto.int32Data ?? []);
  if (values.length !== count) throw badInput(`${what}: holds ${values.length} values, expected ${count} for shape [${(proto.dims ?? []).join(', ')}]`);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const v = values[i];
    out[i] = typeof v === 'number' ? v : v === undefined ? 0 : v.toNumber();
  }
  if (dtype === 'float32') for (let i = 0; i < count; i++) out[i] = Math.fround(out[i] ?? 0);
  return out;
}

/** A tensor with the given dtype, dims and values. */
export function makeTensor(dtype: DType, dims: readonly number[], data: ArrayLike<number>): Tensor {
  return { dtype, dims: [...dims], data: Float64Array.from(data) };
}

/** Row-major strides of a shape. */
export function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) strides[i] = (strides[i + 1] ?? 1) * (dims[i + 1] ?? 1);
  return strides;
}
