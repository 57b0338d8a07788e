/**
 * NumPy `.npy` files: a reader for versions 1.0, 2.0 and 3.0 of the format, C order, little-endian
 * (or byte-order-free) dtypes f4, f8, i1, u1, i2, u2, i4, u4, i8, and a writer (version 1.0) for tests
 * and scripts. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { badInput } from '../common/errors.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

export type NpyDtype = 'f4' | 'f8' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8';

export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array;

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** The elements in C (row-major) order. */
  readonly data: NpyData;
}

interface DtypeInfo {
  readonly bytes: number;
  readonly make: (buffer: ArrayBuffer) => NpyData;
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  f4: { bytes: 4, make: (b) => new Float32Array(b) },
  f8: { bytes: 8, make: (b) => new Float64Array(b) },
  i1: { bytes: 1, make: (b) => new Int8Array(b) },
  u1: { bytes: 1, make: (b) => new Uint8Array(b) },
  i2: { bytes: 2, make: (b) => new Int16Array(b) },
  u2: { bytes: 2, make: (b) => new Uint16Array(b) },
  i4: { bytes: 4, make: (b) => new Int32Array(b) },
  u4: { bytes: 4, make: (b) => new Uint32Array(b) },
  i8: { bytes: 8, make: (b) => new BigInt64Array(b) },
};

const SUPPORTED = Object.keys(DTYPES).join(', ');

export function isIntegerDtype(dtype: NpyDtype): boolean {
  return dtype !== 'f4' && dtype !== 'f8';
}

/** Reads a .npy file; any problem is a badInput error naming the file. */
export function readNpy(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw badInput(`${file}: cannot read the .npy file (${(error as Error).message}).`);
  }
  return parseNpy(bytes, file);
}

/** Parses the bytes of a .npy file; `name` is used in error messages. */
export function parseNpy(bytes: Uint8Array, name = '.npy data'): NpyArray {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 10 || !buffer.subarray(0, 6).equals(MAGIC)) {
    throw badInput(`${name}: not a .npy file (the file does not start with "\\x93NUMPY").`);
  }
  const major = buffer[6];
  const { headerLength, headerStart } = headerLocation(buffer, major, name);
  const headerEnd = headerStart + headerLength;
  if (buffer.length < headerEnd) throw badInput(`${name}: the .npy header is truncated.`);
  const encoding = major === 3 ? 'utf8' : 'latin1';
  const header = parseHeader(buffer.toString(encoding, headerStart, headerEnd), name);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * DTYPES[header.dtype].bytes;
  if (buffer.length - headerEnd !== dataBytes) {
    throw badInput(
      `${name}: shape [${header.shape.join(', ')}] of ${header.dtype} needs ${dataBytes} data bytes, ` +
        `the file has ${buffer.length - headerEnd} (truncated or corrupt).`,
    );
  }
  // Copy into a fresh ArrayBuffer: the data offset need not be aligned for a typed-array view.
  const start = buffer.byteOffset + headerEnd;
  const data = DTYPES[header.dtype].make(buffer.buffer.slice(start, start + dataBytes) as ArrayBuffer);
  return { dtype: header.dtype, shape: header.shape, data };
}

function headerLocation(buffer: Buffer, major: number | undefined, name: string) {
  if (major === 1) return { headerLength: buffer.readUInt16LE(8), headerStart: 10 };
  if (major === 2 || major === 3) {
    if (buffer.length < 12) throw badInput(`${name}: the .npy header is truncated.`);
    return { headerLength: buffer.readUInt32LE(8), headerStart: 12 };
  }
  throw badInput(`${name}: .npy format version ${String(major)} is not supported (supported: 1, 2, 3).`);
}

function parseHeader(text: string, name: string): { dtype: NpyDtype; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw badInput(`${name}: cannot parse the .npy header ${JSON.stringify(text.trim())} (structured dtypes are not supported).`);
  }
  if (fortran === 'True') {
    throw badInput(`${name}: the array is stored in Fortran order; save it in C order (np.ascontiguousarray).`);
  }
  return { dtype: parseDescr(descr, name), shape: parseShape(shapeText, name) };
}

function parseDescr(descr: string, name: string): NpyDtype {
  const match = /^([<>|=])?([a-z])(\d+)$/.exec(descr);
  const dtype = match ? `${match[2]}${match[3]}` : '';
  const order = match?.[1];
  if (!(dtype in DTYPES)) {
    throw badInput(`${name}: .npy dtype "${descr}" is not supported (supported: ${SUPPORTED}).`);
  }
  if (order === '>' && DTYPES[dtype as NpyDtype].bytes > 1) {
    throw badInput(`${name}: .npy dtype "${descr}" is big-endian; only little-endian data is supported.`);
  }
  return dtype as NpyDtype;
}

function parseShape(text: string, name: string): number[] {
  const parts = text.split(',').map((p) => p.trim().replace(/L$/, '')).filter((p) => p !== '');
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw badInput(`${name}: bad dimension "${p}" in the .npy shape (${text}).`);
    return Number(p);
  });
}

/** The elements as JavaScript numbers (an i8 value past 2^53 in magnitude is an error). */
export function npyToNumbers(array: NpyArray, name = '.npy data'): Float64Array {
  const out = new Float64Array(array.data.length);
  for (let i = 0; i < array.data.length; i++) {
    const value = array.data[i] as number | bigint;
    if (typeof value === 'bigint' && (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER))) {
      throw badInput(`${name}: int64 element ${i} (${value}) does not fit a JavaScript number exactly.`);
    }
    out[i] = Number(value);
  }
  return out;
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'f4';
  if (data instanceof Float64Array) return 'f8';
  if (data instanceof Int8Array) return 'i1';
  if (data instanceof Uint8Array) return 'u1';
  if (data instanceof Int16Array) return 'i2';
  if (data instanceof Uint16Array) return 'u2';
  if (data instanceof Int32Array) return 'i4';
  if (data instanceof Uint32Array) return 'u4';
  return 'i8';
}

/** Encodes a C-order array as a version 1.0 .npy file (little-endian; the dtype follows the typed array). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`encodeNpy: shape [${shape.join(', ')}] has ${count} elements, the data ${data.length}`);
  }
  const dtype = dtypeOf(data);
  const byteOrder = DTYPES[dtype].bytes === 1 ? '|' : '<';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${byteOrder}${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so that magic + version + length + header (ending in '\n') is a multiple of 64.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}

export function writeNpy(file: string, data: NpyData, shape: readonly number[]): void {
  writeFileSync(file, encodeNpy(data, shape));
}
