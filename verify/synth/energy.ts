/**
 * Energy per image, measured: the toggle counts of a gate-level simulation on real images (vcd.ts) combined
 * with the Liberty's figures by our own small calculator (Debian's OpenSTA reads no activity files, and its
 * vectorless estimate is not worth reporting: ../shared/pdk/README.md).
 *
 * Per toggle of a net bit, in the module where its driver and loads are:
 *   switching   0.5 x C x V^2, C = the load pins' capacitance + the wire-load model's wire for that fanout;
 *   internal    the driving output pin's internal_power (mean of rise and fall, averaged over its related
 *               pins) at the net's load and a nominal input transition, plus each load pin's own input
 *               internal_power (e.g. a flip-flop's clock pin) at that transition;
 * and leakage: every cell's cell_leakage_power over the time the images take at the clock given.
 * Pre-layout: wires from the wire-load model, an ideal clock (no clock tree: the clock net's energy is the
 * flip-flops' clock pins and their wire), a nominal transition instead of each net's real slew.
 */
import { join } from 'node:path';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { lookup, wireCapacitance, type Liberty, type LibertyCell } from './liberty.js';
import { readJsonModule, type JsonModule } from './netlist.js';
import type { ToggleCounts } from './vcd.js';
import type { UnitRun } from './yosys-units.js';
import type { MacroInstance } from './sram-sim.js';
import { macroLeakageMw, SRAM_MODEL } from './sram-model.js';

/** The input transition at which internal energies are read (ns): mid-range of sky130's tables, typical of a loaded gate. */
export const NOMINAL_TRANSITION_NS = 0.1;

export interface ModuleEnergy {
  readonly module: string;
  readonly switchingPj: number;
  readonly internalPj: number;
  readonly leakagePj: number;
  /** Net bit toggles counted in the module. */
  readonly toggles: number;
}

export interface MeasuredEnergy {
  /** Everything per image (the run's totals divided by its images). */
  readonly perImagePj: number;
  readonly dynamicPj: number;
  readonly leakagePj: number;
  readonly modules: readonly ModuleEnergy[];
  readonly images: number;
  readonly cyclesPerImage: number;
  readonly clockMhz: number;
  readonly opsPerImage: number;
  readonly topsPerWatt: number;
  readonly label: string;
}

export const MEASURED_LABEL = 'measured: gate-level toggles (Icarus: every change in its VCD; Verilator: its toggle coverage, settled values only) x Liberty energies; pre-layout (wire-load model, ideal clock, nominal transition)';

/** 2 x the dense MACs of the fixed layers, zero weights included (as the paper counts operations). */
export function opsPerImage(graph: QuantizedGraph): number {
  let macs = 0;
  for (const layer of graph.layers) {
    if (layer.kind === 'conv') {
      const out = graph.tensors[layer.output]?.shape ?? [0, 0, 0];
      macs += (out[1] ?? 0) * (out[2] ?? 0) * layer.weights.length;
    } else if (layer.kind === 'gemm') {
      macs += layer.weights.length;
    }
  }
  return 2 * macs;
}

interface BitLoad {
  capacitance: number;
  fanout: number;
  inputInternal: number;
  driver: LibertyCell | null;
  driverPin: string;
}

/** Energy (pJ) per toggle of each bit of a module's netlist. */
export function energyPerBit(m: JsonModule, lib: Liberty): Map<number | string, { switching: number; internal: number }> {
  const loads = new Map<number | string, BitLoad>();
  const at = (bit: number | string): BitLoad => {
    let l = loads.get(bit);
    if (l === undefined) loads.set(bit, (l = { capacitance: 0, fanout: 0, inputInternal: 0, driver: null, driverPin: '' }));
    return l;
  };
  const mean = (ip: { rise: Parameters<typeof lookup>[0] | null; fall: Parameters<typeof lookup>[0] | null }, load: number): number => {
    const parts = [ip.rise, ip.fall].filter((t) => t !== null).map((t) => lookup(t as Parameters<typeof lookup>[0], NOMINAL_TRANSITION_NS, load));
    return parts.length === 0 ? 0 : parts.reduce((a, b) => a + b, 0) / parts.length;
  };
  for (const cell of Object.values(m.cells)) {
    const lc = lib.cells.get(cell.type);
    if (lc === undefined) continue; // a black box (another unit): its pins are counted in its own module
    for (const [pin, bits] of Object.entries(cell.connections)) {
      const lp = lc.pins.get(pin);
      if (lp === undefined) continue;
      for (const bit of bits) {
        if (typeof bit === 'string') continue; // a constant
        const l = at(bit);
        if (lp.direction === 'output') {
          l.driver = lc;
          l.driverPin = pin;
        } else {
          l.capacitance += lp.capacitance;
          l.fanout += 1;
          l.inputInternal += lp.internalPower.length === 0 ? 0 : lp.internalPower.reduce((a, ip) => a + mean(ip, 0), 0) / lp.internalPower.length;
        }
      }
    }
  }
  const v2 = lib.units.voltage * lib.units.voltage;
  const out = new Map<number | string, { switching: number; internal: number }>();
  for (const [bit, l] of loads) {
    const c = l.capacitance + wireCapacitance(lib, l.fanout);
    const pin = l.driver?.pins.get(l.driverPin);
    const tables = pin?.internalPower ?? [];
    const driverInternal = tables.length === 0 ? 0 : tables.reduce((a, ip) => a + mean(ip, c), 0) / tables.length;
    // C in the library's unit x its scale to pF, times V^2: pJ
    out.set(bit, { switching: 0.5 * c * lib.units.capacitancePf * v2, internal: driverInternal + l.inputInternal });
  }
  return out;
}

/**
 * The run's energy from its toggles. `scopes` maps each dumped scope to its unit (module); `clockMhz`
 * turns cycles into time for leakage.
 */
export function measureEnergy(lib: Liberty, runs: readonly UnitRun[], scopes: ReadonlyArray<{ scope: string; module: string }>, toggles: ToggleCounts,
  images: number, clockMhz: number, graph: QuantizedGraph): MeasuredEnergy {
  const runOf = new Map(runs.map((r) => [r.unit.module, r]));
  const seconds = toggles.cycles / (clockMhz * 1e6);
  const modules: ModuleEnergy[] = [];
  for (const { scope, module } of scopes) {
    const run = runOf.get(module);
    if (run === undefined) continue;
    const m = readJsonModule(join(run.dir, 'netlist.json'), module);
    const perBit = energyPerBit(m, lib);
    const nets = toggles.scopes.get(scope) ?? new Map<string, readonly number[]>();
    let switching = 0;
    let internal = 0;
    let count = 0;
    const seen = new Set<number | string>();
    for (const [name, net] of Object.entries(m.netnames)) {
      const counts = nets.get(name);
      if (counts === undefined) continue;
      net.bits.forEach((bit, i) => {
        if (seen.has(bit)) return; // two names of one net: count its toggles once
        seen.add(bit);
        const n = counts[i] ?? 0;
        const e = perBit.get(bit);
        count += n;
        if (e === undefined) return;
        switching += n * e.switching;
        internal += n * e.internal;
      });
    }
    let leakageNw = 0;
    for (const c of Object.values(m.cells)) leakageNw += (lib.cells.get(c.type)?.leakage ?? 0) * lib.units.leakageNw;
    // nW x s = 1e-9 J = 1e3 pJ
    modules.push({ module, switchingPj: switching / images, internalPj: internal / images, leakagePj: (leakageNw * seconds * 1e3) / images, toggles: count / images });
  }
  const dynamicPj = modules.reduce((a, m) => a + m.switchingPj + m.internalPj, 0);
  const leakagePj = modules.reduce((a, m) => a + m.leakagePj, 0);
  const perImagePj = dynamicPj + leakagePj;
  const ops = opsPerImage(graph);
  return {
    perImagePj, dynamicPj, leakagePj, modules, images, cyclesPerImage: toggles.cycles / images, clockMhz, opsPerImage: ops,
    // ops / (pJ x 1e-12) / 1e12 = ops per pJ
    topsPerWatt: ops / perImagePj, label: MEASURED_LABEL,
  };
}

/** One SRAM macro's accesses per image in the measured window, and their energy (sram-model.ts's figures). */
export interface MacroEnergy {
  readonly module: string;
  readonly cell: string;
  readonly words: number;
  readonly width: number;
  readonly readsPerImage: number;
  readonly writesPerImage: number;
  readonly energyPj: number;
}

export interface MeasuredAcceleratorEnergy {
  /** Everything per image: the Liberty cells (as measureEnergy) + the SRAM macros' accesses and leakage. */
  readonly perImagePj: number;
  readonly logic: MeasuredEnergy;
  readonly sramPj: number;
  readonly sramLeakagePj: number;
  readonly macros: readonly MacroEnergy[];
  readonly cyclesPerImage: number;
  readonly clockMhz: number;
  readonly opsPerImage: number;
  readonly topsPerWatt: number;
  readonly label: string;
}

export const MEASURED_ACCEL_LABEL = `${MEASURED_LABEL}, while the accelerator is busy; SRAM macros: the simulation model's reads and writes x ${SRAM_MODEL.accessPj.toFixed(2)} pJ per 32-bit word + their leakage (${SRAM_MODEL.label})`;

/**
 * The accelerator's energy per image from a gate-level run with a window (gate-level.ts): its Liberty cells'
 * toggles and leakage as measureEnergy prices them, plus each SRAM macro's counted accesses at
 * ceil(width / 32) x 4.60 pJ and the macros' leakage over the window.
 */
export function measureAcceleratorEnergy(lib: Liberty, runs: readonly UnitRun[], scopes: ReadonlyArray<{ scope: string; module: string }>, toggles: ToggleCounts,
  accesses: ReadonlyArray<{ readonly instance: MacroInstance; readonly reads: number; readonly writes: number }>, images: number, clockMhz: number, graph: QuantizedGraph): MeasuredAcceleratorEnergy {
  const logic = measureEnergy(lib, runs, scopes, toggles, images, clockMhz, graph);
  const macros = accesses.map((a) => ({
    module: a.instance.module, cell: a.instance.cell, words: a.instance.words, width: a.instance.width,
    readsPerImage: a.reads / images, writesPerImage: a.writes / images, energyPj: ((a.reads + a.writes) * a.instance.accessPj) / images,
  }));
  const sramPj = macros.reduce((s, m) => s + m.energyPj, 0);
  const bits = accesses.reduce((s, a) => s + a.instance.words * a.instance.width, 0);
  // mW x us = nJ = 1e3 pJ, over the window's time per image.
  const sramLeakagePj = macroLeakageMw(bits) * (logic.cyclesPerImage / clockMhz) * 1e3;
  const perImagePj = logic.perImagePj + sramPj + sramLeakagePj;
  return {
    perImagePj, logic, sramPj, sramLeakagePj, macros, cyclesPerImage: logic.cyclesPerImage, clockMhz, opsPerImage: logic.opsPerImage,
    topsPerWatt: logic.opsPerImage / perImagePj, label: MEASURED_ACCEL_LABEL,
  };
}
