/**
 * The figures of one sweep point (one generated design) from its manifest: per side (the fixed part, the
 * accelerator) area, RAM bits, cycles and energy per image; per layer shapes, weights, adders, area, cycles,
 * energy; for the whole the frame period, energy per image and TOPS/W.
 *
 * Energy of a side per image: its modeled energy per cycle (verify/synth/energy-model.ts) over the cycles it
 * is busy, plus its flip-flops' clock alone over the cycles it waits for the other side (no clock gating:
 * both sides run at the chip's frame period, the slower side's).
 */
import type { AccelPart, FfePart, ManifestCost } from '../../generator/design/manifest.js';
import type { QuantizedGraph, QLayer } from '../../generator/quant/ir.js';
import type { Accesses } from '../../generator/accel/accesses.js';
import { ACCEL_ENERGY_METHOD, acceleratorEnergy, macroSplit, requireAccesses } from '../synth/accel-energy.js';
import { type AreaTable, modelArea } from '../synth/area-model.js';
import { macroAreaUm2, SRAM_MODEL } from '../synth/sram-model.js';
import { modelEnergy, type TechnologyTable } from '../synth/energy-model.js';

export type FigureSource = 'modeled' | 'measured';

export interface Tables {
  readonly energy: TechnologyTable;
  readonly area: AreaTable;
}

/** Energy per image of a side busy `busy` cycles out of a frame period of `period` cycles. */
export function sideEnergyPj(cost: ManifestCost, busy: number, period: number, energy: TechnologyTable): number {
  const active = modelEnergy(cost, busy, energy).perImagePj;
  const clockOnly = modelEnergy(cost, Math.max(0, period - busy), energy, 0).perImagePj;
  return active + clockOnly;
}

/** What the figures read of an accelerator part (a generated design's manifest section, or one built in memory). */
export type AcceleratorPart = Pick<AccelPart, 'cost' | 'array' | 'fromLayer' | 'program' | 'config'>;

export interface AcceleratorFigures {
  readonly areaUm2: number;
  /** The memories' share: SRAM macros (modelled) and flip-flop memories. */
  readonly memoryAreaUm2: number;
  readonly energyPerImagePj: number;
  readonly areaSource: FigureSource;
  readonly energySource: FigureSource;
  /** How the figures were obtained, printed beside them. */
  readonly method: string;
}

/** The accelerator's area from `fixynn synth --target asic`: its units' Liberty cells, and its memories as modelled SRAM macros. */
export interface MeasuredAcceleratorArea {
  readonly cellAreaUm2: number;
  readonly macroAreaUm2: number;
  /** Where it was read (a synth-<target>.json, or the run that produced it). */
  readonly source: string;
}

export const ACCELERATOR_MODEL_METHOD = 'area modelled from the accelerator\'s cost counts (docs/costs.md) with the fixed part\'s area model (verify/synth/area-model.ts), '
  + `its memories of at least 8,192 bits as SRAM macros (verify/synth/sram-model.ts, OpenRAM sky130 figures); energy ${ACCEL_ENERGY_METHOD}`;

/** Energy of the accelerator's work on one image (or one layer), busy `busy` of `period` cycles. */
export function acceleratorWorkPj(accel: AcceleratorPart, work: { macs: number; accesses: Accesses | undefined; busy: number; period: number; clockMhz: number }, tables: Tables): number {
  return acceleratorEnergy(accel, { macs: work.macs, accesses: requireAccesses(work.accesses, 'the accelerator part'), busyCycles: work.busy, periodCycles: work.period, clockMhz: work.clockMhz }, tables.energy).perImagePj;
}

/**
 * THE accelerator's area and energy per image in a sweep, a report and bench:synth. Area: measured by
 * `fixynn synth --target asic` where given (logic from the Liberty, memories as modelled SRAM macros), else
 * modelled the same way from the cost counts. Energy: modelled from the compiler's counts (accel-energy.ts).
 */
export function acceleratorFigures(accel: AcceleratorPart, cycles: { busy: number; period: number; clockMhz: number }, tables: Tables, measured?: MeasuredAcceleratorArea): AcceleratorFigures {
  const energyPerImagePj = acceleratorWorkPj(accel, { macs: accel.program.macs, accesses: accel.program.accesses, busy: cycles.busy, period: cycles.period, clockMhz: cycles.clockMhz }, tables);
  if (measured !== undefined) {
    return {
      areaUm2: measured.cellAreaUm2 + measured.macroAreaUm2, memoryAreaUm2: measured.macroAreaUm2, energyPerImagePj, areaSource: 'measured', energySource: 'modeled',
      method: `area measured (${measured.source}: Liberty cells, pre-layout) + ${SRAM_MODEL.label}; energy ${ACCEL_ENERGY_METHOD}`,
    };
  }
  const { macroBits, flopMemoryBits } = macroSplit(accel);
  const logic = modelArea({ ...accel.cost, memoryBits: flopMemoryBits }, tables.area);
  const macros = macroAreaUm2(macroBits);
  return { areaUm2: logic.total + macros, memoryAreaUm2: logic.memory + macros, energyPerImagePj, areaSource: 'modeled', energySource: 'modeled', method: ACCELERATOR_MODEL_METHOD };
}

/** 2 x the layer's dense MACs, zero weights included (as verify/synth/energy.ts opsPerImage counts). */
export function layerMacs(graph: QuantizedGraph, layer: QLayer): number {
  if (layer.kind === 'gemm') return layer.weights.length;
  if (layer.kind !== 'conv') return 0;
  const out = graph.tensors[layer.output]?.shape ?? [0, 0, 0];
  return (out[1] ?? 0) * (out[2] ?? 0) * layer.weights.length;
}

export interface LayerFigures {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  readonly side: 'fixed part' | 'accelerator';
  readonly output: number[];
  readonly weights: number;
  readonly nonzeroWeights: number;
  readonly macs: number;
  /** Fixed layers: the layer unit's adders and modeled area (a depthwise layer fused into its pointwise unit: 0). */
  readonly adders: number | null;
  readonly areaUm2: number | null;
  /** Fixed layers: the part's cycles per frame (all layers stream at once); accelerator layers: the cycle model's. */
  readonly cycles: number;
  readonly energyPj: number;
}

function weightsOf(layer: QLayer): { weights: number; nonzero: number } {
  if (layer.kind !== 'conv' && layer.kind !== 'gemm') return { weights: 0, nonzero: 0 };
  return { weights: layer.weights.length, nonzero: layer.weights.filter((w) => w !== 0).length };
}

/** Per layer: the fixed part's from its manifest entries, the accelerator's from its program's. */
export function layerFigures(parts: { ffe: FfePart | undefined; accel: AcceleratorPart; graph: QuantizedGraph }, tables: Tables, energy: { fixedCycles: number; clockMhz: number }): LayerFigures[] {
  const { ffe, accel, graph } = parts;
  return graph.layers.map((layer, index) => {
    const base = { index, name: layer.name, kind: layer.kind, output: [...(graph.tensors[layer.output]?.shape ?? [])], ...weightsOf(layer), macs: layerMacs(graph, layer) };
    const fixed = ffe?.layers[index];
    if (fixed !== undefined) {
      return {
        ...base, nonzeroWeights: base.nonzero, side: 'fixed part' as const, adders: fixed.cost.adders, areaUm2: modelArea(fixed.cost, tables.area).total,
        cycles: energy.fixedCycles, energyPj: modelEnergy(fixed.cost, energy.fixedCycles, tables.energy).perImagePj,
      };
    }
    const l = accel.program.layers.find((x) => x.index === index);
    const cycles = l?.predictedCycles ?? 0;
    const energyPj = l === undefined ? 0 : acceleratorWorkPj(accel, { macs: l.macs, accesses: l.accesses, busy: cycles, period: cycles, clockMhz: energy.clockMhz }, tables);
    return { ...base, nonzeroWeights: base.nonzero, side: 'accelerator' as const, adders: null, areaUm2: null, cycles, energyPj };
  }).map(({ nonzero: _n, ...rest }) => rest);
}
