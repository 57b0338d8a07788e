/**
 * The verification ladder's first two rungs agree: DSL modules simulated by the TypeScript evaluator and,
 * after printing, by Verilator and by Icarus (one batch build per simulator for every design here) give
 * the same outputs on the same vectors, cycle for cycle. Every design is also lint-clean under
 * `verilator --lint-only -Wall` and synthesizes in Yosys.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Module, Simulator } from '../../generator/hdl/index.js';
import { type DslSimDesign, type SimBuild, type Vector, buildBatch, evaluateVectors, lint, simDesignOf, yosysStat } from '../../verify/sim/index.js';
import { randomBig, randomCombModule, randomSeqModule, randomVectors } from '../hdl/random-modules.js';
import { combExpression, computedOnEnable, constantConcat, hierarchy, ramDelayLine, registeredPipeline, romLookup } from '../hdl/sample-designs.js';
import { FULL } from '../helpers/env.js';
import { seededRandom } from '../../generator/common/seeded-random.js';

const RANDOM_MODULES = FULL ? 30 : 6;
const RANDOM_SEQUENTIAL_MODULES = FULL ? 20 : 4;
const VECTORS = FULL ? 300 : 60;

interface Case {
  readonly module: Module;
  readonly design: DslSimDesign;
  readonly vectors: Vector[];
  /** First cycle whose outputs are defined in every simulator (after reset / fill). */
  readonly compareFrom: number;
}

function randomClockedVectors(seed: number, module: Module, count: number, resetCycles: number): Vector[] {
  const r = seededRandom(seed);
  const ports = module.inputs.filter((p) => !p.isClock);
  return Array.from({ length: count }, (_, t) =>
    Object.fromEntries(
      ports.map((p) => {
        if (p.name === 'rst') return [p.name, t < resetCycles ? 1n : r() < 0.03 ? 1n : 0n];
        if (p.name === 'en') return [p.name, r() < 0.7 ? 1n : 0n];
        return [p.name, randomBig(r, p.range.min, p.range.max)];
      }),
    ),
  );
}

function makeCases(): Case[] {
  const cases: Case[] = [];
  const add = (module: Module, vectors: Vector[], compareFrom: number): void => {
    cases.push({ module, design: simDesignOf(module), vectors, compareFrom });
  };
  const comb = combExpression();
  add(comb, randomVectors(11, comb.inputs, VECTORS), 0);
  const pipe = registeredPipeline();
  add(pipe, randomClockedVectors(12, pipe, VECTORS, 1), 1);
  const delay = ramDelayLine(7);
  add(delay, randomClockedVectors(13, delay, VECTORS, 2), 1);
  // The hierarchy's registers have no reset: outputs are defined once both pipes have loaded.
  const hier = hierarchy();
  add(hier, randomClockedVectors(14, hier, VECTORS, 0), 1);
  const rom = romLookup();
  add(rom, randomClockedVectors(15, rom, VECTORS, 0), 1);
  // `a` and `b` load only when enabled: defined once loaded (en is high 70% of cycles, y odd half of them).
  const onEnable = computedOnEnable();
  add(onEnable, randomClockedVectors(17, onEnable, VECTORS, 1).map((v, t) => (t === 0 ? { ...v, en: 1n, y: v.y! | 1n } : v)), 1);
  // Pure wiring (no cells in Yosys): after the six hand-written designs the synthesis test takes.
  const packed = constantConcat();
  add(packed, randomVectors(16, packed.inputs, 16), 0);
  for (let i = 0; i < RANDOM_MODULES; i++) {
    const { module, inputs } = randomCombModule(`eq_random_${i}`, 1000 + i, 30);
    add(module, randomVectors(2000 + i, inputs, VECTORS), 0);
  }
  for (let i = 0; i < RANDOM_SEQUENTIAL_MODULES; i++) {
    const { module } = randomSeqModule(`eq_random_seq_${i}`, 7000 + i, 25);
    // Enabled in the first two cycles so the RAM read port loads a word from a defined address.
    const vectors = randomClockedVectors(8000 + i, module, VECTORS, 1).map((v, t) => (t < 2 ? { ...v, en: 1n } : v));
    add(module, vectors, 2);
  }
  return cases;
}

describe('DSL evaluator == Verilator == Icarus', () => {
  const cases = makeCases();
  const builds = new Map<string, SimBuild>();

  beforeAll(async () => {
    // One build per simulator for every design in this file.
    for (const sim of ['verilator', 'icarus'] as const) builds.set(sim, await buildBatch(sim, cases.map((c) => c.design)));
  });

  for (const sim of ['verilator', 'icarus'] as const) {
    it(`${sim}: every design matches the evaluator on every compared cycle`, async () => {
      const build = builds.get(sim)!;
      const results = await build.run(new Map(cases.map((c) => [c.design.top, c.vectors])));
      let compared = 0;
      for (const c of cases) {
        const expected = evaluateVectors(c.module, c.vectors);
        const actual = results.get(c.design.top)!;
        expect(actual).toHaveLength(c.vectors.length);
        for (let t = c.compareFrom; t < c.vectors.length; t++) {
          for (const [port, value] of Object.entries(expected[t]!)) {
            const got = actual[t]![c.design.portNames.get(port)!];
            if (got !== value) {
              throw new Error(`${sim}: ${c.design.top}.${port} at cycle ${t}: RTL ${got}, evaluator ${value}; inputs ${JSON.stringify(c.vectors[t], (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
            }
            compared++;
          }
        }
      }
      expect(compared).toBeGreaterThan(cases.length * (VECTORS - 2));
    });
  }

  it('reuses a cached build for identical sources', async () => {
    const again = await buildBatch('icarus', cases.map((c) => c.design));
    expect(again.cached).toBe(true);
  });

  it('every design is clean under verilator --lint-only -Wall', async () => {
    for (const c of cases) expect(await lint(c.design.files, c.design.top), c.design.top).toEqual([]);
  });

  it('random modules in bulk (one lint run over a top instantiating them all) are lint-clean', async () => {
    const top = new Module('lint_sweep_top');
    const count = FULL ? 300 : 40;
    for (let i = 0; i < count; i++) {
      const { module, inputs } = randomCombModule(`sweep_${i}`, 70_000 + i, 50);
      const conns = Object.fromEntries(inputs.map((p) => [p.name, top.input(`i${i}_${p.name}`, p.range)]));
      const inst = top.instance(`u${i}`, module, conns);
      top.output(`o${i}`, inst.out(module.outputs[0]!.name));
    }
    const design = simDesignOf(top);
    expect(await lint(design.files, design.top)).toEqual([]);
  });

  it('Yosys reads and synthesizes the hand-written designs (RAM inferred as memory)', async () => {
    for (const c of cases.slice(0, 6)) {
      const stat = await yosysStat(c.design.files, c.design.top);
      expect(stat.cells, c.design.top).toBeGreaterThan(0);
    }
    const delay = cases[2]!;
    const mem = await yosysStat(delay.design.files, delay.design.top, `synth -flatten -top ${delay.design.top} -run begin:fine`);
    expect(Object.keys(mem.byType).some((t) => t.startsWith('$mem')), JSON.stringify(mem.byType)).toBe(true);
  });

  it('the evaluator itself is deterministic across fresh simulators', () => {
    const c = cases[1]!;
    const first = evaluateVectors(c.module, c.vectors);
    const second = evaluateVectors(c.module, c.vectors);
    expect(second).toEqual(first);
    expect(new Simulator(c.module).cycle).toBe(0);
  });
});
