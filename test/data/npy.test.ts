import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FixynnError } from '../../generator/common/errors.js';
import { encodeNpy, npyToNumbers, parseNpy, readNpy, writeNpy, type NpyData } from '../../generator/data/npy.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => path.join(fixtures, name);
const temp = mkdtempSync(path.join(tmpdir(), 'fixynn-npy-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The error a bad file must give: a FixynnError (exit 2) whose message matches. */
function expectBadInput(run: () => unknown, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FixynnError);
    expect((error as FixynnError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a badInput error');
}

describe('reading files written by NumPy (fixtures/make-fixtures.py)', () => {
  it('float32 [2,3,4,5] in C order', () => {
    const array = readNpy(fixture('f4-nchw.npy'));
    expect(array.dtype).toBe('f4');
    expect(array.shape).toEqual([2, 3, 4, 5]);
    const expected = Float32Array.from({ length: 120 }, (_, i) => (i - 60) / 7);
    expect(Array.from(array.data as Float32Array)).toEqual(Array.from(expected));
  });

  it('float64, uint8, int8 and int64 values', () => {
    expect(Array.from(readNpy(fixture('f8-vec.npy')).data as Float64Array)).toEqual([1.5, -2.25, 1e300, Math.PI]);
    const pixels = readNpy(fixture('u1-pixels.npy'));
    expect(pixels.shape).toEqual([2, 1, 3, 3]);
    expect(Array.from(pixels.data as Uint8Array)).toEqual(Array.from({ length: 18 }, (_, i) => i * 14));
    const small = readNpy(fixture('i1-small.npy'));
    expect(small.shape).toEqual([2, 2]);
    expect(Array.from(small.data as Int8Array)).toEqual([-128, 127, 0, -1]);
    const labels = readNpy(fixture('i8-labels.npy'));
    expect(Array.from(npyToNumbers(labels))).toEqual([3, 0, 9, -1, 2 ** 40]);
  });

  it('a version 2.0 header and a 0-d array', () => {
    const v2 = readNpy(fixture('f4-v2.npy'));
    expect(v2.shape).toEqual([1, 3]);
    expect(Array.from(v2.data as Float32Array)).toEqual([1, 2, 3]);
    const scalar = readNpy(fixture('scalar.npy'));
    expect(scalar.shape).toEqual([]);
    expect(Array.from(scalar.data as Float32Array)).toEqual([2.5]);
  });

  it('refuses Fortran order, big-endian data and unsupported dtypes with a clear cause', () => {
    expectBadInput(() => readNpy(fixture('f4-fortran.npy')), /f4-fortran\.npy: .*Fortran order/);
    expectBadInput(() => readNpy(fixture('f4-bigendian.npy')), /big-endian/);
    expectBadInput(() => readNpy(fixture('bool.npy')), /dtype "\|b1" is not supported \(supported: f4, f8/);
  });
});

describe('corrupt files', () => {
  const good = encodeNpy(new Float32Array([1, 2, 3, 4]), [2, 2]);

  it('truncated data and extra bytes are errors naming the sizes', () => {
    expectBadInput(() => parseNpy(good.subarray(0, good.length - 1), 'cut.npy'), /cut\.npy: .*needs 16 data bytes, the file has 15/);
    expectBadInput(() => parseNpy(Buffer.concat([good, Buffer.from([0])]), 'long.npy'), /the file has 17/);
  });

  it('a truncated header, a wrong magic and an unknown version', () => {
    expectBadInput(() => parseNpy(good.subarray(0, 20), 'h.npy'), /header is truncated/);
    expectBadInput(() => parseNpy(Buffer.from('PK\x03\x04 not numpy at all'), 'zip.npy'), /not a \.npy file/);
    const future = Buffer.from(good);
    future[6] = 9;
    expectBadInput(() => parseNpy(future, 'v9.npy'), /version 9 is not supported/);
  });

  it('every truncation of a valid file is a clear error, never an exception of another kind', () => {
    for (let cut = 0; cut < good.length; cut++) {
      expectBadInput(() => parseNpy(good.subarray(0, cut), 'cut.npy'), /cut\.npy: /);
    }
  });

  it('a missing file names the path', () => {
    expectBadInput(() => readNpy(path.join(temp, 'nope.npy')), /nope\.npy: cannot read/);
  });
});

describe('write then read', () => {
  const cases: Array<[string, NpyData, number[]]> = [
    ['f4', new Float32Array([0.5, -1.25, 3e-8, 7, 8, 9]), [1, 2, 3]],
    ['f8', new Float64Array([Math.E, -0]), [2]],
    ['i1', new Int8Array([-128, 0, 127]), [3]],
    ['u1', new Uint8Array([0, 128, 255, 1]), [2, 2]],
    ['i2', new Int16Array([-32768, 32767]), [2, 1]],
    ['u2', new Uint16Array([65535]), [1]],
    ['i4', new Int32Array([-(2 ** 31), 2 ** 31 - 1]), [2]],
    ['u4', new Uint32Array([2 ** 32 - 1]), [1, 1, 1, 1]],
    ['i8', new BigInt64Array([-(2n ** 63n), 42n]), [2]],
  ];

  it.each(cases)('%s round trip through a file', (dtype, data, shape) => {
    const file = path.join(temp, `${dtype}.npy`);
    writeNpy(file, data, shape);
    const back = readNpy(file);
    expect(back.dtype).toBe(dtype);
    expect(back.shape).toEqual(shape);
    expect(back.data.constructor).toBe(data.constructor);
    expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(data as ArrayLike<number | bigint>));
  });

  it('headers are padded to 64 bytes as NumPy does, and a view into a larger buffer is written alone', () => {
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const bytes = encodeNpy(backing.subarray(1, 4), [3]);
    expect((bytes.length - 12) % 64).toBe(0);
    expect(Array.from(parseNpy(bytes).data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('int64 values past 2^53 cannot silently become numbers', () => {
    const array = parseNpy(encodeNpy(new BigInt64Array([2n ** 60n]), [1]), 'big.npy');
    expectBadInput(() => npyToNumbers(array, 'big.npy'), /does not fit a JavaScript number/);
  });
});
