/**
 * Trust in the netlist (verify/synth/gate-level.ts) and the measured energy (vcd.ts, energy.ts): a
 * tiny design's sky130 netlist (two pointwise layers) simulated gate-level in Icarus on MNIST digits is bit-exact with the
 * integer model, and the same netlist with one gate changed (the control) is not; toggle counting on a
 * hand-written dump; energy figures that add up. Everything but the dump is test:full (Yosys, Icarus).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.js';
import { runSynth } from '../../generator/commands/synth.js';
import { readDesign } from '../../generator/design/read-design.js';
import { simulateGateLevel } from '../../verify/synth/gate-level.js';
import { DEFAULT_LIBERTY, synthDesign } from '../../verify/synth/synth-design.js';
import { countToggles } from '../../verify/synth/vcd.js';
import type { UnitRun } from '../../verify/synth/yosys-units.js';
import { FULL } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';
import { pointwiseModel } from '../design/pointwise-model.js';

let work: string;
const savedCache = process.env.FIXYNN_SYNTH_CACHE;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-gate-test-'));
  process.env.FIXYNN_SYNTH_CACHE = path.join(work, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.FIXYNN_SYNTH_CACHE;
  else process.env.FIXYNN_SYNTH_CACHE = savedCache;
  rmSync(work, { recursive: true, force: true });
});

describe('toggle counting', () => {
  it('counts 0 <-> 1 changes per bit in the chosen scopes only, and clock cycles', async () => {
    const vcd = path.join(work, 'small.vcd');
    writeFileSync(vcd, [
      '$timescale 1ps $end', '$scope module tb $end', '$scope module dut $end',
      '$var wire 1 ! clk $end', '$var wire 3 " bus [2:0] $end', '$var wire 1 # \\esc[0] $end', '$upscope $end',
      '$var wire 1 $ other $end', '$upscope $end', '$enddefinitions $end',
      '#0', '$dumpvars', '0!', 'bx "', 'x#', '0$', '$end',
      '#5', '1!', 'b101 "', '1$', '#10', '0!', 'b1 "', '0#', '#15', '1!', 'b110 "', '1#', '#20', '0!', '',
    ].join('\n'));
    const t = await countToggles(vcd, [{ scope: 'tb.dut' }]);
    expect(t.cycles).toBe(2);
    expect(t.time).toBe(20);
    const nets = t.scopes.get('tb.dut');
    expect(nets?.get('clk')).toEqual([4]);
    // x -> 101 (no toggles), 101 -> 001 (bit 2), 001 -> 110 (bits 0, 1, 2)
    expect(nets?.get('bus')).toEqual([1, 1, 2]);
    expect(nets?.get('esc[0]')).toEqual([1]);
    expect(t.scopes.has('tb')).toBe(false);
  });
});

describe.runIf(FULL && existsSync(DEFAULT_LIBERTY))('gate-level simulation (tiny design, test:full)', () => {
  let design: string;
  beforeAll(async () => {
    design = path.join(work, 'design');
    // The real fixed-part generator (the stand-in core's taps are internal wires a netlist does not keep).
    await quietly(() => runGenerate(pointwiseModel(path.join(work, 'pointwise.onnx')), { fixedLayers: '2', out: design }));
  });

  it('is bit-exact with the integer model, and a broken netlist (one gate changed) is not', async () => {
    const r = await quietly(() => runSynth(design, { images: '2' }));
    expect(r.gateLevel?.bitExact).toBe(true);
    expect(r.gateLevel?.images).toBe(2);
    expect(r.gateLevel?.dataSource).toMatch(/MNIST/);
    const e = r.energy;
    expect(e?.dynamicPj).toBeGreaterThan(0);
    expect(e?.perImagePj).toBeCloseTo((e?.dynamicPj ?? 0) + (e?.leakagePj ?? 0), 6);
    expect(e?.topsPerWatt).toBeCloseTo((e?.opsPerImage ?? 0) / (e?.perImagePj ?? 1), 6);
    expect(e?.opsPerImage).toBe(2 * 28 * 28 * (3 * 1 + 2 * 3)); // the stand-in model: 1 -> 3 -> 2 channels, 1x1
    expect(e?.modules.reduce((a, m) => a + m.toggles, 0)).toBeGreaterThan(1000);

    // The control: the same netlists with one XOR gate of an adder turned into an XNOR must fail the comparison.
    const loaded = readDesign(design);
    const { runs, liberty } = await quietly(() => synthDesign(loaded, { target: 'asic' }));
    let broken = false;
    const copies: UnitRun[] = runs.map((run, i) => {
      const dir = path.join(work, `broken-${i}`);
      cpSync(run.dir, dir, { recursive: true });
      const file = path.join(dir, 'netlist.v');
      const text = readFileSync(file, 'utf8');
      const xor = /sky130_fd_sc_hd__xor2_1 (\S+) \(([^;]*?)\.X\(/.exec(text);
      if (!broken && xor !== null) {
        writeFileSync(file, text.replace(xor[0], `sky130_fd_sc_hd__xnor2_1 ${xor[1] ?? ''} (${xor[2] ?? ''}.Y(`));
        broken = true;
      }
      return { ...run, dir };
    });
    expect(broken).toBe(true);
    const sim = await quietly(() => simulateGateLevel(loaded, copies, liberty ?? (() => { throw new Error('no liberty'); })(), { images: 2, toggles: false }));
    expect(sim.summary.mismatches).toBeGreaterThan(0);
  }, 300_000);
});

describe.runIf(FULL && existsSync(DEFAULT_LIBERTY))('gate-level simulation of the example at K = 1 (test:full)', () => {
  it('is bit-exact on 3 digits and gives an energy per image', async () => {
    const example = path.join(work, 'example');
    await quietly(() => runGenerate(path.resolve(import.meta.dirname, '../../examples/mnist-mobilenet/model.onnx'), { fixedLayers: '1', out: example }));
    const r = await quietly(() => runSynth(example, { images: '3' }));
    expect(r.gateLevel?.bitExact).toBe(true);
    expect(r.energy?.perImagePj).toBeGreaterThan(1000);
  }, 1_800_000);
});
