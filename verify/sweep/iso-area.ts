/**
 * The iso-area comparison of the paper (FixyNN: 4.81x): the fixed part at K against the accelerator size whose
 * area is nearest to it, the accelerator running the same layers (0..K-1 of its program): energy per image
 * and throughput of each, as ratios. The fixed part's figures are measured (synth --images: area, gate-level
 * energy); the accelerator's area is measured logic + modelled SRAM macros (synth-design.ts), its energy
 * modelled from the compiler's counts of those layers (accel-energy.ts).
 */
import type { AccelPart } from '../../generator/design/manifest.js';
import { acceleratorFigures, acceleratorWorkPj, type AcceleratorPart, type MeasuredAcceleratorArea, type Tables } from './figures.js';
import type { SynthReport } from '../synth/synth-design.js';

export interface AcceleratorCandidate {
  readonly rows: number;
  readonly cols: number;
  readonly part: AcceleratorPart & Pick<AccelPart, 'program'>;
  /** synth --target asic of the accelerator design (its `accelerator` section); absent: its area modelled (acceleratorFigures). */
  readonly report?: SynthReport;
}

export interface IsoAreaSide {
  readonly areaUm2: number;
  readonly energyPerImagePj: number;
  readonly cyclesPerImage: number;
  readonly maxClockMhz: number | null;
}

export interface IsoArea {
  readonly k: number;
  readonly fixed: IsoAreaSide & { readonly energySource: 'measured' };
  readonly accelerator: IsoAreaSide & { readonly rows: number; readonly cols: number; readonly layers: number; readonly energySource: 'modeled'; readonly areaSource: string };
  /** Every candidate's area, the nearest chosen. */
  readonly candidates: ReadonlyArray<{ readonly rows: number; readonly cols: number; readonly areaUm2: number; readonly areaSource: string }>;
  /** accelerator / fixed part: energy per image (the paper's 4.81x is this, as efficiency), and fixed / accelerator throughput at one clock. */
  readonly energyRatio: number;
  readonly throughputRatio: number;
  /** The same throughput ratio with each side at its own measured maximum clock (pre-layout), where both are known. */
  readonly throughputRatioAtMaxClocks: number | null;
}

/** The accelerator's energy and cycles on layers 0..k-1 of its program (its per-layer counts). */
export function acceleratorOnLayers(part: AcceleratorPart, k: number, clockMhz: number, tables: Tables): { energyPj: number; cycles: number; layers: number } {
  const layers = part.program.layers.filter((l) => l.index < k);
  if (layers.length === 0) throw new Error(`the accelerator's program has no layer below ${k}`);
  let energyPj = 0;
  let cycles = 0;
  for (const l of layers) {
    energyPj += acceleratorWorkPj(part, { macs: l.macs, accesses: l.accesses, busy: l.predictedCycles, period: l.predictedCycles, clockMhz }, tables);
    cycles += l.predictedCycles;
  }
  return { energyPj, cycles, layers: layers.length };
}

/** The accelerator's area as its synth report's `accelerator` section measured it. */
function measuredArea(c: AcceleratorCandidate): MeasuredAcceleratorArea {
  const a = c.report?.accelerator;
  if (a === undefined) throw new Error(`iso-area: the ${c.rows}x${c.cols} accelerator's synth report has no accelerator section`);
  return { cellAreaUm2: a.cellAreaUm2, macroAreaUm2: a.macroAreaUm2, source: 'synth --target asic' };
}

/** fixedCycles: the fixed part's cycles per image (one pixel per clock: the manifest's ideal cycles per frame). */
export function isoArea(k: number, fixed: SynthReport, fixedCycles: number, candidates: readonly AcceleratorCandidate[], tables: Tables, clockMhz: number): IsoArea {
  const fixedArea = fixed.total.area;
  const fixedEnergy = fixed.energy?.perImagePj;
  if (fixedArea === undefined || fixedEnergy === undefined) throw new Error('iso-area: the fixed part needs synth --target asic with --images (area and measured energy)');
  const sized = candidates.map((c) => {
    const cycles = c.part.program.predictedCycles;
    const measured = c.report === undefined ? undefined : measuredArea(c);
    const area = acceleratorFigures(c.part, { busy: cycles, period: cycles, clockMhz }, tables, measured).areaUm2;
    return { c, area, source: measured ? 'Liberty cells (pre-layout) + modelled SRAM macros' : 'modelled (cost counts + SRAM macro model)' };
  });
  const nearest = sized.reduce((best, x) => (Math.abs(x.area - fixedArea) < Math.abs(best.area - fixedArea) ? x : best));
  const on = acceleratorOnLayers(nearest.c.part, k, clockMhz, tables);
  const fixedClock = fixed.timing?.maxClockMhz ?? null;
  const accelClock = nearest.c.report?.timing?.maxClockMhz ?? null;
  const throughputRatio = on.cycles / fixedCycles;
  return {
    k,
    fixed: { areaUm2: fixedArea, energyPerImagePj: fixedEnergy, cyclesPerImage: fixedCycles, maxClockMhz: fixedClock, energySource: 'measured' },
    accelerator: {
      rows: nearest.c.rows, cols: nearest.c.cols, layers: on.layers, areaUm2: nearest.area, energyPerImagePj: on.energyPj, cyclesPerImage: on.cycles, maxClockMhz: accelClock,
      energySource: 'modeled', areaSource: nearest.source,
    },
    candidates: sized.map((x) => ({ rows: x.c.rows, cols: x.c.cols, areaUm2: x.area, areaSource: x.source })),
    energyRatio: on.energyPj / fixedEnergy,
    throughputRatio,
    throughputRatioAtMaxClocks: fixedClock !== null && accelClock !== null ? (fixedClock / fixedCycles) / (accelClock / on.cycles) : null,
  };
}
