/**
 * Stimulus and reference for the depthwise engine: random channel blocks, weights and geometry (kernel,
 * stride, asymmetric pads), streamed as the controller streams them (padded raster order, one pixel a
 * beat at stride x 1 and two at stride x >= 2, with random idle clocks between beats), and the expected outputs (depthwise sum or window max per lane) in output
 * raster order, computed directly from the definition.
 */
import { type RtlConfig, operandRange } from '../../generator/accel/rtl/config.js';
import { DW_MODE, dwInputType, dwMaxPad } from '../../generator/accel/rtl/depthwise.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import type { Vector } from '../../verify/sim/index.js';

export interface DwCase {
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly sy: number;
  readonly sx: number;
  /** [top, left, bottom, right] */
  readonly pads: readonly [number, number, number, number];
  readonly mode: 'mac' | 'max' | 'sum';
}

const pack = (values: readonly (bigint | number)[], bits: number): bigint =>
  values.reduce<bigint>((acc, v, i) => acc | (BigInt.asUintN(bits, BigInt(v)) << BigInt(i * bits)), 0n);

export function dwStimulus(c: RtlConfig, cases: readonly DwCase[], seed: number): { vectors: Vector[]; expected: bigint[][] } {
  const n = c.rows;
  const k = c.dwKernel;
  const r = seededRandom(seed);
  const rand = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const wmax = 2 ** (c.weightBits - 1) - 1;
  const vectors: Vector[] = [];
  const expected: bigint[][] = [];
  for (const dc of cases) {
    const [pt, pl, pb, pr] = dc.pads;
    const hp = dc.h + pt + pb;
    const wp = dc.w + pl + pr;
    const op = operandRange(c);
    const x = Array.from({ length: dc.h }, () => Array.from({ length: dc.w }, () => Array.from({ length: n }, () => (r() < 0.1 ? (r() < 0.5 ? op.min : op.max) : rand(op.min, op.max)))));
    const wt = Array.from({ length: dc.kh }, () => Array.from({ length: dc.kw }, () => Array.from({ length: n }, () => (r() < 0.1 ? -wmax : rand(-wmax, wmax)))));
    const padValue = dc.mode === 'max' ? dwMaxPad(c) : 0;
    const at = (y: number, xx: number): number[] => (y < pt || y >= pt + dc.h || xx < pl || xx >= pl + dc.w ? new Array<number>(n).fill(padValue) : x[y - pt]![xx - pl]!);
    const geometry = { width: BigInt(wp), kh: BigInt(dc.kh), kw: BigInt(dc.kw), sy: BigInt(dc.sy), sx: BigInt(dc.sx), mode: BigInt(DW_MODE[dc.mode]) };
    const idle = { ...geometry, start: 0n, in_valid: 0n, in_data: 0n, in_data_odd: 0n, w_clear: 0n, w_load: 0n, w_pos: 0n, w_data: 0n };
    vectors.push({ ...idle, start: 1n, w_clear: 1n });
    // Only the kernel's taps load (the clear zeroed the rest), in random order, as mac mode needs.
    if (dc.mode === 'mac') {
      for (let i = 0; i < dc.kh; i++) {
        for (let j = 0; j < dc.kw; j++) {
          const pos = (i + k - dc.kh) * k + (j + k - dc.kw);
          vectors.push({ ...idle, w_load: 1n, w_pos: BigInt(pos), w_data: pack(wt[i]![j]!, c.weightBits) });
        }
      }
    }
    // One pixel a beat at stride x 1, two at stride x >= 2 (a row of odd width ends with a beat of one,
    // its second pixel random: the engine must not use it).
    const perBeat = dc.sx >= 2 ? 2 : 1;
    const bits = dwInputType(c).bits;
    for (let y = 0; y < hp; y++) {
      for (let xx = 0; xx < wp; xx += perBeat) {
        if (r() < 0.15) vectors.push(idle);
        const odd = perBeat === 2 && xx + 1 < wp ? at(y, xx + 1) : Array.from({ length: n }, () => rand(dwMaxPad(c), op.max));
        vectors.push({ ...idle, in_valid: 1n, in_data: pack(at(y, xx), bits), in_data_odd: pack(odd, bits) });
      }
    }
    for (let i = 0; i < 4; i++) vectors.push(idle);
    const ho = Math.floor((hp - dc.kh) / dc.sy) + 1;
    const wo = Math.floor((wp - dc.kw) / dc.sx) + 1;
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        expected.push(
          Array.from({ length: n }, (_, lane) => {
            let acc = dc.mode === 'max' ? -Infinity : 0;
            for (let i = 0; i < dc.kh; i++) {
              for (let j = 0; j < dc.kw; j++) {
                const v = at(oy * dc.sy + i, ox * dc.sx + j)[lane]!;
                acc = dc.mode === 'max' ? Math.max(acc, v) : acc + v * (dc.mode === 'sum' ? 1 : wt[i]![j]![lane]!);
              }
            }
            return BigInt(acc);
          }),
        );
      }
    }
  }
  return { vectors, expected };
}
