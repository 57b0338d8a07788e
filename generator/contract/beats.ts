/**
 * Beats of a pixel stream as text lines of hex (what the testbench reads and writes): all channels of a
 * pixel in one beat, channel 0 in the least significant bits, each `bits` wide, two's complement when
 * signed (generator/contract/stream.ts).
 */
import type { Stream } from './stream.js';

/** One hex line per pixel, in raster order, of a [C, H, W] tensor of q values. */
export function packFrame(values: Int32Array, format: Stream): string[] {
  const { channels, height, width } = format;
  const { bits } = format.type;
  const plane = height * width;
  if (values.length !== channels * plane) throw new Error(`internal: ${values.length} values for a ${channels}x${height}x${width} stream`);
  const mask = (1n << BigInt(bits)) - 1n;
  const lines: string[] = [];
  for (let p = 0; p < plane; p++) {
    let word = 0n;
    for (let c = channels - 1; c >= 0; c--) word = (word << BigInt(bits)) | (BigInt(values[c * plane + p] as number) & mask);
    lines.push(word.toString(16));
  }
  return lines;
}

/** The channel values of one beat; null when the simulator reported unknown (x/z) bits. */
export function unpackBeat(hex: string, format: Stream): number[] | null {
  if (!/^[0-9a-fA-F]+$/.test(hex)) return null;
  let word = BigInt(`0x${hex}`);
  const bits = BigInt(format.type.bits);
  const mask = (1n << bits) - 1n;
  const signBit = 1n << (bits - 1n);
  const values: number[] = [];
  for (let c = 0; c < format.channels; c++) {
    const raw = word & mask;
    values.push(Number(format.type.signed && (raw & signBit) !== 0n ? raw - (1n << bits) : raw));
    word >>= bits;
  }
  return values;
}
