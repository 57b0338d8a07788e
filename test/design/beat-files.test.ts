/**
 * The byte-at-a-time beat files of verify/ffe (stim.hex written, out.hex and tap files read) against the
 * string form of generator/contract/beats.ts, and the comparison on them: the first differing frame,
 * pixel and channel is named exactly as before.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { packFrame, unpackBeat } from '../../generator/contract/beats.js';
import { BinaryBeatPacker, packBinaryBeats, packFramesHex, readBeats, readBinaryBeats } from '../../verify/ffe/beat-files.js';
import { compareFile, compareStream } from '../../verify/ffe/compare.js';

const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** A value as $fwrite's %z writes it: per 32 bits a little-endian word of the value bits, then one of the x/z bits. */
function z(value: bigint, bits: number, xz = 0n): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < Math.ceil(bits / 32); w++) {
    for (const part of [value, xz]) {
      const word = Number((part >> BigInt(32 * w)) & 0xffffffffn);
      bytes.push(word & 255, (word >>> 8) & 255, (word >>> 16) & 255, word >>> 24);
    }
  }
  return bytes;
}

function randomFrame(channels: number, bits: number, signed: boolean, pixels: number, seed: number): Int32Array {
  const lo = signed ? -(2 ** (bits - 1)) : 0;
  return Int32Array.from({ length: channels * pixels }, (_, i) => lo + ((seed + i * 2654435761) >>> 0) % 2 ** bits);
}

describe('beat files', () => {
  it('stim.hex lines carry the words of packFrame, and readBeats decodes them as unpackBeat does', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 20 }), fc.boolean(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (channels, bits, signed, pixels, seed) => {
        const format = { channels, height: 1, width: pixels, type: { bits, signed } };
        const frames = [randomFrame(channels, bits, signed, pixels, seed), randomFrame(channels, bits, signed, pixels, seed + 7)];
        const lines = packFramesHex(frames, format).toString('latin1').split('\n');
        expect(lines.pop()).toBe('');
        const reference = frames.flatMap((f) => packFrame(f, format));
        expect(lines.map((l) => BigInt(`0x${l}`))).toEqual(reference.map((l) => BigInt(`0x${l}`)));
        const table = readBeats(text(`${reference.join('\n')}\n`), format);
        expect(table.count).toBe(reference.length);
        reference.forEach((hex, b) => expect([...table.values.subarray(b * channels, (b + 1) * channels)]).toEqual(unpackBeat(hex, format)));
      },
    ));
  });

  it('readBinaryBeats decodes the testbench\'s %z words as unpackBeat decodes the hex words', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 32 }), fc.boolean(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (channels, bits, signed, pixels, seed) => {
        const format = { channels, height: 1, width: pixels, type: { bits, signed } };
        const reference = [randomFrame(channels, bits, signed, pixels, seed), randomFrame(channels, bits, signed, pixels, seed + 7)].flatMap((f) => packFrame(f, format));
        const table = readBinaryBeats(Uint8Array.from(reference.flatMap((hex) => z(BigInt(`0x${hex}`), channels * bits))), format);
        expect(table.count).toBe(reference.length);
        expect(table.unknown.size).toBe(0);
        reference.forEach((hex, b) => expect([...table.values.subarray(b * channels, (b + 1) * channels)]).toEqual(unpackBeat(hex, format)));
      },
    ));
  });

  it('readBinaryBeats: flags after each beat, unknown bits named as x digits, a torn file refused', () => {
    const format = { channels: 2, height: 1, width: 3, type: { bits: 20, signed: true } };
    const beat = (v: bigint, flags: bigint, xz = 0n): number[] => [...z(v, 40, xz), ...z(flags, 2)];
    const bytes = Uint8Array.from([...beat(0x00001fffffn, 1n), ...beat(0x12345678n, 2n, 0xf00n), ...beat((1n << 39n) | 5n, 3n)]);
    const t = readBinaryBeats(bytes, format, true);
    expect(t.count).toBe(3);
    expect([...t.values]).toEqual([-1, 1, 0, 0, 5, -524288]);
    expect([...t.unknown]).toEqual([[1, '0012345x78']]);
    expect([...(t.flags ?? [])]).toEqual([1, 0, 3]);
    expect(() => readBinaryBeats(bytes.subarray(0, 30), format, true)).toThrow(/not a whole number of 24-byte beats/);
    // A torn file is a failed check (exit 1), not an internal error.
    expect(() => readBinaryBeats(bytes.subarray(0, 30), format, true)).toThrow(expect.objectContaining({ exitCode: 1 }));
  });

  it('keeps the text of beats with unknown bits, reads out.hex flags, skips empty lines', () => {
    const format = { channels: 2, height: 1, width: 3, type: { bits: 8, signed: true } };
    const t = readBeats(text('ff01 1 0\n\n0x80 0 0\r\nzz 0 1x\n7f80 0 1\n'), format, true);
    expect(t.count).toBe(4);
    expect([...t.values]).toEqual([1, -1, 0, 0, 0, 0, -128, 127]);
    expect([...t.unknown]).toEqual([[1, '0x80'], [2, 'zz']]);
    expect([...(t.flags ?? [])]).toEqual([1, 0, 0, 2]);
    // A word wider than the stream is read modulo its width, as unpackBeat does.
    expect([...readBeats(text('1ff\n'), { ...format, channels: 1 }).values]).toEqual([-1]);
  });

  it('names the first differing frame, pixel and channel, missing and extra beats, wrong flags', () => {
    const format = { channels: 2, height: 2, width: 2, type: { bits: 8, signed: false } };
    const frames = [randomFrame(2, 8, false, 4, 3), randomFrame(2, 8, false, 4, 9)];
    const good = frames.flatMap((f) => packFrame(f, format));
    const check = (lines: string[], flags?: string[]): ReturnType<typeof compareStream> => compareStream({
      name: 'pw1', layer: 1, format,
      beats: readBeats(text(lines.map((l, i) => (flags ? `${l} ${flags[i]}` : l)).join('\n')), format, flags !== undefined),
    }, frames, 10);
    expect(check(good).differences).toBe(0);
    const bad = [...good];
    const v = frames[1] as Int32Array;
    bad[6] = ((((v[6] as number) ^ 1) << 8) | (v[2] as number)).toString(16); // frame 1, pixel (1, 0), channel 1
    expect(check(bad).first).toEqual({ frame: 11, layer: 1, layerName: 'pw1', row: 1, col: 0, channel: 1, expected: v[6], actual: (v[6] as number) ^ 1 });
    expect(check(good.slice(0, 5)).first).toMatchObject({ frame: 11, row: 0, col: 1, channel: null, actual: 'none (only 5 of 8 beats)' });
    expect(check([...good, '0']).first).toMatchObject({ frame: 12, channel: null, actual: '9 beats (extra or repeated)' });
    const flags = ['1 0', '0 1', '0 0', '0 1', '1 0', '0 1', '0 0', '0 1'];
    expect(check(good, flags).differences).toBe(0);
    expect(check(good, flags.map((f, i) => (i === 3 ? '0 0' : f))).first).toMatchObject({ frame: 10, row: 1, col: 1, channel: null, expected: 'tuser=0 tlast=1', actual: 'tuser=0 tlast=0' });
  });

  it('packBinaryBeats writes the bytes the testbench\'s %z writes for the expected values, flags included', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 32 }), fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (channels, bits, signed, height, width, seed) => {
        // Unsigned 32-bit values above 2^31 do not fit the integer model's Int32Array (asserted below).
        fc.pre(bits < 32 || signed);
        const format = { channels, height, width, type: { bits, signed } };
        const frames = [randomFrame(channels, bits, signed, height * width, seed), randomFrame(channels, bits, signed, height * width, seed + 7)];
        const flagged = (hex: string, p: number): number[] => [...z(BigInt(`0x${hex}`), channels * bits), ...z(BigInt((p === 0 ? 1 : 0) | (p % width === width - 1 ? 2 : 0)), 2)];
        const reference = frames.flatMap((f) => packFrame(f, format));
        expect([...(packBinaryBeats(frames, format) ?? [])]).toEqual(reference.flatMap((hex) => z(BigInt(`0x${hex}`), channels * bits)));
        expect([...(packBinaryBeats(frames, format, true) ?? [])]).toEqual(reference.flatMap((hex, b) => flagged(hex, b % (height * width))));
        // A packer reused after a run of all-ones values writes every word again (it does not clear its buffer).
        const packer = new BinaryBeatPacker(format, true);
        packer.start(2);
        for (const f of [0, 1]) packer.add(f, new Int32Array(channels * height * width).fill(signed ? -1 : 2 ** bits - 1));
        packer.start(2);
        frames.forEach((values, f) => packer.add(f, values));
        expect([...(packer.bytes() ?? [])]).toEqual(reference.flatMap((hex, b) => flagged(hex, b % (height * width))));
        packer.start(2);
        packer.add(0, frames[0] as Int32Array);
        expect(packer.bytes()).toBeNull(); // a frame not packed: no bytes to compare with
      },
    ));
    // A value outside the stream's type cannot be compared as bytes (its bits would be cut): null.
    const format = { channels: 1, height: 1, width: 2, type: { bits: 4, signed: true } };
    expect(packBinaryBeats([Int32Array.from([7, -8])], format)).not.toBeNull();
    expect(packBinaryBeats([Int32Array.from([8, 0])], format)).toBeNull();
    expect(packBinaryBeats([Int32Array.from([0, -9])], format)).toBeNull();
    expect(packBinaryBeats([Int32Array.from([0, -1])], { ...format, type: { bits: 32, signed: false } })).toBeNull();
    // Reused from run to run: a shorter run after a longer one leaves nothing of the longer behind.
    const packer = new BinaryBeatPacker({ ...format, type: { bits: 8, signed: false } }, false);
    packer.start(2);
    packer.add(0, Int32Array.from([255, 255]));
    packer.add(1, Int32Array.from([255, 255]));
    packer.start(1);
    packer.add(0, Int32Array.from([1, 2]));
    expect([...(packer.bytes() ?? [])]).toEqual([...z(1n, 8), ...z(2n, 8)]);
  });

  it('compareFile: a binary file equal to the packed values is not decoded; any other names its first difference', () => {
    const format = { channels: 2, height: 2, width: 2, type: { bits: 8, signed: true } };
    const frames = [randomFrame(2, 8, true, 4, 3), randomFrame(2, 8, true, 4, 9)];
    const packed = packBinaryBeats(frames, format, true) as Uint8Array;
    const file = (bytes: Uint8Array): Parameters<typeof compareFile>[2] => ({ bytes, kind: 'binary', format, withFlags: true });
    const unused = (): Int32Array[] => { throw new Error('decoded a file equal to the expected bytes'); };
    expect(compareFile('out', 'output', file(packed.slice()), packed, unused, 0)).toEqual({ differences: 0, first: null, frames: new Set() });
    // Frame 1, pixel (0, 1) is beat 5; channel 1 lies in bits 8..15 of its first word (each beat: data, x/z, flags, x/z).
    const bad = packed.slice();
    bad[5 * 16 + 1] = (bad[5 * 16 + 1] as number) ^ 4;
    const v = frames[1] as Int32Array;
    const flipped = ((((v[5] as number) & 255) ^ 4) << 24) >> 24;
    expect(compareFile('out', 'output', file(bad), packed, () => frames, 20).first).toEqual({ frame: 21, layer: 'output', layerName: 'out', row: 0, col: 1, channel: 1, expected: v[5], actual: flipped });
    // Unknown bits, a missing beat, a wrong flag: each named as before.
    const xz = packed.slice();
    xz[2 * 16 + 4] = 1;
    expect(compareFile('out', 'output', file(xz), packed, () => frames, 0).first).toMatchObject({ frame: 0, row: 1, col: 0, channel: null, expected: 'known bits' });
    expect(compareFile('out', 'output', file(packed.slice(0, 7 * 16)), packed, () => frames, 0).first).toMatchObject({ frame: 1, row: 1, col: 1, channel: null, actual: 'none (only 7 of 8 beats)' });
    const flag = packed.slice();
    flag[3 * 16 + 8] = 0;
    expect(compareFile('out', 'output', file(flag), packed, () => frames, 0).first).toMatchObject({ frame: 0, row: 1, col: 1, channel: null, expected: 'tuser=0 tlast=1', actual: 'tuser=0 tlast=0' });
    // Without packed bytes (a value outside the type, a text file) the values are compared.
    expect(compareFile('out', 'output', file(packed.slice()), null, () => frames, 0).differences).toBe(0);
  });
});
