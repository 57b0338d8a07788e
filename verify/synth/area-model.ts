/**
 * Area modeled from the one cost model's counts (generator/hdl designCosts, in the manifest: docs/costs.md)
 * and cell areas read from the Liberty, for any design in milliseconds; `fixynn sweep` uses it where it does
 * not run synthesis, and says so. Checked against `fixynn synth --target asic` in docs/sweep.md.
 *
 *   area = (adderBits + comparatorBits) x A(fa_1)      a ripple adder bit is one full adder
 *        + multiplierBits x 8 x A(fa_1)                 a multiplier left to synthesis, ~8 adder bits per bit
 *                                                       (the energy model's figure, energy-model.ts)
 *        + registerBits x A(dfxtp_1)
 *        + memoryBits x (A(dfxtp_1) + A(mux2_1))        no SRAM macros: a memory word bit is a flip-flop, and
 *                                                       the read multiplexer tree has about one 2:1 mux per bit
 * Wiring, control and tie cells are left out (the measured designs have few besides these).
 */
import type { CostCounts } from './energy-model.js';
import type { Liberty } from './liberty.js';

export interface AreaTable {
  readonly source: string;
  /** um^2 (the Liberty's area unit) of one full-adder bit, one flip-flop bit, one 2:1 multiplexer. */
  readonly adderBit: number;
  readonly flopBit: number;
  readonly muxBit: number;
}

export interface ModeledArea {
  readonly total: number;
  /** The memories' share (word flip-flops and read multiplexers), as synth reports memory area apart. */
  readonly memory: number;
  readonly logic: number;
}

function cellArea(lib: Liberty, cell: string): number {
  const c = lib.cells.get(cell);
  if (c === undefined || !(c.area > 0)) throw new Error(`the Liberty ${lib.name} has no cell ${cell} with an area`);
  return c.area;
}

/** The table from a sky130-style Liberty: `fa_1`, `dfxtp_1`, `mux2_1`. */
export function areaTable(lib: Liberty, prefix = 'sky130_fd_sc_hd__'): AreaTable {
  return {
    source: `${lib.name}: ${prefix}fa_1 per adder bit, ${prefix}dfxtp_1 per flip-flop bit, + ${prefix}mux2_1 per memory bit`,
    adderBit: cellArea(lib, `${prefix}fa_1`), flopBit: cellArea(lib, `${prefix}dfxtp_1`), muxBit: cellArea(lib, `${prefix}mux2_1`),
  };
}

export function modelArea(cost: CostCounts, table: AreaTable): ModeledArea {
  const memory = cost.memoryBits * (table.flopBit + table.muxBit);
  const logic = (cost.adderBits + cost.comparatorBits + 8 * cost.multiplierBits) * table.adderBit + cost.registerBits * table.flopBit;
  return { total: memory + logic, memory, logic };
}
