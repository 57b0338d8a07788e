/**
 * The accelerator's energy per image, modelled from the compiler's counts (the cycle model's cycles and MACs,
 * the program's memory accesses: generator/accel/accesses.ts) and a technology table, in milliseconds:
 *
 *   logic    the clock of every flip-flop (registers and the memories below MACRO_MIN_BITS, e.g. the depthwise line
 *            buffers) on every cycle of the frame period (no clock gating), energy-model.ts's clock term; no data
 *            activity: the datapath's work is priced per use below (MACs, PPU rows, SRAM accesses), and the rest idles
 *            most cycles (the gate-level measurement: data toggles 5 % of the logic's energy, flip-flop outputs
 *            0.01-0.03 toggles per bit per cycle, not MODEL_ACTIVITY; docs/synthesis.md)
 *   MACs     per MAC an array multiplier of weightBits x (actBits + 2) full-adder bits (the operand is
 *            val(x) - zp) plus an accBits accumulation, at activity MODEL_ACTIVITY (the Liberty's adder bit)
 *   PPU      per row through the post-processing unit: cols lanes of an accBits x multiplierBits multiply
 *   SRAM     per access of a macro memory: ceil(width / 32) x 4.60 pJ, plus its leakage (sram-model.ts, OpenRAM); every
 *            RTL read port has a read enable, true only in clocks whose row is used (docs/accel-rtl.md), so the
 *            reads are the program's counted accesses (padding positions included: an upper bound)
 *   external MEM off chip (AXI): 640 pJ per 32 bits moved (Horowitz, ISSCC 2014, 45 nm DRAM read; DESIGN.md)
 *
 * The cost counts' multipliers are left out of the logic term (they are the MACs and the PPU, priced by use).
 */
import type { Accesses } from '../../generator/accel/accesses.js';
import { badInput } from '../../generator/common/errors.js';
import { accessBits } from '../../generator/accel/accesses.js';
import type { AccelConfig } from '../../generator/accel/config.js';
import type { CostCounts, TechnologyTable } from './energy-model.js';
import { MODEL_ACTIVITY, modelEnergy } from './energy-model.js';
import { MACRO_MIN_BITS, macroAccessPj, macroLeakageMw, SRAM_MODEL } from './sram-model.js';

/** pJ per byte moved to or from off-chip DRAM: 640 pJ per 32-bit read (Horowitz, ISSCC 2014, 45 nm). */
export const DRAM_PJ_PER_BYTE = 640 / 4;

export const ACCEL_ENERGY_METHOD = `modelled (verify/synth/accel-energy.ts): the compiler's counts (cycles, MACs, scratchpad and MEM accesses) x a table from the Liberty `
  + `(every flip-flop clocked every cycle; MAC and PPU adder bits at activity ${MODEL_ACTIVITY}) and ${SRAM_MODEL.label}, reads as counted (the RTL's read ports are enabled only when used); off-chip MEM traffic at ${DRAM_PJ_PER_BYTE} pJ/byte (Horowitz 45 nm DRAM)`;

/** What the model reads of an accelerator: its RTL configuration (memory 'axi': MEM off chip) and cost counts. */
export interface AcceleratorShape {
  readonly config: AccelConfig & { readonly memory?: string };
  readonly cost: CostCounts;
}

/** The access counts of a manifest's program, which designs generated before the energy model lack. */
export function requireAccesses(accesses: Accesses | undefined, where: string): Accesses {
  if (accesses === undefined) throw badInput(`${where}: the manifest has no memory access counts (program.accesses): it predates the accelerator's energy model; regenerate the design`);
  return accesses;
}

type MemoryId = 'act' | 'wgt' | 'qp' | 'acc' | 'mem' | 'imem';

/** Bits of each on-chip memory of the configuration (MEM absent when off chip). */
export function memoryBits(shape: AcceleratorShape): Partial<Record<MemoryId, number>> {
  const c = shape.config;
  const width = accessBits(c);
  return {
    act: c.actRows * width.act, wgt: c.wgtRows * width.wgt, qp: c.qpRows * width.qp, acc: c.accRows * width.acc, imem: c.imemWords * width.imem,
    ...(c.memory === 'axi' ? {} : { mem: c.memBytes * 8 }),
  };
}

/** Bits of the memories that are SRAM macros (at least MACRO_MIN_BITS), and of the rest (flip-flops). */
export function macroSplit(shape: AcceleratorShape): { macroBits: number; flopMemoryBits: number } {
  const macroBits = Object.values(memoryBits(shape)).filter((b) => b >= MACRO_MIN_BITS).reduce((a, b) => a + b, 0);
  return { macroBits, flopMemoryBits: Math.max(0, shape.cost.memoryBits - macroBits) };
}

export interface AcceleratorEnergy {
  readonly perImagePj: number;
  readonly logicPj: number;
  readonly macPj: number;
  readonly ppuPj: number;
  readonly sramPj: number;
  readonly sramLeakagePj: number;
  readonly externalPj: number;
}

export interface AcceleratorWork {
  readonly macs: number;
  readonly accesses: Accesses;
  /** Cycles the accelerator works on the image, and the frame period it is clocked for (>= busy). */
  readonly busyCycles: number;
  readonly periodCycles: number;
  readonly clockMhz: number;
}

export function acceleratorEnergy(shape: AcceleratorShape, work: AcceleratorWork, table: TechnologyTable): AcceleratorEnergy {
  const c = shape.config;
  const { macroBits, flopMemoryBits } = macroSplit(shape);
  const logicCost = { ...shape.cost, memoryBits: flopMemoryBits, multiplierBits: 0 };
  const logicPj = modelEnergy(logicCost, Math.max(work.busyCycles, work.periodCycles), table, 0).perImagePj;
  const bit = MODEL_ACTIVITY * table.adderBitTogglePj;
  const macPj = work.macs * (c.weightBits * (c.actBits + 2) + c.accBits) * bit;
  const ppuPj = work.accesses.ppuRows * c.cols * c.accBits * c.multiplierBits * bit;
  const bits = memoryBits(shape);
  const width = accessBits(c);
  const a = work.accesses;
  const counts: Record<MemoryId, number> = {
    act: a.actReads + a.actWrites, wgt: a.wgtReads + a.wgtWrites, qp: a.qpReads + a.qpWrites,
    acc: a.accReads + a.accWrites, mem: a.memReadBeats + a.memWriteBeats, imem: a.imemReads,
  };
  let sramPj = 0;
  for (const id of Object.keys(counts) as MemoryId[]) if ((bits[id] ?? 0) >= MACRO_MIN_BITS) sramPj += counts[id] * macroAccessPj(width[id]);
  const externalPj = c.memory === 'axi' ? (a.memReadBeats + a.memWriteBeats) * c.memPortBytes * DRAM_PJ_PER_BYTE : 0;
  // mW x us = nJ: leakage over the frame period at the clock.
  const sramLeakagePj = macroLeakageMw(macroBits) * (work.periodCycles / work.clockMhz) * 1000;
  return { perImagePj: logicPj + macPj + ppuPj + sramPj + sramLeakagePj + externalPj, logicPj, macPj, ppuPj, sramPj, sramLeakagePj, externalPj };
}
