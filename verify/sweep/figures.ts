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
import { type AreaTable, modelArea } from '../synth/area-model.js';
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
export type AcceleratorPart = Pick<AccelPart, 'cost' | 'array' | 'fromLayer' | 'program'>;

export interface AcceleratorFigures {
  readonly areaUm2: number;
  readonly memoryAreaUm2: number;
  readonly energyPerImagePj: number;
  readonly areaSource: FigureSource;
  readonly energySource: FigureSource;
  /** How the figures were obtained, printed beside them. */
  readonly method: string;
}

export const ACCELERATOR_MODEL_METHOD = 'modeled from the accelerator\'s cost counts (docs/costs.md) with the fixed part\'s area and energy models '
  + '(verify/synth/area-model.ts, energy-model.ts): its on-chip memories as clocked flip-flops, as synthesis without SRAM macros builds them';

/**
 * THE accelerator's area and energy per image in a sweep. Today the model figure (ACCELERATOR_MODEL_METHOD);
 * when the accelerator's own synthesis and energy (issue 14, verify/synth) are available, this one function is
 * switched to them and every sweep table, chart and report follows.
 */
export function acceleratorFigures(accel: AcceleratorPart, busyCycles: number, periodCycles: number, tables: Tables): AcceleratorFigures {
  const area = modelArea(accel.cost, tables.area);
  return {
    areaUm2: area.total, memoryAreaUm2: area.memory,
    energyPerImagePj: sideEnergyPj(accel.cost, busyCycles, periodCycles, tables.energy),
    areaSource: 'modeled', energySource: 'modeled', method: ACCELERATOR_MODEL_METHOD,
  };
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
export function layerFigures(parts: { ffe: FfePart | undefined; accel: AcceleratorPart; graph: QuantizedGraph }, tables: Tables, energy: { fixedCycles: number; acceleratorPerCyclePj: number }): LayerFigures[] {
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
    const cycles = accel.program.layers.find((l) => l.index === index)?.predictedCycles ?? 0;
    return { ...base, nonzeroWeights: base.nonzero, side: 'accelerator' as const, adders: null, areaUm2: null, cycles, energyPj: cycles * energy.acceleratorPerCyclePj };
  }).map(({ nonzero: _n, ...rest }) => rest);
}
