/**
 * Energy per image modeled from the one cost model's counts (generator/hdl designCosts, in the manifest:
 * docs/costs.md) and a technology table, in milliseconds for any design; checked against the gate-level
 * measurement (energy.ts) in `npm run bench:synth` and docs/synthesis.md.
 *
 * The fixed part streams one pixel per clock, so the model is per clock cycle:
 *   E/cycle = (registerBits + memoryBits) x (E_clock + a x E_flop)   every flip-flop is clocked every cycle
 *                                                                    (the line buffers are flip-flops here)
 *           + (adderBits + comparatorBits) x a x E_adderBit         adders and comparators switch with the data
 *           + multiplierBits x a x E_adderBit x 8                   (--arith multiply: a constant multiply
 *                                                                    left to synthesis, ~8 adder bits per bit)
 *   E/image = E/cycle x cycles per image, plus leakage (negligible at this corner: below 0.01 % measured).
 * a = MODEL_ACTIVITY toggles per bit per cycle. The table comes from the Liberty itself (liberty-table below,
 * each figure named by the cell and pin it is read from), so the model needs no other technology's
 * scaling; Horowitz's 45 nm figures (DESIGN.md) are printed beside it for orientation only.
 */
import type { Liberty } from './liberty.js';
import { lookup, wireCapacitance } from './liberty.js';
import { NOMINAL_TRANSITION_NS } from './energy.js';

/** Toggles per bit per cycle assumed for data (flip-flop outputs, adder and comparator bits). */
export const MODEL_ACTIVITY = 0.25;

export interface TechnologyTable {
  readonly source: string;
  /** One clock cycle of a flip-flop's clock pin: its internal energy on both edges plus charging its capacitance (pJ). */
  readonly clockPj: number;
  /** One toggle of a flip-flop's output driving a typical load (pJ). */
  readonly flopTogglePj: number;
  /** One toggle of one adder bit: a full adder's output toggles, XOR sum and majority carry, each driving a typical load (pJ). */
  readonly adderBitTogglePj: number;
  readonly cells: readonly string[];
}

export interface CostCounts {
  readonly adderBits: number;
  readonly comparatorBits: number;
  readonly multiplierBits: number;
  readonly registerBits: number;
  readonly memoryBits: number;
}

export interface ModeledEnergy {
  readonly perImagePj: number;
  readonly perCyclePj: number;
  readonly cyclesPerImage: number;
  readonly activity: number;
  readonly table: TechnologyTable;
}

const FANOUT = 2;

/** Energy of one output toggle of `cell`'s pin `out` driving FANOUT loads like its own input `loadPin`. */
function gateTogglePj(lib: Liberty, cell: string, out: string, loadPin: string): number {
  const c = lib.cells.get(cell);
  const o = c?.pins.get(out);
  const inp = c?.pins.get(loadPin);
  if (c === undefined || o === undefined || inp === undefined) throw new Error(`the Liberty ${lib.name} has no ${cell} with pins ${out} and ${loadPin}`);
  const load = FANOUT * inp.capacitance + wireCapacitance(lib, FANOUT);
  const internal = o.internalPower.length === 0 ? 0 : o.internalPower.reduce((a, ip) => {
    const parts = [ip.rise, ip.fall].filter((t) => t !== null).map((t) => lookup(t as NonNullable<typeof t>, NOMINAL_TRANSITION_NS, load));
    return a + (parts.length === 0 ? 0 : parts.reduce((x, y) => x + y, 0) / parts.length);
  }, 0) / o.internalPower.length;
  const inputInternal = FANOUT * (inp.internalPower[0] ? [inp.internalPower[0].rise, inp.internalPower[0].fall].filter((t) => t !== null)
    .map((t) => lookup(t as NonNullable<typeof t>, NOMINAL_TRANSITION_NS, 0)).reduce((x, y, _i, all) => x + y / all.length, 0) : 0);
  return internal + inputInternal + 0.5 * load * lib.units.capacitancePf * lib.units.voltage ** 2;
}

/**
 * The table from a sky130-style Liberty: flip-flop `dfxtp_1` (clock pin CLK, output Q, loads like its D),
 * adder bit = `xor2_1` X twice (the sum) + `maj3_1` X once (the carry), loads like their A input.
 */
export function libertyTable(lib: Liberty, prefix = 'sky130_fd_sc_hd__'): TechnologyTable {
  const ff = lib.cells.get(`${prefix}dfxtp_1`);
  const clk = ff?.pins.get('CLK');
  if (ff === undefined || clk === undefined) throw new Error(`the Liberty ${lib.name} has no ${prefix}dfxtp_1 with a CLK pin`);
  const clkInternal = clk.internalPower.reduce((a, ip) => a + [ip.rise, ip.fall].filter((t) => t !== null)
    .map((t) => lookup(t as NonNullable<typeof t>, NOMINAL_TRANSITION_NS, 0)).reduce((x, y) => x + y, 0), 0);
  const clockPj = clkInternal + clk.capacitance * lib.units.capacitancePf * lib.units.voltage ** 2;
  const flopTogglePj = gateTogglePj(lib, `${prefix}dfxtp_1`, 'Q', 'D');
  const adderBitTogglePj = 2 * gateTogglePj(lib, `${prefix}xor2_1`, 'X', 'A') + gateTogglePj(lib, `${prefix}maj3_1`, 'X', 'A');
  return {
    source: `${lib.name}: ${prefix}dfxtp_1 (CLK, Q), ${prefix}xor2_1 and ${prefix}maj3_1 (X), at a ${NOMINAL_TRANSITION_NS} ns transition and a fanout of ${FANOUT}`,
    clockPj, flopTogglePj, adderBitTogglePj, cells: [`${prefix}dfxtp_1`, `${prefix}xor2_1`, `${prefix}maj3_1`],
  };
}

export function modelEnergy(cost: CostCounts, cyclesPerImage: number, table: TechnologyTable, activity = MODEL_ACTIVITY): ModeledEnergy {
  const flops = cost.registerBits + cost.memoryBits;
  const perCyclePj = flops * (table.clockPj + activity * table.flopTogglePj)
    + (cost.adderBits + cost.comparatorBits + 8 * cost.multiplierBits) * activity * table.adderBitTogglePj;
  return { perImagePj: perCyclePj * cyclesPerImage, perCyclePj, cyclesPerImage, activity, table };
}
