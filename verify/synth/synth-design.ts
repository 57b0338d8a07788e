/**
 * `fixynn synth DIR`: the design's hand-off scripts run per synthesis unit (units.ts, yosys-units.ts), the
 * figures gathered per module and in total, and for `asic` static timing of the joined netlist (sta.ts).
 * The result is written to DIR/synth.json (synthReportSchema's shape; README "synth"), the last run, and to
 * DIR/synth-<target>.json, so synthesizing for ice40 after asic keeps the asic figures.
 *
 * Memories: there are no SRAM macros. Yosys maps every Verilog array (the line buffers) to flip-flops and
 * read multiplexers. Their bits are counted as written (`stat` after `proc`); for `asic` the flip-flops that
 * hold the words (their outputs drive `<memory>[word]` nets) are summed apart as memory area, while the read
 * multiplexers and write decoding stay in logic area.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput } from '../../generator/common/errors.js';
import { sdcPath, type SynthTarget } from '../../generator/design/handoff.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { toolVersion } from '../sim/tools.js';
import { MEASURED_LABEL, measureAcceleratorEnergy, measureEnergy, type MeasuredAcceleratorEnergy, type MeasuredEnergy } from './energy.js';
import { MACRO_CELL, macroShape } from './sram-sim.js';
import { libertyTable, modelEnergy, type TechnologyTable } from './energy-model.js';
import { classifyFpgaCells, ICE40_WRAPPER, synthIce40, type FpgaResources, type Ice40Report } from './fpga.js';
import { simulateGateLevel, type GateSimulator } from './gate-level.js';
import { prepareLiberty, type PreparedLiberty } from './liberty-file.js';
import { memoryStorageCells, parseMemoryBits, parseStatText, readJsonModule } from './netlist.js';
import { PRE_LAYOUT, staticTiming, type TimingReport } from './sta.js';
import { synthUnits, type SynthUnit } from './units.js';
import { synthesizeUnits, type UnitRun } from './yosys-units.js';
import { MACRO_MIN_BITS, macroAreaUm2, SRAM_MODEL } from './sram-model.js';
import { ACCEL_ENERGY_METHOD, acceleratorEnergy, type AcceleratorEnergy, requireAccesses } from './accel-energy.js';
import { NOMINAL_CLOCK_MHZ } from '../../generator/design/chip.js';

/** The report files in the design folder: the last run's, and one per target. */
export const SYNTH_JSON = 'synth.json';
export function synthJsonName(target: string): string {
  return `synth-${target}.json`;
}
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
  /** asic, the accelerator's units: memories kept as SRAM macros (black boxes), their area modelled (sram-model.ts). */
  readonly macros?: readonly MacroFigures[];
  readonly macroBits?: number;
  readonly macroArea?: number;
  readonly cached: boolean;
  readonly seconds: number;
}

/** One memory kept as an SRAM macro: its shape as synthesis inferred it, its area as modelled. */
export interface MacroFigures {
  readonly name: string;
  readonly words: number;
  readonly width: number;
  readonly bits: number;
  readonly readPorts: number;
  readonly writePorts: number;
  readonly areaUm2: number;
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
    /** The accelerator: clock cycles of the first image's program run on the netlist. */
    readonly cycles?: number | null;
  };
  /** ice40 and xilinx: resources by kind; ice40 also place and route (fpga.ts). */
  readonly fpga?: FpgaResources;
  readonly ice40?: Omit<Ice40Report, 'module'>;
  /** asic with --images: energy per image from the same run's toggles (energy.ts). */
  readonly energy?: MeasuredEnergy;
  /** asic: energy per image modeled from the manifest's cost counts (energy-model.ts), and its error against `energy`. */
  readonly energyModel?: { readonly perImagePj: number; readonly activity: number; readonly cyclesPerImage: number; readonly table: TechnologyTable; readonly errorVsMeasured: number | null };
  /**
   * asic, a design with an accelerator: its area (its units' Liberty cells, pre-layout, + its memories as
   * modelled SRAM macros) and its energy per image modelled from the compiler's counts (accel-energy.ts).
   */
  readonly accelerator?: {
    readonly modules: readonly string[];
    readonly cellAreaUm2: number;
    readonly macroAreaUm2: number;
    readonly macroBits: number;
    readonly areaUm2: number;
    readonly cyclesPerImage: number;
    readonly clockMhz: number;
    readonly energy: AcceleratorEnergy;
    readonly energyMethod: string;
    /**
     * With --images: the energy per image measured on the netlist (gate-level toggles while busy, the SRAM
     * macros' counted accesses), the model evaluated at the measurement's clock (its leakage time), and the
     * model's error against the measurement (modelled / measured - 1).
     */
    readonly measuredEnergy?: MeasuredAcceleratorEnergy;
    readonly modelAtMeasuredClock?: AcceleratorEnergy;
    readonly energyErrorVsMeasured?: number;
  };
  readonly notes: readonly string[];
}

export interface SynthOptions {
  readonly target: SynthTarget;
  readonly liberty?: string;
  readonly jobs?: number;
  /** asic: images to simulate gate-level (bit-exact check and measured energy); 0 or absent: none. */
  readonly images?: number;
  readonly data?: string;
  /** The gate-level simulator of --images (default: gate-level.ts's DEFAULT_GATE_SIMULATOR). */
  readonly gateSimulator?: GateSimulator;
  /** asic: `abc -fast` (FIXYNN_ABC_FAST): quicker on large units, somewhat larger netlists; part of the cache key. */
  readonly abcFast?: boolean;
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
  const macros = macroCells(m);
  return {
    ...base, area, memoryArea, logicArea: area - memoryArea,
    ...(macros.length > 0 ? { macros, macroBits: sum(macros.map((x) => x.bits)), macroArea: sum(macros.map((x) => x.areaUm2)) } : {}),
  };
}

/** A Yosys JSON parameter: a number, or a binary string (the value's bits, MSB first). */
/**
 * How ABC mapped: its mode and the constraints (abc.constr, written by the ASIC script) it buffered and sized
 * against; a design whose script predates them gets unbuffered netlists, said so rather than left unsaid.
 */
function abcNote(runs: readonly UnitRun[], fast: boolean): string {
  const mode = fast ? 'ABC fast mapping (`map`, --abc-fast)' : 'ABC default mapping (`&nf`)';
  const constr = join(runs[0]?.dir ?? '', 'abc.constr');
  if (!existsSync(constr)) return `${mode} without constraints (the design's synth/yosys-asic.tcl predates them: regenerate the design): no buffering or sizing, so high-fanout nets may dominate the timing`;
  const settings = readFileSync(constr, 'utf8').trim().split('\n').join(', ');
  return `${mode}, buffered and sized against ${settings} (pF)`;
}

/** The netlist's macro cells (type MACRO_CELL: the memories the script kept as black boxes). */
function macroCells(m: ReturnType<typeof readJsonModule>): MacroFigures[] {
  return Object.entries(m.cells).filter(([, c]) => c.type === MACRO_CELL).map(([name, c]) => {
    const { words, width, readPorts, writePorts } = macroShape(c as { parameters?: Record<string, unknown> });
    return { name, words, width, bits: words * width, readPorts, writePorts, areaUm2: macroAreaUm2(words * width) };
  }).sort((a, b) => a.name.localeCompare(b.name));
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
    target, ...(liberty ? { liberty: { path: liberty.plain, sha256: liberty.sha256 } } : {}), ...(options.abcFast ? { env: { FIXYNN_ABC_FAST: '1' } } : {}),
    ...(options.jobs !== undefined ? { jobs: options.jobs } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const modules = runs.map((r) => unitFigures(r, target, liberty));
  const byType: Record<string, number> = {};
  for (const m of modules) addCounts(byType, m.cellsByType);
  const total = {
    cells: sum(modules.map((m) => m.cells)), cellsByType: byType, memoryBits: sum(modules.map((m) => m.memoryBits)),
    ...(liberty ? { area: sum(modules.map((m) => m.area)), memoryArea: sum(modules.map((m) => m.memoryArea)), logicArea: sum(modules.map((m) => m.logicArea)) } : {}),
    ...(modules.some((m) => m.macros) ? { macros: modules.flatMap((m) => m.macros ?? []), macroBits: sum(modules.map((m) => m.macroBits)), macroArea: sum(modules.map((m) => m.macroArea)) } : {}),
  };
  const tools: Record<string, string> = { yosys: await toolVersion('yosys') };
  const notes = [total.macros
    ? `the accelerator's memories of at least ${MACRO_MIN_BITS} bits are black boxes (${MACRO_CELL}): macroArea is ${SRAM_MODEL.label}, apart from area (the Liberty cells); every other memory is flip-flops and multiplexers; memoryBits counts all memories' bits as written in the RTL`
    : 'memories (line buffers) have no SRAM macros: Yosys maps them to flip-flops and multiplexers; memoryBits counts their bits as written in the RTL'];
  let timing: TimingReport | undefined;
  if (liberty) {
    options.onProgress?.('synth asic: static timing (OpenSTA) ...');
    const top = design.manifest.top.module;
    timing = await staticTiming(liberty.plain, runs.map((r) => join(r.dir, 'netlist.v')), top, design.pathOf(sdcPath(top)));
    tools.sta = 'OpenSTA (Debian opensta)';
    notes.push('memoryArea: the flip-flops holding the memory words; their read multiplexers and write decoding are in logicArea');
    notes.push(`area and timing ${PRE_LAYOUT}; cells from ${liberty.parsed.name}`);
    notes.push(abcNote(runs, options.abcFast === true));
  }
  let gateLevel: SynthReport['gateLevel'];
  let accelMeasured: MeasuredAcceleratorEnergy | undefined;
  let energy: MeasuredEnergy | undefined;
  if ((options.images ?? 0) > 0) {
    if (!liberty || !timing) throw badInput(`--images (gate-level simulation and energy) needs --target asic, not ${target}`);
    const part = design.manifest.parts.find((p) => p.kind === 'ffe') ?? design.manifest.parts.find((p) => p.kind === 'accel');
    if (part === undefined) throw badInput(`${design.dir}: no fixed part or accelerator to simulate gate-level`);
    const sim = await simulateGateLevel(design, runs, liberty, {
      images: options.images ?? 0, toggles: true, ...(options.data !== undefined ? { data: options.data } : {}),
      ...(options.gateSimulator !== undefined ? { simulator: options.gateSimulator } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const s = sim.summary;
    gateLevel = {
      images: s.images, dataSource: s.dataSource, simulator: s.simulatorVersion, mismatches: s.mismatches, bitExact: s.mismatches === 0, firstMismatch: s.firstMismatch,
      ...(s.cycles !== undefined ? { cycles: s.cycles } : {}),
    };
    // Leakage runs for the time the images take: at the SDC's clock, or slower where the netlist cannot meet it.
    const clockMhz = Math.min(1000 / timing.clockPeriodNs, timing.maxClockMhz);
    if (sim.toggles && part.kind === 'ffe') {
      energy = measureEnergy(liberty.parsed, runs, sim.scopes, sim.toggles, s.images, clockMhz, part.quantization);
      notes.push(`energy ${MEASURED_LABEL}; leakage at ${clockMhz.toFixed(1)} MHz; the run's reset, pipeline fill and drain are included and shared over its images`);
    } else if (sim.toggles && part.kind === 'accel') {
      accelMeasured = measureAcceleratorEnergy(liberty.parsed, runs, sim.scopes, sim.toggles, sim.macroAccesses ?? [], s.images, clockMhz, part.quantization);
      notes.push(`accelerator energy measured: ${accelMeasured.label}; leakage at ${clockMhz.toFixed(1)} MHz; counted while ${sim.window ?? 'busy'} is 1 (the program running; not the testbench loading the program and weights)`);
    }
  }
  const accelPart = design.manifest.parts.find((p) => p.kind === 'accel');
  let accelerator: SynthReport['accelerator'];
  if (liberty && accelPart !== undefined && accelPart.kind === 'accel') {
    const accelModules = units.filter((u) => u.macros.length > 0 || u.module === accelPart.module || acceleratorChildren(units, accelPart.module).includes(u.module)).map((u) => u.module);
    const mine = modules.filter((m) => accelModules.includes(m.module));
    const cellAreaUm2 = sum(mine.map((m) => m.area));
    const macroAreaUm2 = sum(mine.map((m) => m.macroArea));
    const split = design.manifest.split;
    const cyclesPerImage = split?.acceleratorCyclesPerFrame ?? accelPart.program.predictedCycles;
    const clockMhz = split?.clockMHz ?? NOMINAL_CLOCK_MHZ;
    const accesses = requireAccesses(accelPart.program.accesses, design.dir);
    const period = split?.cyclesPerFrame ?? cyclesPerImage;
    const table = libertyTable(liberty.parsed);
    const work = { macs: accelPart.program.macs, accesses, busyCycles: cyclesPerImage, periodCycles: period, clockMhz };
    const modelled = acceleratorEnergy(accelPart, work, table);
    const atMeasured = accelMeasured === undefined ? undefined : acceleratorEnergy(accelPart, { ...work, clockMhz: accelMeasured.clockMhz }, table);
    accelerator = {
      modules: accelModules, cellAreaUm2, macroAreaUm2, macroBits: sum(mine.map((m) => m.macroBits)), areaUm2: cellAreaUm2 + macroAreaUm2, cyclesPerImage, clockMhz,
      energy: modelled, energyMethod: ACCEL_ENERGY_METHOD,
      ...(accelMeasured !== undefined && atMeasured !== undefined
        ? { measuredEnergy: accelMeasured, modelAtMeasuredClock: atMeasured, energyErrorVsMeasured: atMeasured.perImagePj / accelMeasured.perImagePj - 1 } : {}),
    };
    notes.push(`accelerator energy ${ACCEL_ENERGY_METHOD}, at ${clockMhz} MHz`);
  }
  let energyModel: SynthReport['energyModel'];
  if (liberty && accelPart === undefined) {
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
    modules, total, ...(accelerator ? { accelerator } : {}), ...(target === 'xilinx' ? { fpga: classifyFpgaCells(total.cellsByType) } : {}), ...(timing ? { timing } : {}), ...(gateLevel ? { gateLevel } : {}), ...(energy ? { energy } : {}), notes,
  };
  return { report, runs, liberty };
}

/** The units the accelerator's module instantiates (its unit's black boxes that are units of their own). */
function acceleratorChildren(units: readonly SynthUnit[], accelModule: string): string[] {
  const names = new Set(units.map((u) => u.module));
  return (units.find((u) => u.module === accelModule)?.blackboxes ?? []).filter((b) => names.has(b));
}

/** DIR/synth.json and DIR/synth-<target>.json, keys in a stable order, each written whole; returns the second. */
export function writeSynthReport(design: LoadedDesign, report: SynthReport): string {
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const files = [SYNTH_JSON, synthJsonName(report.target)].map((name) => join(design.dir, name));
  for (const file of files) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  }
  return files[1] as string;
}
