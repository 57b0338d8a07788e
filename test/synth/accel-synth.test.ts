/**
 * The accelerator's area and energy: memory accesses counted per instruction (generator/accel/accesses.ts),
 * the SRAM macro model (sram-model.ts), the energy model (accel-energy.ts), acceleratorFigures taking a
 * measured area, the iso-area choice; and (test:full) `fixynn synth --target asic` of a small accelerator:
 * its big memories kept as macros, their area modelled, its logic area from the Liberty.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programAccesses } from '../../generator/accel/accesses.js';
import { defaultRtlConfig } from '../../generator/accel/rtl/config.js';
import { make } from '../../generator/accel/isa.js';
import { runSynth } from '../../generator/commands/synth.js';
import { generateAccelDesign } from '../../generator/design/generate-accel-design.js';
import { partOf } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { acceleratorFigures } from '../../verify/sweep/figures.js';
import { sweepTables } from '../../verify/sweep/point.js';
import { acceleratorEnergy, macroSplit } from '../../verify/synth/accel-energy.js';
import { acceleratorOnLayers, isoArea } from '../../verify/sweep/iso-area.js';
import { macroAccessPj, macroAreaUm2, MACRO_MIN_BITS, SRAM_MODEL } from '../../verify/synth/sram-model.js';
import { rtlMacroPorts } from '../../verify/synth/sram-sim.js';
import { DEFAULT_LIBERTY } from '../../verify/synth/synth-design.js';
import { withoutMacroParameters } from '../../verify/synth/sta.js';
import { memoryDeclarations } from '../../verify/synth/units.js';
import { FULL } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';
import { pointwiseModel } from '../design/pointwise-model.js';

let work: string;
let model: string;
const savedCache = process.env.FIXYNN_SYNTH_CACHE;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-synth-'));
  process.env.FIXYNN_SYNTH_CACHE = path.join(work, 'cache');
  model = pointwiseModel(path.join(work, 'pointwise.onnx'));
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.FIXYNN_SYNTH_CACHE;
  else process.env.FIXYNN_SYNTH_CACHE = savedCache;
  rmSync(work, { recursive: true, force: true });
});

describe('accelerator memory accesses', () => {
  it('counts a GEMM\'s scratchpad rows from its geometry, a LOAD\'s MEM beats and rows', () => {
    const config = defaultRtlConfig(4, { memPortBytes: 4 });
    const program = [
      make('load', { mem: 0, ySize: 2, xSize: 3 }),
      make('setg', { inH: 5, inW: 5, outW: 5, kh: 3, kw: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1, cbIn: 2, cbOut: 1 }),
      make('gemm', { nOy: 2 }),
      make('gemm', { nOy: 1, toAcc: 1 }),
      make('finish', {}),
    ];
    const { total, layers } = programAccesses(config, program, [{ index: 0, name: 'a', kind: 'conv 3x3', pcs: [1, 2], macs: 0 }]);
    const folds = 3 * 3 * 2;
    // LOAD: 6 ACT rows of 4 bytes through a 4-byte port.
    expect(total.actWrites).toBe(6 + 10);
    expect(total.memReadBeats).toBe(6);
    // GEMM 1: 10 pixels x 18 folds read, ACC RMW for folds after the first, result through the PPU into ACT.
    expect(layers[0]).toMatchObject({ actReads: folds * 10, wgtReads: folds * 4, accReads: (folds - 1) * 10, accWrites: (folds - 1) * 10, actWrites: 10, ppuRows: 10, imemReads: 2 });
    // GEMM 2 leaves acc + bias in ACC: no PPU row, no ACT write.
    expect(total.accWrites).toBe((folds - 1) * 10 + (folds - 1) * 5 + 5);
    expect(total.ppuRows).toBe(10);
    expect(total.imemReads).toBe(program.length);
  });
});

describe('SRAM macro model and accelerator energy', () => {
  it('prices a macro by bits and an access by 32-bit words, from the cited OpenRAM figures', () => {
    expect(SRAM_MODEL.areaPerBitUm2).toBeCloseTo(24.10, 2);
    expect(SRAM_MODEL.accessPj).toBeCloseTo(4.60, 2);
    expect(macroAreaUm2(8192)).toBeCloseTo(493.38 * 400.22, 6);
    expect(macroAccessPj(128)).toBeCloseTo(4 * SRAM_MODEL.accessPj, 9);
    // Debian's OpenSTA reads no parameter overrides: a macro instance loses its parameter block, nothing else.
    const macro = '  \\$__fixynn_sram  #(\n    .ABITS(32\'b1100),\n    .MEMID("\\\\act"),\n    .WR_PRIORITY_MASK(1\'b0)\n  ) act (\n    .RD_ADDR(a)\n  );\n  sky130_fd_sc_hd__inv_1 u1 (.A(q), .Y(d));';
    expect(withoutMacroParameters(macro)).toBe('  \\$__fixynn_sram  act (\n    .RD_ADDR(a)\n  );\n  sky130_fd_sc_hd__inv_1 u1 (.A(q), .Y(d));');
    expect(memoryDeclarations('reg [31:0] act [0:4095];\nreg signed [9:0] line [0:31];\nreg [7:0] x;')).toEqual([{ name: 'act', bits: 131072 }, { name: 'line', bits: 320 }]);
  });

  it('an accelerator design: energy grows with accesses; a measured area replaces the modelled one', async () => {
    const out = path.join(work, 'accel');
    await quietly(() => generateAccelDesign(model, { fixedLayers: '0', accel: '4x4', out }));
    const part = partOf(readDesign(out).manifest, 'accel');
    expect(part.program.accesses?.imemReads).toBe(part.program.instructions);
    const tables = sweepTables(undefined);
    const shape = { config: part.config as never, cost: part.cost };
    const { macroBits, flopMemoryBits } = macroSplit(shape);
    expect(macroBits).toBeGreaterThanOrEqual(MACRO_MIN_BITS);
    expect(macroBits + flopMemoryBits).toBe(part.cost.memoryBits);
    const work1 = { macs: part.program.macs, accesses: part.program.accesses!, busyCycles: part.program.predictedCycles, periodCycles: part.program.predictedCycles, clockMhz: 500 };
    const e1 = acceleratorEnergy(shape, work1, tables.energy);
    const e2 = acceleratorEnergy(shape, { ...work1, accesses: { ...work1.accesses, actWrites: work1.accesses.actWrites + 100 } }, tables.energy);
    expect(e2.sramPj - e1.sramPj).toBeCloseTo(100 * macroAccessPj(4 * 8), 6);
    // The model prices the counted reads: the RTL has no free-running read port (every macro read port is enabled).
    const { ports } = rtlMacroPorts(readFileSync(path.join(out, 'rtl', 'fixynn_accel.v'), 'utf8'));
    const reads = ports.filter((p) => p.kind === 'read');
    expect(new Set(reads.map((p) => p.memory))).toEqual(new Set(['act', 'wgt', 'qp', 'acc', 'imem_b0', 'imem_b1', 'imem_b2', 'imem_b3', 'mem_b0']));
    expect(reads.length).toBe(3 + 1 + 3 + 2 + 4 + 3);
    expect(reads.filter((p) => p.enable === null)).toEqual([]);
    const e3 = acceleratorEnergy(shape, { ...work1, accesses: { ...work1.accesses, actReads: 0 } }, tables.energy);
    expect(e1.sramPj - e3.sramPj).toBeCloseTo(work1.accesses.actReads * macroAccessPj(4 * 8), 6);
    expect(e1.perImagePj).toBeCloseTo(e1.logicPj + e1.macPj + e1.ppuPj + e1.sramPj + e1.sramLeakagePj + e1.externalPj, 6);
    const cycles = { busy: part.program.predictedCycles, period: part.program.predictedCycles, clockMhz: 500 };
    const modelled = acceleratorFigures(part, cycles, tables);
    expect(modelled.areaSource).toBe('modeled');
    expect(modelled.memoryAreaUm2).toBeGreaterThanOrEqual(macroAreaUm2(macroBits));
    const measured = acceleratorFigures(part, cycles, tables, { cellAreaUm2: 1000, macroAreaUm2: 2000, source: 'test' });
    expect(measured).toMatchObject({ areaUm2: 3000, memoryAreaUm2: 2000, areaSource: 'measured', energyPerImagePj: modelled.energyPerImagePj });
    // Iso-area: the nearest candidate by area, running layer 0 only (its per-layer counts).
    const fixed = { total: { area: modelled.areaUm2 * 0.9 }, energy: { perImagePj: 1000 }, timing: { maxClockMhz: 50 } } as never;
    const far = { ...part, config: { ...part.config, actRows: part.config.actRows * 64 } } as typeof part;
    const iso = isoArea(1, fixed, 100, [{ rows: 8, cols: 8, part: far }, { rows: 4, cols: 4, part }], tables, 500);
    const layer0 = acceleratorOnLayers(part, 1, 500, tables);
    expect(iso.accelerator).toMatchObject({ rows: 4, cols: 4, layers: 1, cyclesPerImage: part.program.layers[0]?.predictedCycles });
    expect(iso.energyRatio).toBeCloseTo(layer0.energyPj / 1000, 9);
    expect(iso.throughputRatio).toBeCloseTo(layer0.cycles / 100, 9);
  }, 60_000);

  it.runIf(FULL && existsSync(DEFAULT_LIBERTY))('synth --target asic of a 4x4 accelerator: big memories as modelled macros, logic from the Liberty (test:full)', async () => {
    const out = path.join(work, 'accel');
    if (!existsSync(path.join(out, 'manifest.json'))) await quietly(() => generateAccelDesign(model, { fixedLayers: '0', accel: '4x4', out }));
    const r = await quietly(() => runSynth(out, { target: 'asic', abcFast: true }));
    const names = (r.total.macros ?? []).map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['act', 'wgt', 'qp', 'acc', 'imem_b0']));
    for (const x of r.total.macros ?? []) {
      expect(x.bits).toBeGreaterThanOrEqual(MACRO_MIN_BITS);
      expect(x.areaUm2).toBeCloseTo(macroAreaUm2(x.bits), 6);
    }
    expect(r.accelerator?.modules).toEqual(expect.arrayContaining(['fixynn_accel', 'accel_mac_array', 'accel_dw_engine']));
    expect(r.accelerator?.cellAreaUm2).toBeGreaterThan(10_000);
    expect(r.accelerator?.areaUm2).toBeCloseTo((r.accelerator?.cellAreaUm2 ?? 0) + (r.total.macroArea ?? 0), 6);
    expect(r.notes.join(' ')).toMatch(/modelled SRAM macros/);
  }, 1_800_000);
});
