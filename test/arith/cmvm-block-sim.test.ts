/**
 * Simulation equivalence of the CMVM block: random 8-bit constant matrices (1x1 to 16x16, 30% zeros,
 * negative weights), every strategy (and pipelined variants), all batched into ONE build per simulator,
 * in Verilator and in Icarus, must equal y = W x computed here with bigints, on a per-input sweep of all
 * 256 values, on each output's extreme (min and max) input vectors, and on random vectors. The DSL's own
 * evaluator must agree too (the first rung of the ladder). Carry-save (3:2 compressor) sums are included.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BlockStrategy, type CmvmBlock, buildCmvmBlock } from '../../generator/arith/cmvm-block.js';
import { type Interval, randomMatrix } from '../../generator/arith/index.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { type DslSimDesign, type SimBuild, type Vector, buildBatch, evaluateVectors, lint, simDesignOf } from '../../verify/sim/index.js';
import { FULL } from '../helpers/env.js';

/**
 * npm test: 10 matrices (the four corner shapes 1x1, 16x16, 1x16, 16x1, then six seeded shapes), which
 * still give every strategy, every pipeline depth 1..3, signed inputs (k = 4, 9) and five carry-save
 * blocks; the Verilator build of the batch is most of this file's time and grows with the block count
 * (20 matrices took about 190 s of npm test). FIXYNN_FULL: 40.
 */
const MATRICES = FULL ? 40 : 10;
const RANDOM_VECTORS = FULL ? 200 : 24;
/**
 * npm test sweeps the blocks in Verilator only: the same Verilog in Icarus took most of this file's
 * time, and Icarus still compiles and runs these blocks inside every FFE layer in npm test
 * (test/ffe-e2e/example-model, test/design/generate-verify). FIXYNN_FULL sweeps both.
 */
const SIMULATORS = FULL ? (['verilator', 'icarus'] as const) : (['verilator'] as const);

interface Case {
  readonly block: CmvmBlock;
  readonly design: DslSimDesign;
  readonly weights: readonly (readonly number[])[];
  readonly vectors: Vector[];
}

const UNSIGNED: Interval = { min: 0n, max: 255n };
const SIGNED: Interval = { min: -128n, max: 127n };

/** Sizes from 1x1 to 16x16: the corners first, then seeded random shapes. */
function shapeOf(k: number, random: () => number): [number, number] {
  const corners: Array<[number, number]> = [[1, 1], [16, 16], [1, 16], [16, 1]];
  return corners[k] ?? [1 + Math.floor(random() * 16), 1 + Math.floor(random() * 16)];
}

function stimulus(w: readonly (readonly number[])[], range: Interval, random: () => number): Vector[] {
  const n = w[0]!.length;
  const zero = Array.from({ length: n }, () => 0n);
  const vector = (x: readonly bigint[]): Vector => Object.fromEntries(x.map((v, i) => [`x${i}`, v]));
  const vectors: Vector[] = [];
  // Per-input sweep: input i takes every value of its range, the others stay 0.
  for (let i = 0; i < n; i += 1) {
    for (let v = range.min; v <= range.max; v += 1n) vectors.push(vector(zero.map((z, j) => (j === i ? v : z))));
  }
  // Each output's extremes: every input at the end of its range that minimizes (maximizes) that output.
  for (const row of w) {
    vectors.push(vector(row.map((c) => (c > 0 ? range.min : range.max))));
    vectors.push(vector(row.map((c) => (c > 0 ? range.max : range.min))));
  }
  const span = Number(range.max - range.min) + 1;
  for (let r = 0; r < RANDOM_VECTORS; r += 1) vectors.push(vector(zero.map(() => range.min + BigInt(Math.floor(random() * span)))));
  return vectors;
}

function expectedOutputs(w: readonly (readonly number[])[], vector: Vector): bigint[] {
  return w.map((row) => row.reduce((acc, c, i) => acc + BigInt(c) * vector[`x${i}`]!, 0n));
}

function makeCases(): Case[] {
  const random = seededRandom(20261125);
  const cases: Case[] = [];
  for (let k = 0; k < MATRICES; k += 1) {
    const [rows, cols] = shapeOf(k, random);
    const weights = randomMatrix(rows, cols, 127, 0.3, random);
    // Every fifth matrix takes signed inputs; the pipeline variants rotate so that each N appears.
    const range = k % 5 === 4 ? SIGNED : UNSIGNED;
    const variants: Array<{ strategy: BlockStrategy; pipeline: number; sum?: 'csa'; registerOutputs?: boolean }> = [
      { strategy: 'multiply', pipeline: 0 },
      { strategy: 'csd', pipeline: 0 },
      { strategy: 'shared', pipeline: 0 },
      { strategy: k % 2 === 0 ? 'shared' : 'csd', pipeline: 1 + (k % 3) },
    ];
    if (k % 4 === 0) variants.push({ strategy: 'multiply', pipeline: 2 });
    // Carry-save sums (3:2 compressors, one final adder) on every other matrix.
    if (k % 2 === 1) variants.push({ strategy: k % 4 === 1 ? 'shared' : 'csd', pipeline: 0, sum: 'csa' });
    // Registered outputs (what the fixed part uses): its adder graph computed under `en`, held high here.
    if (k % 3 === 0) variants.push({ strategy: k % 2 === 0 ? 'shared' : 'multiply', pipeline: 0, registerOutputs: true });
    const vectors = stimulus(weights, range, random);
    for (const { strategy, pipeline, sum, registerOutputs } of variants) {
      const name = `cmvm_t${k}_${strategy}${sum === 'csa' ? '_csa' : ''}${registerOutputs ? '_reg' : ''}_p${pipeline}`;
      const block = buildCmvmBlock({ name, weights, inputRange: range, strategy, pipeline, ...(sum === undefined ? {} : { sum }), ...(registerOutputs ? { registerOutputs } : {}) });
      // A pipelined block answers `latency` cycles later: idle vectors at the end flush the last answers.
      const loaded = registerOutputs ? vectors.map((v) => ({ ...v, en: 1n })) : vectors;
      const flushed = [...loaded, ...Array.from({ length: block.latency }, () => loaded[0]!)];
      cases.push({ block, design: simDesignOf(block.module), weights, vectors: flushed });
    }
  }
  return cases;
}

/** Compares one design's responses (Verilog port names) with W x, shifted by the latency. */
function compare(where: string, c: Case, responses: ReadonlyArray<Readonly<Record<string, bigint | null>>>, portOf: (name: string) => string): number {
  const latency = c.block.latency;
  let compared = 0;
  for (let t = 0; t + latency < c.vectors.length; t += 1) {
    const expected = expectedOutputs(c.weights, c.vectors[t]!);
    expected.forEach((value, o) => {
      const got = responses[t + latency]![portOf(`y${o}`)];
      if (got !== value) {
        const inputs = JSON.stringify(c.vectors[t], (_, v) => (typeof v === 'bigint' ? v.toString() : v));
        throw new Error(`${where}: ${c.design.top}.y${o} for vector ${t}: got ${got}, W x = ${value}; inputs ${inputs}`);
      }
      compared += 1;
    });
  }
  return compared;
}

describe('CMVM block: Verilator and Icarus equal W x', () => {
  const cases = makeCases();
  const builds = new Map<string, SimBuild>();

  beforeAll(async () => {
    for (const sim of SIMULATORS) builds.set(sim, await buildBatch(sim, cases.map((c) => c.design)));
  });

  it(`covers ${MATRICES} matrices from 1x1 to 16x16, every strategy, pipelined and not, registered outputs, signed inputs`, () => {
    const tops = new Set(cases.map((c) => c.design.top.replace(/_(multiply|csd|shared)(_csa)?(_reg)?_p\d+$/, '')));
    expect(tops.size).toBe(MATRICES);
    for (const depth of [1, 2, 3]) expect(cases.some((c) => c.block.latency > 0 && c.design.top.endsWith(`_p${depth}`))).toBe(true);
    expect(cases.some((c) => c.vectors.some((v) => Object.values(v).some((x) => x < 0n)))).toBe(true);
    for (const s of ['multiply', 'csd', 'shared']) expect(cases.some((c) => c.block.strategy === s && c.block.latency > 0)).toBe(true);
    expect(cases.some((c) => c.weights.length === 16 && c.weights[0]!.length === 16)).toBe(true);
    expect(cases.some((c) => c.weights.length === 1 && c.weights[0]!.length === 1)).toBe(true);
    expect(cases.filter((c) => c.block.compressors > 0).length).toBeGreaterThanOrEqual(5);
    for (const s of ['multiply', 'shared']) expect(cases.some((c) => c.block.strategy === s && c.design.top.endsWith('_reg_p0') && c.block.latency === 1)).toBe(true);
  });

  for (const sim of SIMULATORS) {
    it(`${sim}: every block equals W x on sweeps, extremes and random vectors`, async () => {
      const results = await builds.get(sim)!.run(new Map(cases.map((c) => [c.design.top, c.vectors])));
      let compared = 0;
      for (const c of cases) compared += compare(sim, c, results.get(c.design.top)!, (name) => c.design.portNames.get(name)!);
      expect(compared).toBeGreaterThan(cases.length * 256);
    });
  }

  it('the DSL evaluator equals W x too (extremes and random vectors; the sweeps are the simulators\' job)', () => {
    let compared = 0;
    for (const c of cases) {
      const rest = { ...c, vectors: c.vectors.slice(c.weights[0]!.length * 256) };
      compared += compare('evaluator', rest, evaluateVectors(c.block.module, rest.vectors), (name) => name);
    }
    expect(compared).toBeGreaterThan(cases.length * RANDOM_VECTORS);
  });

  it('the blocks are clean under verilator --lint-only -Wall', async () => {
    const sample = [...cases.filter((_, k) => k % 9 === 0), ...cases.filter((c) => c.block.compressors > 0).slice(0, 2)];
    for (const c of sample) expect(await lint(c.design.files, c.design.top), c.design.top).toEqual([]);
  });
});
