/**
 * JSON summaries for the CLI: the accelerator's description for a design manifest, and a compiled
 * program's per-layer figures (`compile --json`, `verify --json` print these beside simulated cycles).
 */
import type { CompiledProgram } from './compile.js';
import { type AccelConfig, peakMacs } from './config.js';
import { type CycleReport, replayCycles } from './cycle-model.js';
import { REFERENCE_MEMORY } from './costs.js';
import { ISA_VERSION } from './isa.js';

export interface AcceleratorDescription {
  readonly isaVersion: number;
  readonly array: { readonly rows: number; readonly cols: number };
  readonly peakMacsPerCycle: { readonly array: number; readonly depthwise: number };
  readonly widths: { readonly activation: number; readonly weight: number; readonly accumulator: number; readonly multiplier: number };
  /** Bytes of each memory (scratchpads: rows x row width; MEM as configured). */
  readonly memoryBytes: { readonly act: number; readonly wgt: number; readonly acc: number; readonly qp: number; readonly mem: number };
  readonly config: AccelConfig;
}

export function describeAccelerator(config: AccelConfig): AcceleratorDescription {
  const bytes = (rows: number, bits: number): number => Math.ceil((rows * config.cols * bits) / 8);
  return {
    isaVersion: ISA_VERSION,
    array: { rows: config.rows, cols: config.cols },
    peakMacsPerCycle: peakMacs(config),
    widths: { activation: config.actBits, weight: config.weightBits, accumulator: config.accBits, multiplier: config.multiplierBits },
    memoryBytes: { act: bytes(config.actRows, config.actBits), wgt: bytes(config.wgtRows, config.weightBits), acc: bytes(config.accRows, config.accBits), qp: bytes(config.qpRows, 32), mem: config.memBytes },
    config,
  };
}

export interface ProgramSummaryLayer {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  /** Instructions of the layer by opcode. */
  readonly instructions: Readonly<Record<string, number>>;
  readonly predictedCycles: number;
  readonly macs: number;
  readonly macsPerCycle: number;
  readonly utilization: number;
  readonly busy: { readonly ld: number; readonly ex: number; readonly st: number };
  /** Bytes moved by the layer's LOADs and STOREs. */
  readonly bytes: { readonly load: number; readonly store: number };
}

export interface ProgramSummary {
  readonly instructions: number;
  readonly byOpcode: Readonly<Record<string, number>>;
  readonly predictedCycles: number;
  readonly macs: number;
  readonly utilization: number;
  readonly memBytes: number;
  /** The memory model of the predicted cycles, and the bytes the whole program moves. */
  readonly memory: { readonly bytesPerCycle: number; readonly latency: number };
  readonly bytes: { readonly load: number; readonly store: number };
  /** Rows of ACT the band slots of tiled layers use (0: every tensor stays in ACT). */
  readonly bandRows: number;
  readonly layers: readonly ProgramSummaryLayer[];
}

export function summarizeProgram(compiled: CompiledProgram, cycles: CycleReport): ProgramSummary {
  const count = (pcs: readonly number[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const pc of pcs) { const op = compiled.program[pc]?.op ?? '?'; out[op] = (out[op] ?? 0) + 1; }
    return out;
  };
  return {
    instructions: compiled.program.length,
    byOpcode: count(compiled.program.map((_, pc) => pc)),
    predictedCycles: cycles.total,
    macs: cycles.macs,
    utilization: cycles.utilization,
    memBytes: compiled.layout.memUsed,
    memory: cycles.memory,
    bytes: cycles.bytes,
    bandRows: compiled.layout.bandRows,
    layers: compiled.layout.layers.map((l, i) => {
      const c = cycles.layers[i];
      return { index: l.index, name: l.name, kind: l.kind, instructions: count(l.pcs), predictedCycles: c?.cycles ?? 0, macs: l.macs, macsPerCycle: c?.macsPerCycle ?? 0, utilization: c?.utilization ?? 0, busy: c?.busy ?? { ld: 0, ex: 0, st: 0 }, bytes: c?.bytes ?? { load: 0, store: 0 } };
    }),
  };
}

/** Predicted cycles and utilization per layer with issue 12's reference memory (16 B/cycle, latency 100). */
export interface ReferenceFigures {
  readonly memory: { readonly bytesPerCycle: number; readonly latency: number };
  readonly predictedCycles: number;
  readonly utilization: number;
  readonly layers: readonly { readonly index: number; readonly predictedCycles: number; readonly utilization: number; readonly macsPerCycle: number }[];
}

export function referenceFigures(compiled: CompiledProgram): ReferenceFigures {
  const r = replayCycles(compiled.config, compiled.program, compiled.layout.layers, { memory: REFERENCE_MEMORY });
  return {
    memory: r.memory,
    predictedCycles: r.total,
    utilization: r.utilization,
    layers: r.layers.map((l) => ({ index: l.index, predictedCycles: l.cycles, utilization: l.utilization, macsPerCycle: l.macsPerCycle })),
  };
}
