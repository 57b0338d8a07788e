/**
 * A tiny .npy reader for the integer matrices of the arithmetic benchmark (int8/int16/int32, C order).
 * generator/data owns the general reader; this one exists so that the arithmetic does not wait for it.
 */
import { readFileSync } from 'node:fs';
import { badInput } from '../errors.js';

export interface IntArray {
  readonly shape: readonly number[];
  readonly data: Int32Array;
}

const DTYPES: Record<string, { bytes: number; read: (view: DataView, at: number) => number }> = {
  '|i1': { bytes: 1, read: (v, at) => v.getInt8(at) },
  '<i2': { bytes: 2, read: (v, at) => v.getInt16(at, true) },
  '<i4': { bytes: 4, read: (v, at) => v.getInt32(at, true) },
};

export function readIntNpy(path: string): IntArray {
  const bytes = readFileSync(path);
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw badInput(`${path}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const dtype = descr === undefined ? undefined : DTYPES[descr];
  if (dtype === undefined) throw badInput(`${path}: dtype ${descr ?? '?'} is not supported here (supported: int8, little-endian int16, int32)`);
  if (fortran !== 'False') throw badInput(`${path}: Fortran-order arrays are not supported (save with C order)`);
  if (shapeText === undefined) throw badInput(`${path}: header has no shape`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart + count * dtype.bytes) throw badInput(`${path}: truncated: shape ${JSON.stringify(shape)} needs ${count * dtype.bytes} data bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, count * dtype.bytes);
  const data = new Int32Array(count);
  for (let k = 0; k < count; k += 1) data[k] = dtype.read(view, k * dtype.bytes);
  return { shape, data };
}
