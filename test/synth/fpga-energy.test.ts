/**
 * FPGA resource classification (verify/synth/fpga.ts), the energy model (energy-model.ts) and ops per
 * image (energy.ts); iCE40 place and route of the example at K = 1 on an UP5K is test:full.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.js';
import { runSynth } from '../../generator/commands/synth.js';
import { opsPerImage } from '../../verify/synth/energy.js';
import { libertyTable, MODEL_ACTIVITY, modelEnergy } from '../../verify/synth/energy-model.js';
import { classifyFpgaCells, UP5K } from '../../verify/synth/fpga.js';
import { readLiberty } from '../../verify/synth/liberty.js';
import { DEFAULT_LIBERTY } from '../../verify/synth/synth-design.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { FULL } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';

describe('FPGA resources by kind', () => {
  it('sorts iCE40 and Xilinx cells into LUTs, flip-flops, carries, block RAMs and DSPs', () => {
    expect(classifyFpgaCells({ SB_LUT4: 10, SB_CARRY: 4, SB_DFFE: 3, SB_DFFESR: 2, SB_RAM40_4K: 2, SB_MAC16: 1, SB_IO: 20 }))
      .toEqual({ luts: 10, flipFlops: 5, carries: 4, ramBlocks: 2, dsps: 1, other: { SB_IO: 20 } });
    expect(classifyFpgaCells({ LUT2: 3, LUT6: 4, FDRE: 7, CARRY4: 2, RAMB18E1: 1, DSP48E1: 5, RAM32M: 1 }))
      .toEqual({ luts: 7, flipFlops: 7, carries: 2, ramBlocks: 1, dsps: 5, other: { RAM32M: 1 } });
  });
});

describe('energy model', () => {
  it('counts 2 x dense MACs per image, zero weights included', () => {
    const graph = {
      layers: [
        { kind: 'conv', output: 'a', weights: [1, 0, 2, 0, 0, 0] },
        { kind: 'pool', output: 'b' },
        { kind: 'gemm', output: 'c', weights: [1, 2, 3] },
      ],
      tensors: { a: { shape: [2, 4, 5] }, b: { shape: [2, 2, 2] }, c: { shape: [3, 1, 1] } },
    } as unknown as QuantizedGraph;
    expect(opsPerImage(graph)).toBe(2 * (4 * 5 * 6 + 3));
  });

  it.skipIf(!existsSync(DEFAULT_LIBERTY))('reads its table from the Liberty and scales with the counts', () => {
    const table = libertyTable(readLiberty(DEFAULT_LIBERTY));
    for (const v of [table.clockPj, table.flopTogglePj, table.adderBitTogglePj]) {
      expect(v).toBeGreaterThan(0.001); // a few fJ at least
      expect(v).toBeLessThan(1); // and well under a pJ for one cell toggle at 130 nm
    }
    const none = { adderBits: 0, comparatorBits: 0, multiplierBits: 0, registerBits: 0, memoryBits: 0 };
    expect(modelEnergy(none, 784, table).perImagePj).toBe(0);
    const flops = modelEnergy({ ...none, registerBits: 10, memoryBits: 6 }, 100, table);
    expect(flops.perImagePj).toBeCloseTo(16 * 100 * (table.clockPj + MODEL_ACTIVITY * table.flopTogglePj), 9);
    const adders = modelEnergy({ ...none, adderBits: 30, comparatorBits: 10 }, 1, table);
    expect(adders.perCyclePj).toBeCloseTo(40 * MODEL_ACTIVITY * table.adderBitTogglePj, 9);
  });
});

describe.runIf(FULL)('iCE40 place and route (test:full)', () => {
  it(`fits the example at K = 1 on an ${UP5K.name} and reports a clock`, async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'fixynn-ice40-test-'));
    try {
      const dir = path.join(work, 'k1');
      await quietly(() => runGenerate(path.resolve(import.meta.dirname, '../../examples/mnist-mobilenet/model.onnx'), { fixedLayers: '1', out: dir }));
      const r = await quietly(() => runSynth(dir, { target: 'ice40' }));
      expect(r.fpga?.luts).toBeGreaterThan(1000);
      expect(r.ice40?.logicCells.used).toBeLessThanOrEqual(UP5K.luts);
      expect(r.ice40?.maxClockMhz).toBeGreaterThan(5);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 3_600_000);
});
