/**
 * `fixynn synth DIR`: the design's hand-off scripts run per synthesis unit (units.ts, yosys-units.ts), the
 * figures gathered per module and in total, and for `asic` static timing of the joined netlist (sta.ts).
 * The result is written to DIR/synth.json (synthReportSchema's shape; README "synth").
 *
 * Memories: there are no SRAM macros. Yosys maps every Verilog array (the line buffers) to flip-flops and
 * read multiplexers. Their bits are counted as written (`stat` after `proc`); for `asic` the flip-flops that
 * hold the words (their outputs drive `<memory>[word]` nets) are summed apart as memory area, while the read
 * multiplexers and write decoding stay in logic area.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput } from '../../generator/common/errors.js';
import { sdcPath, type SynthTarget } from '../../generator/design/handoff.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { toolVersion } from '../sim/tools.js';
import { describeMismatch } from '../ffe/index.js';
import { MEASURED_LABEL, measureEnergy, type MeasuredEnergy } from './energy.js';
import { libertyTable, modelEnergy, type TechnologyTable } from './energy-model.js';
import { classifyFpgaCells, ICE40_WRAPPER, synthIce40, type FpgaResources, type Ice40Report } from './fpga.js';
import { simulateGateLevel } from './gate-level.js';
import { prepareLiberty, type PreparedLiberty } from './liberty-file.js';
import { memoryStorageCells, parseMemoryBits, parseStatText, readJsonModule } from './netlist.js';
import { PRE_LAYOUT, staticTiming, type TimingReport } from './sta.js';
import { synthUnits, type SynthUnit } from './units.js';
import { synthesizeUnits, type UnitRun } from './yosys-units.js';

export const SYNTH_JSON = 'synth.json';
export { DEFAULT_LIBERTY } from './liberty-file.js';

export interface ModuleFigures {
  readonly module: string;
  readonly cells: number;
  readonly cellsByType: Readonly<Record<string, number>>;
  /** Bits of the module's memories (line buffers) as written in the RTL, apart from logic. */
  readonly memoryBits: number;
  /** asic: um^2 (the Liberty's area unit) of all cells, of the memory-word flip-flops, and of the rest. */
  readonly area?: number;
  readonly memoryArea?: number;
  readonly logicArea?: number;
  readonly cached: boolean;
  readonly seconds: number;
}

export interface SynthReport {
  readonly format: 'fixynn-synth';
  readonly version: 1;
  readonly target: SynthTarget;
  readonly top: string;
  readonly tools: Readonly<Record<string, string>>;
  readonly liberty?: { readonly file: string; readonly library: string; readonly sha256: string };
  readonly modules: readonly ModuleFigures[];
  readonly total: Omit<ModuleFigures, 'module' | 'cached' | 'seconds'>;
  readonly timing?: TimingReport;
  /** asic with --images: the netlist simulated gate-level against the integer model (gate-level.ts). */
  readonly gateLevel?: {
    readonly images: number;
    readonly dataSource: string;
    readonly simulator: string;
    readonly mismatches: number;
    readonly bitExact: boolean;
    readonly firstMismatch: string | null;
  };
  /** ice40 and xilinx: resources by kind; ice40 also place and route (fpga.ts). */
  readonly fpga?: FpgaResources;
  readonly ice40?: Omit<Ice40Report, 'module'>;
  /** asic with --images: energy per image from the same run's toggles (energy.ts). */
  readonly energy?: MeasuredEnergy;
  /** asic: energy per image modeled from the manifest's cost counts (energy-model.ts), and its error against `energy`. */
  readonly energyModel?: { readonly perImagePj: number; readonly activity: number; readonly cyclesPerImage: number; readonly table: TechnologyTable; readonly errorVsMeasured: number | null };
  readonly notes: readonly string[];
}

export interface SynthOptions {
  readonly target: SynthTarget;
  readonly liberty?: string;
  readonly jobs?: number;
  /** asic: images to simulate gate-level (bit-exact check and measured energy); 0 or absent: none. */
  readonly images?: number;
  readonly data?: string;
  readonly onProgress?: (message: string) => void;
}

function sum(values: ReadonlyArray<number | undefined>): number {
  return values.reduce<number>((a, b) => a + (b ?? 0), 0);
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Figures of one synthesized unit. */
function unitFigures(run: UnitRun, target: SynthTarget, liberty: PreparedLiberty | undefined): ModuleFigures {
  const stat = parseStatText(readFileSync(join(run.dir, 'stat.txt'), 'utf8'), run.unit.module, run.unit.blackboxes);
  const memoryBits = parseMemoryBits(readFileSync(join(run.dir, 'memories.txt'), 'utf8'));
  const base = { module: run.unit.module, cells: stat.cells, cellsByType: stat.byType, memoryBits, cached: run.cached, seconds: run.seconds };
  if (target !== 'asic' || liberty === undefined) return base;
  const cells = liberty.parsed.cells;
  const m = readJsonModule(join(run.dir, 'netlist.json'), run.unit.module);
  const areaOf = (type: string): number => cells.get(type)?.area ?? 0;
  const area = sum(Object.values(m.cells).map((c) => areaOf(c.type)));
  const storage = memoryStorageCells(m, run.unit.memories, (type, pin) => cells.get(type)?.pins.get(pin)?.direction === 'output');
  const memoryArea = sum(storage.map((name) => areaOf(m.cells[name]?.type ?? '')));
  return { ...base, area, memoryArea, logicArea: area - memoryArea };
}

export interface SynthOutcome {
  readonly report: SynthReport;
  /** Each unit's Yosys output folder (netlists, statistics), in synthUnits' order (the top last). */
  readonly runs: readonly UnitRun[];
  readonly liberty: PreparedLiberty | undefined;
}

export async function synthDesign(design: LoadedDesign, options: SynthOptions): Promise<SynthOutcome> {
  const { target } = options;
  if (target !== 'asic' && (options.images ?? 0) > 0) throw badInput(`--images (gate-level simulation and energy) needs --target asic, not ${target}`);
  if (target === 'ice40') {
    if (options.liberty !== undefined) throw badInput('--liberty applies to --target asic only (not ice40)');
    const { module, ...ice40 } = await synthIce40(design, options.onProgress ? { onProgress: options.onProgress } : {});
    const report: SynthReport = {
      format: 'fixynn-synth', version: 1, target, top: design.manifest.top.module, tools: { yosys: await toolVersion('yosys'), nextpnr: 'nextpnr-ice40 (Debian)' },
      modules: [module], total: { cells: module.cells, cellsByType: module.cellsByType, memoryBits: module.memoryBits }, fpga: ice40.resources, ice40,
      notes: [`the whole design inside ${ICE40_WRAPPER} (inputs and outputs registered, the output beat folded by XOR to 8 pins): resources and clock of ${ice40.device}, ${ice40.label}`],
    };
    return { report, runs: [], liberty: undefined };
  }
  const liberty = target === 'asic' ? prepareLiberty(options.liberty) : undefined;
  if (target !== 'asic' && options.liberty !== undefined) throw badInput(`--liberty applies to --target asic only (not ${target})`);
  const units: SynthUnit[] = synthUnits(design);
  const runs = await synthesizeUnits(design, units, {
    target, ...(liberty ? { liberty: { path: liberty.plain, sha256: liberty.sha256 } } : {}),
    ...(options.jobs !== undefined ? { jobs: options.jobs } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const modules = runs.map((r) => unitFigures(r, target, liberty));
  const byType: Record<string, number> = {};
  for (const m of modules) addCounts(byType, m.cellsByType);
  const total = {
    cells: sum(modules.map((m) => m.cells)), cellsByType: byType, memoryBits: sum(modules.map((m) => m.memoryBits)),
    ...(liberty ? { area: sum(modules.map((m) => m.area)), memoryArea: sum(modules.map((m) => m.memoryArea)), logicArea: sum(modules.map((m) => m.logicArea)) } : {}),
  };
  const tools: Record<string, string> = { yosys: await toolVersion('yosys') };
  const notes = ['memories (line buffers) have no SRAM macros: Yosys maps them to flip-flops and multiplexers; memoryBits counts their bits as written in the RTL'];
  let timing: TimingReport | undefined;
  if (liberty) {
    options.onProgress?.('synth asic: static timing (OpenSTA) ...');
    const top = design.manifest.top.module;
    timing = await staticTiming(liberty.plain, runs.map((r) => join(r.dir, 'netlist.v')), top, design.pathOf(sdcPath(top)));
    tools.sta = 'OpenSTA (Debian opensta)';
    notes.push('memoryArea: the flip-flops holding the memory words; their read multiplexers and write decoding are in logicArea');
    notes.push(`area and timing ${PRE_LAYOUT}; cells from ${liberty.parsed.name}`);
  }
  let gateLevel: SynthReport['gateLevel'];
  let energy: MeasuredEnergy | undefined;
  if ((options.images ?? 0) > 0) {
    if (!liberty || !timing) throw badInput(`--images (gate-level simulation and energy) needs --target asic, not ${target}`);
    const ffe = design.manifest.parts.find((p) => p.kind === 'ffe');
    if (ffe === undefined || ffe.kind !== 'ffe') throw badInput(`${design.dir}: gate-level simulation runs designs with a fixed part (ffe) only`);
    const sim = await simulateGateLevel(design, runs, liberty, {
      images: options.images ?? 0, toggles: true, ...(options.data !== undefined ? { data: options.data } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const s = sim.summary;
    gateLevel = { images: s.images, dataSource: s.dataSource, simulator: s.simulatorVersion, mismatches: s.mismatches, bitExact: s.mismatches === 0, firstMismatch: s.firstMismatch ? describeMismatch(s.firstMismatch) : null };
    if (sim.toggles) {
      // Leakage runs for the time the images take: at the SDC's clock, or slower where the netlist cannot meet it.
      const clockMhz = Math.min(1000 / timing.clockPeriodNs, timing.maxClockMhz);
      energy = measureEnergy(liberty.parsed, runs, sim.scopes, sim.toggles, s.images, clockMhz, ffe.quantization);
      notes.push(`energy ${MEASURED_LABEL}; leakage at ${clockMhz.toFixed(1)} MHz; the run's reset, pipeline fill and drain are included and shared over its images`);
    }
  }
  let energyModel: SynthReport['energyModel'];
  if (liberty) {
    const modeled = modelEnergy(design.manifest.cost, design.manifest.top.throughput.idealCyclesPerFrame, libertyTable(liberty.parsed));
    energyModel = {
      perImagePj: modeled.perImagePj, activity: modeled.activity, cyclesPerImage: modeled.cyclesPerImage, table: modeled.table,
      errorVsMeasured: energy ? modeled.perImagePj / energy.perImagePj - 1 : null,
    };
  }
  const report: SynthReport = {
    format: 'fixynn-synth', version: 1, target, top: design.manifest.top.module, tools,
    ...(energyModel ? { energyModel } : {}),
    ...(liberty ? { liberty: { file: liberty.file, library: liberty.parsed.name, sha256: liberty.sha256 } } : {}),
    modules, total, ...(target === 'xilinx' ? { fpga: classifyFpgaCells(total.cellsByType) } : {}), ...(timing ? { timing } : {}), ...(gateLevel ? { gateLevel } : {}), ...(energy ? { energy } : {}), notes,
  };
  return { report, runs, liberty };
}

/** DIR/synth.json, keys in a stable order, written whole. */
export function writeSynthReport(design: LoadedDesign, report: SynthReport): string {
  const file = join(design.dir, SYNTH_JSON);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, file);
  return file;
}
