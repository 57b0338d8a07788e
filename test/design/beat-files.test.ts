/**
 * The byte-at-a-time beat files of verify/ffe (stim.hex written, out.hex and tap files read) against the
 * string form of generator/contract/beats.ts, and the comparison on them: the first differing frame,
 * pixel and channel is named exactly as before.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { packFrame, unpackBeat } from '../../generator/contract/beats.js';
import { packFramesHex, readBeats, readBinaryBeats } from '../../verify/ffe/beat-files.js';
import { compareStream } from '../../verify/ffe/compare.js';

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
});
