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
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { badInput } from '../common/errors.js';
import { sdcPath, type SynthTarget } from '../design/handoff.js';
import type { LoadedDesign } from '../design/read-design.js';
import { toolVersion } from '../../verify/sim/tools.js';
import { readLiberty, type Liberty } from './liberty.js';
import { memoryStorageCells, parseMemoryBits, parseStatText, readJsonModule } from './netlist.js';
import { PRE_LAYOUT, staticTiming, type TimingReport } from './sta.js';
import { synthUnits, type SynthUnit } from './units.js';
import { synthCacheRoot, synthesizeUnits, type UnitRun } from './yosys-units.js';

export const SYNTH_JSON = 'synth.json';

/** The project's default Liberty: SkyWater sky130_fd_sc_hd, typical corner, in ../shared/pdk/ beside the checkout. */
export const DEFAULT_LIBERTY = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/pdk/sky130_fd_sc_hd/sky130_fd_sc_hd__tt_025C_1v80.lib.gz');

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
  readonly notes: readonly string[];
}

export interface SynthOptions {
  readonly target: SynthTarget;
  readonly liberty?: string;
  readonly jobs?: number;
  readonly onProgress?: (message: string) => void;
}

export interface PreparedLiberty {
  /** Where the user's file is. */
  readonly file: string;
  /** A plain-text copy Yosys and OpenSTA can read (they do not read gzip), in the synthesis cache. */
  readonly plain: string;
  readonly sha256: string;
  readonly parsed: Liberty;
}

/** The Liberty file to map to: --liberty, else the project's sky130 file where present, else a clear error. */
export function prepareLiberty(option: string | undefined): PreparedLiberty {
  const file = option ?? (existsSync(DEFAULT_LIBERTY) ? DEFAULT_LIBERTY : undefined);
  if (file === undefined) throw badInput(`--target asic needs --liberty FILE (a standard-cell Liberty file); the default ${DEFAULT_LIBERTY} is not present`);
  if (!existsSync(file)) throw badInput(`--liberty ${file}: no such file`);
  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const parsed = readLiberty(file);
  const plain = join(synthCacheRoot(), `liberty-${sha256.slice(0, 32)}.lib`);
  if (!existsSync(plain)) {
    mkdirSync(synthCacheRoot(), { recursive: true });
    const tmp = `${plain}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
    renameSync(tmp, plain);
  }
  return { file, plain, sha256, parsed };
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

export async function synthDesign(design: LoadedDesign, options: SynthOptions): Promise<SynthReport> {
  const { target } = options;
  if (target === 'ice40') throw badInput('internal: the ice40 target runs through synthIce40');
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
  return {
    format: 'fixynn-synth', version: 1, target, top: design.manifest.top.module, tools,
    ...(liberty ? { liberty: { file: liberty.file, library: liberty.parsed.name, sha256: liberty.sha256 } } : {}),
    modules, total, ...(timing ? { timing } : {}), notes,
  };
}

/** DIR/synth.json, keys in a stable order, written whole. */
export function writeSynthReport(design: LoadedDesign, report: SynthReport): string {
  const file = join(design.dir, SYNTH_JSON);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, file);
  return file;
}
