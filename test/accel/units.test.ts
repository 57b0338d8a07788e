/**
 * The accelerator's datapath units against TypeScript references, on random stimulus: the MAC array
 * (weight tiles loading behind the activation stream, swaps), the post-processing unit (the one rule with
 * random acc / bias / M / s / zo / clamp, checked against generator/golden's requantizeBig) and the
 * depthwise engine. Each unit runs in the DSL evaluator (every configuration) and in Verilator (the 4x4
 * configuration in npm test, all under FIXYNN_FULL), all units of all configurations in ONE build.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type RtlConfig, defaultRtlConfig, operandRange } from '../../generator/accel/rtl/config.js';
import { MAC_ARRAY_LATENCY, buildMacArray, operandType } from '../../generator/accel/rtl/mac-array.js';
import { PPU_LATENCY, buildPpu, ppuInputBits, shiftBits } from '../../generator/accel/rtl/ppu.js';
import { buildDepthwiseEngine, dwOutputBits } from '../../generator/accel/rtl/depthwise.js';
import { channelRequant, requantizeBig } from '../../generator/golden/requantize.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import type { Module } from '../../generator/hdl/index.js';
import { type Response, type Vector, evaluateVectors, lint, simulateDsl, simDesignOf } from '../../verify/sim/index.js';
import { dwStimulus, type DwCase } from './depthwise-reference.js';
import { FULL, count } from '../helpers/env.js';


const pack = (values: readonly (bigint | number)[], bits: number): bigint =>
  values.reduce<bigint>((acc, v, i) => acc | (BigInt.asUintN(bits, BigInt(v)) << BigInt(i * bits)), 0n);
const unpack = (word: bigint, n: number, bits: number, signed: boolean): bigint[] =>
  Array.from({ length: n }, (_, i) => {
    const raw = BigInt.asUintN(bits, word >> BigInt(i * bits));
    return signed ? BigInt.asIntN(bits, raw) : raw;
  });

interface UnitCase {
  /** Index of its configuration (Verilator runs the first VERILATOR_CONFIGS). */
  configIndex?: number;
  readonly module: Module;
  readonly vectors: Vector[];
  /** Compares a run's responses with the reference; returns mismatches (empty = pass). */
  readonly check: (responses: readonly Response[]) => string[];
}

// ---- MAC array -------------------------------------------------------------------------------------

function macArrayCase(c: RtlConfig, seed: number, folds: number): UnitCase {
  const n = c.rows;
  const r = seededRandom(seed);
  const wmax = 2 ** (c.weightBits - 1) - 1;
  const rand = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const vectors: Vector[] = [];
  const expected: Array<{ t: number; sums: bigint[] }> = [];
  const tiles = Array.from({ length: folds }, () => Array.from({ length: n }, () => Array.from({ length: n }, () => (r() < 0.1 ? wmax * (r() < 0.5 ? -1 : 1) : rand(-wmax, wmax)))));
  // Fold f streams `pixels` rows; tile f+1 loads (one row per clock) during fold f, swap on its last row.
  const blank = (): Record<string, bigint> => ({ in_valid: 0n, in_act: 0n, w_load: 0n, w_row: 0n, w_data: 0n, w_swap: 0n });
  for (let row = 0; row < n; row++) vectors.push({ ...blank(), w_load: 1n, w_row: BigInt(row), w_data: pack(tiles[0]![row]!, c.weightBits) });
  vectors.push({ ...blank(), w_swap: 1n });
  for (let f = 0; f < folds; f++) {
    const pixels = Math.max(n, rand(1, 2 * n));
    for (let p = 0; p < pixels; p++) {
      const op = operandRange(c);
      const act = Array.from({ length: n }, () => (r() < 0.1 ? (r() < 0.5 ? op.min : op.max) : rand(op.min, op.max)));
      const v: Record<string, bigint> = { ...blank(), in_valid: 1n, in_act: pack(act, operandType(c).bits) };
      if (f + 1 < folds && p < n) Object.assign(v, { w_load: 1n, w_row: BigInt(p), w_data: pack(tiles[f + 1]![p]!, c.weightBits) });
      if (p === pixels - 1) v.w_swap = 1n;
      expected.push({ t: vectors.length + MAC_ARRAY_LATENCY, sums: Array.from({ length: n }, (_, col) => act.reduce((s, a, row) => s + BigInt(a) * BigInt(tiles[f]![row]![col]!), 0n)) });
      vectors.push(v);
    }
  }
  for (let i = 0; i <= MAC_ARRAY_LATENCY; i++) vectors.push(blank());
  const sumBits = (buildMacArray(c).outputs.find((o) => o.name === 'out_sum')!.width) / n;
  return {
    module: buildMacArray(c, `mac_array_${n}x${n}_s${seed}`),
    vectors,
    check: (responses) => {
      const errors: string[] = [];
      const due = new Map(expected.map((e) => [e.t, e.sums]));
      responses.forEach((resp, t) => {
        const sums = due.get(t);
        if ((resp.out_valid === 1n) !== (sums !== undefined)) errors.push(`t=${t}: out_valid ${resp.out_valid}`);
        if (sums !== undefined && resp.out_sum !== null) {
          const got = unpack(resp.out_sum!, n, sumBits, true);
          if (got.some((g, i) => g !== sums[i])) errors.push(`t=${t}: sums ${got.join(',')} != ${sums.join(',')}`);
        }
      });
      return errors;
    },
  };
}

// ---- PPU -------------------------------------------------------------------------------------------

function ppuCase(c: RtlConfig, seed: number, count: number): UnitCase {
  const n = c.rows;
  const r = seededRandom(seed);
  const inBits = ppuInputBits(c);
  const randBig = (bits: number): bigint => {
    let v = 0n;
    for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(Math.floor(r() * 65536));
    return BigInt.asIntN(bits, v);
  };
  const vectors: Vector[] = [];
  const expected: bigint[][] = [];
  const accLimit = 1n << BigInt(c.accBits - 2);
  for (let k = 0; k < count; k++) {
    const signed = r() < 0.5;
    const [tmin, tmax] = signed ? [-128, 127] : [0, 255];
    const zo = tmin + Math.floor(r() * (tmax - tmin + 1));
    const lo = tmin + Math.floor(r() * (zo - tmin + 1));
    const hi = zo + Math.floor(r() * (tmax - zo + 1));
    // Mostly accumulators a real layer makes (|acc| * M / 2^s near the output range), some extremes.
    const lanes = Array.from({ length: n }, () => {
      const multiplier = BigInt(Math.floor(r() * 2 ** Math.min(c.multiplierBits, 31)));
      const shift = 1 + Math.floor(r() * 62);
      const extreme = r() < 0.1;
      const sum = extreme ? (r() < 0.5 ? -accLimit : accLimit - 1n) : BigInt.asIntN(c.accBits - 2, randBig(c.accBits - 2));
      const bias = extreme ? 0n : BigInt.asIntN(c.accBits - 3, randBig(c.accBits));
      return { sum, bias, multiplier, shift };
    });
    vectors.push({
      in_valid: 1n,
      in_sum: pack(lanes.map((l) => l.sum), inBits),
      bias: pack(lanes.map((l) => l.bias), c.accBits),
      multiplier: pack(lanes.map((l) => l.multiplier), c.multiplierBits),
      shift: pack(lanes.map((l) => l.shift), shiftBits()),
      zo: BigInt(zo),
      lo: BigInt(lo),
      hi: BigInt(hi),
    });
    expected.push(lanes.map((l) => BigInt.asUintN(8, BigInt(requantizeBig(Number(l.sum + l.bias), channelRequant(Number(l.multiplier), l.shift), zo, lo, hi)))));
  }
  // requantizeBig takes acc as a JS number: keep |acc| below 2^53 (accBits <= 48 keeps it exact).
  for (let i = 0; i < PPU_LATENCY; i++) vectors.push({ ...vectors[0]!, in_valid: 0n });
  return {
    module: buildPpu(c, `ppu_${n}_m${c.multiplierBits}_s${seed}`),
    vectors,
    check: (responses) => {
      const errors: string[] = [];
      expected.forEach((want, k) => {
        const resp = responses[k + PPU_LATENCY]!;
        if (resp.out_valid !== 1n) errors.push(`vector ${k}: out_valid ${resp.out_valid}`);
        const got = unpack(resp.out_y ?? 0n, n, 8, false);
        if (got.some((g, i) => g !== want[i])) errors.push(`vector ${k}: ${got.join(',')} != ${want.join(',')}`);
      });
      return errors;
    },
  };
}

// ---- depthwise engine ------------------------------------------------------------------------------

function dwCase(c: RtlConfig, seed: number, shapes: readonly DwCase[]): UnitCase {
  const { vectors, expected } = dwStimulus(c, shapes, seed);
  const bits = dwOutputBits(c);
  return {
    module: buildDepthwiseEngine(c, `dw_engine_${c.rows}_k${c.dwKernel}_s${seed}`),
    vectors,
    check: (responses) => {
      const errors: string[] = [];
      const got = responses.filter((r) => r.out_valid === 1n).map((r) => unpack(r.out_sum ?? 0n, c.rows, bits, true));
      if (got.length !== expected.length) errors.push(`${got.length} outputs, expected ${expected.length}`);
      got.forEach((g, k) => {
        const want = expected[k];
        if (want !== undefined && g.some((x, i) => x !== want[i])) errors.push(`output ${k}: ${g.join(',')} != ${want.join(',')}`);
      });
      return errors;
    },
  };
}

// The DSL evaluator runs every configuration; Verilator builds the 4x4 one in npm test and all of them
// under FIXYNN_FULL (the 8x8 5x5-window and 16x16 units take minutes to build on a shared machine).
const configs = [
  defaultRtlConfig(4, { weightBits: 9, multiplierBits: 32 }, { dwMaxWidth: 16 }),
  defaultRtlConfig(8, { accBits: 24, dwTaps: 25 }, { dwMaxWidth: 16, dwKernel: 5 }),
  defaultRtlConfig(16, { multiplierBits: 32 }, { dwMaxWidth: 16 }),
];
const VERILATOR_CONFIGS = FULL ? configs.length : 1;

function allCases(): UnitCase[] {
  const cases: UnitCase[] = [];
  configs.forEach((c, i) => {
    for (const k of [macArrayCase(c, 10 + i, FULL ? 12 : 4), ppuCase(c, 20 + i, FULL ? 2000 : 200), dwCase(c, 30 + i, dwShapes(c))]) {
      k.configIndex = i;
      cases.push(k);
    }
  });
  return cases;
}

function dwShapes(c: RtlConfig): DwCase[] {
  return [
    { h: 5, w: 6, kh: 3, kw: 3, sy: 1, sx: 1, pads: [1, 1, 1, 1], mode: 'mac' },
    { h: 7, w: 7, kh: 3, kw: 3, sy: 2, sx: 2, pads: [0, 0, 1, 1], mode: 'mac' },
    { h: 9, w: 8, kh: 2, kw: 3, sy: 3, sx: 2, pads: [0, 1, 1, 1], mode: 'mac' },
    { h: 4, w: 4, kh: 2, kw: 2, sy: 2, sx: 2, pads: [0, 0, 0, 0], mode: 'max' },
    { h: 5, w: 3, kh: 3, kw: 3, sy: 2, sx: 1, pads: [1, 1, 1, 1], mode: 'max' },
    { h: 3, w: 1, kh: 3, kw: 1, sy: 1, sx: 1, pads: [1, 0, 1, 0], mode: 'mac' },
    { h: 6, w: 5, kh: 3, kw: 2, sy: 1, sx: 2, pads: [1, 0, 1, 1], mode: 'sum' },
    { h: Math.min(9, c.dwMaxWidth - 2), w: c.dwMaxWidth - 2, kh: c.dwKernel, kw: c.dwKernel, sy: 1, sx: 1, pads: [1, 1, 1, 1], mode: 'mac' },
    // Two pixels a beat: an odd padded row whose last output is its one-pixel beat; outputs at odd
    // columns (stride 3); rows of one beat (the line buffers forward); rows of two pixels at stride 1.
    { h: 8, w: 8, kh: 3, kw: 3, sy: 2, sx: 2, pads: [1, 1, 0, 0], mode: 'mac' },
    { h: 7, w: 9, kh: 3, kw: 3, sy: 1, sx: 3, pads: [0, 0, 0, 0], mode: 'max' },
    { h: 4, w: 2, kh: 3, kw: 1, sy: 1, sx: 2, pads: [1, 0, 1, 0], mode: 'mac' },
    { h: 3, w: 2, kh: 3, kw: 2, sy: 1, sx: 1, pads: [1, 0, 1, 0], mode: 'sum' },
  ];
}

describe('accelerator units', () => {
  let cases: UnitCase[];
  beforeAll(() => {
    cases = allCases();
  });

  it('DSL evaluator: MAC array, PPU and depthwise engine equal their references', () => {
    for (const k of cases) {
      const responses = evaluateVectors(k.module, k.vectors, { engine: 'compiled' });
      expect(k.check(responses).slice(0, 5), k.module.name).toEqual([]);
    }
  });

  it('Verilator (one build for every unit and configuration) equals the references', async () => {
    const run = cases.filter((k) => (k.configIndex ?? 0) < VERILATOR_CONFIGS);
    const results = await simulateDsl('verilator', run.map((k) => ({ module: k.module, vectors: k.vectors })));
    results.forEach((responses, i) => expect(run[i]!.check(responses).slice(0, 5), run[i]!.module.name).toEqual([]));
  }, 900_000);

  it('every unit is lint-clean under verilator --lint-only -Wall', async () => {
    for (const k of cases.filter((x) => (x.configIndex ?? 0) < VERILATOR_CONFIGS)) {
      const d = simDesignOf(k.module);
      expect(await lint(d.files, d.top), d.top).toEqual([]);
    }
  }, 300_000);
});
