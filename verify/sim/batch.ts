/**
 * Batch simulation: many small designs compiled ONCE per simulator into one testbench (plain
 * Verilog-2005, templates/batch-tb.v.hbs), then run any number of times with different stimulus files.
 * Builds are cached on disk, keyed by a hash of everything that goes into them, so repeated test runs
 * skip the compile.
 *
 * The protocol is cycle-accurate: vector t is applied, the outputs are sampled once they settle (before
 * the clock edge), then the clock rises. This is exactly `sim.setAll(v); read outputs; sim.step()` in the
 * TypeScript evaluator, so a design with latency L shows its response to vector t in line t + L.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { type EmittedFile } from '../../generator/emit/index.js';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import { fromBits, toBits } from '../../generator/hdl/interval.js';
import { version } from '../../generator/common/version.js';
import { buildKey, cachedBuild, simCacheRoot } from './build-cache.js';
import { VERILATOR_QUICK_COMPILE, VERILATOR_QUIET } from './verilator-flags.js';
import { runTool, toolVersion } from './tools.js';

export type SimulatorName = 'verilator' | 'icarus';

export interface PortSpec {
  /** The port's Verilog name. */
  readonly name: string;
  readonly width: number;
  readonly signed: boolean;
}

/** One design of a batch: its sources and the ports the testbench drives and records. */
export interface SimDesign {
  /** Verilog name of the design's top module; unique in a batch (it also names the design at run time). */
  readonly top: string;
  /** The design's Verilog files (modules shared by several designs may repeat with identical text). */
  readonly files: readonly EmittedFile[];
  /** Inputs driven from the stimulus, excluding the clock. */
  readonly inputs: readonly PortSpec[];
  readonly outputs: readonly PortSpec[];
  /** The clock input, pulsed once per vector; absent for combinational designs. */
  readonly clock?: string;
}

/** One value per input port per cycle (missing inputs are 0). */
export type Vector = Readonly<Record<string, bigint>>;
/** One value per output port per cycle; null where the simulator reports unknown (x/z) bits. */
export type Response = Readonly<Record<string, bigint | null>>;

export interface BuildOptions {
  /** Cache root (default $FIXYNN_SIM_CACHE or <tmpdir>/fixynn-sim-cache). */
  readonly cacheDir?: string;
  /** Parallel compile jobs for Verilator (default $FIXYNN_SIM_JOBS or 2). */
  readonly jobs?: number;
  /** Build with waveform support: `run(..., { trace: 'file.vcd' })` then writes a VCD. */
  readonly trace?: boolean;
  /** Called with a line of progress text (e.g. "building 60 designs in verilator"). */
  readonly onProgress?: (message: string) => void;
}

const TB_NAME = 'fixynn_batch_tb';

const tbTemplate = Handlebars.compile(readFileSync(new URL('../../templates/batch-tb.v.hbs', import.meta.url), 'utf8'), {
  noEscape: true,
  strict: true,
});

function declOf(port: PortSpec): string {
  return `${port.signed ? 'signed ' : ''}${port.width === 1 ? '' : `[${port.width - 1}:0] `}`;
}

/** The testbench text for a list of designs. */
export function batchTestbench(designs: readonly SimDesign[], trace = false): string {
  return tbTemplate({
    generator: 'fixynn',
    version,
    tbName: TB_NAME,
    trace,
    designs: designs.map((d, index) => ({
      index,
      top: d.top,
      clock: d.clock ?? '',
      inputs: d.inputs.map((p) => ({ name: p.name, decl: declOf(p), msb: p.width - 1 })),
      scanMsb: Math.max(1, ...d.inputs.map((p) => p.width)) - 1,
      outputs: d.outputs.map((p) => ({ name: p.name, decl: declOf(p) })),
      format: d.outputs.map(() => '%h').join(' '),
      connections: [
        ...(d.clock === undefined ? [] : [`.${d.clock}(d${index}_clk)`]),
        ...d.inputs.map((p) => `.${p.name}(d${index}_in_${p.name})`),
        ...d.outputs.map((p) => `.${p.name}(d${index}_out_${p.name})`),
      ].map((c, i, all) => (i < all.length - 1 ? `${c},` : c)),
    })),
  });
}

/** All distinct files of a batch; one name with two different texts is an error. */
function mergeFiles(designs: readonly SimDesign[]): EmittedFile[] {
  const byName = new Map<string, EmittedFile>();
  const tops = new Set<string>();
  for (const d of designs) {
    if (tops.has(d.top)) throw badInput(`two designs in one batch share the top module name '${d.top}'; give each design its own name`);
    if (d.top === TB_NAME) throw badInput(`'${TB_NAME}' is reserved for the batch testbench`);
    tops.add(d.top);
    for (const f of d.files) {
      const prior = byName.get(f.name);
      if (prior !== undefined && prior.text !== f.text) {
        throw badInput(`two designs in one batch have different files named '${f.name}' (module names must be unique across the batch)`);
      }
      byName.set(f.name, f);
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A compiled batch: run it with stimulus for any subset of its designs. */
export class SimBuild {
  readonly simulator: SimulatorName;
  readonly toolVersion: string;
  readonly designs: readonly SimDesign[];
  /** Seconds spent compiling (0 when the build came from the cache). */
  readonly buildSeconds: number;
  readonly cached: boolean;
  readonly traceable: boolean;
  private readonly dir: string;

  constructor(simulator: SimulatorName, tool: string, designs: readonly SimDesign[], dir: string, buildSeconds: number, cached: boolean, traceable: boolean) {
    this.traceable = traceable;
    this.simulator = simulator;
    this.toolVersion = tool;
    this.designs = designs;
    this.dir = dir;
    this.buildSeconds = buildSeconds;
    this.cached = cached;
  }

  /**
   * Simulate: `stimulus` maps a design's top name to its vectors (one per clock cycle). Returns each
   * design's responses, one per vector. `trace` (a build made with `trace: true`) writes a VCD there.
   */
  async run(
    stimulus: ReadonlyMap<string, readonly Vector[]> | Readonly<Record<string, readonly Vector[]>>,
    options: { trace?: string } = {},
  ): Promise<Map<string, Response[]>> {
    const entries = stimulus instanceof Map ? [...stimulus.entries()] : Object.entries(stimulus);
    if (options.trace !== undefined && !this.traceable) throw badInput('this build has no waveform support: build it with { trace: true }');
    const runDir = mkdtempSync(join(tmpdir(), 'fixynn-run-'));
    try {
      const args: string[] = options.trace === undefined ? [] : [`+trace=${resolve(options.trace)}`];
      const jobs: Array<{ design: SimDesign; index: number; count: number }> = [];
      for (const [top, vectors] of entries) {
        const index = this.designs.findIndex((d) => d.top === top);
        if (index < 0) throw badInput(`design '${top}' is not in this build; it has: ${this.designs.map((d) => d.top).join(', ')}`);
        const design = this.designs[index]!;
        writeFileSync(join(runDir, `in${index}.txt`), stimulusText(design, vectors));
        args.push(`+in${index}=in${index}.txt`, `+out${index}=out${index}.txt`);
        jobs.push({ design, index, count: vectors.length });
      }
      const r =
        this.simulator === 'verilator'
          ? await runTool(join(this.dir, 'Vtb'), args, { cwd: runDir })
          : await runTool('vvp', ['-n', join(this.dir, 'tb.vvp'), ...args], { cwd: runDir });
      if (r.exitCode !== 0) throw checkFailed(`${this.simulator} run failed (exit ${r.exitCode}): ${(r.stderr + r.stdout).trim().slice(-1000)}`);
      const results = new Map<string, Response[]>();
      for (const job of jobs) {
        const out = readFileSync(join(runDir, `out${job.index}.txt`), 'utf8');
        results.set(job.design.top, parseResponses(job.design, out, job.count, this.simulator));
      }
      return results;
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  }
}

function stimulusText(design: SimDesign, vectors: readonly Vector[]): string {
  const known = new Set(design.inputs.map((p) => p.name));
  const lines = [String(vectors.length)];
  for (const v of vectors) {
    for (const key of Object.keys(v)) {
      if (!known.has(key)) throw badInput(`design '${design.top}' has no input '${key}' (inputs: ${[...known].join(', ') || 'none'})`);
    }
    lines.push(design.inputs.map((p) => toBits(v[p.name] ?? 0n, p.width).toString(16)).join(' '));
  }
  return lines.join('\n') + '\n';
}

function parseResponses(design: SimDesign, text: string, count: number, simulator: string): Response[] {
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.length !== count && !(design.outputs.length === 0 && count > 0)) {
    throw checkFailed(`${simulator}: design '${design.top}' produced ${lines.length} output lines for ${count} vectors`);
  }
  return lines.map((line) => {
    const tokens = line.trim().split(/\s+/);
    const entries = design.outputs.map((p, i): [string, bigint | null] => {
      const tok = tokens[i] ?? '';
      if (/[xXzZ]/.test(tok) || tok === '') return [p.name, null];
      return [p.name, fromBits(BigInt(`0x${tok}`), p)];
    });
    return Object.fromEntries(entries);
  });
}

/**
 * Compile the designs and a batch testbench with one simulator (or reuse a cached build of the same
 * sources). Verilator: `--binary --timing`; Icarus: `iverilog -g2005`.
 */
export async function buildBatch(simulator: SimulatorName, designs: readonly SimDesign[], options: BuildOptions = {}): Promise<SimBuild> {
  if (designs.length === 0) throw badInput('a batch needs at least one design');
  const files = mergeFiles(designs);
  const trace = options.trace === true;
  const tb: EmittedFile = { name: `${TB_NAME}.v`, text: batchTestbench(designs, trace) };
  const tool = await toolVersion(simulator === 'verilator' ? 'verilator' : 'iverilog');
  const flags = simulator === 'verilator' ? verilatorFlags(trace) : icarusFlags();
  const root = simCacheRoot(options.cacheDir);
  const built = await cachedBuild(root, buildKey('batch', simulator, tool, flags, [...files, tb]), simulator === 'verilator' ? 'Vtb' : 'tb.vvp', async (work) => {
    options.onProgress?.(`building ${designs.length} design(s) in ${simulator}`);
    const paths = [...files, tb].map((f) => {
      const p = join(work, f.name);
      writeFileSync(p, f.text);
      return p;
    });
    if (simulator === 'verilator') await buildVerilator(work, paths, flags, options.jobs);
    else await buildIcarus(work, paths, flags);
  });
  if (built.cached) {
    markUsed(built.dir);
    return new SimBuild(simulator, tool, designs, built.dir, 0, true, trace);
  }
  pruneCache(root);
  return new SimBuild(simulator, tool, designs, built.dir, built.seconds, false, trace);
}

/** Builds kept in the cache; the least recently used beyond this are deleted. */
const CACHE_KEEP = 100;

function markUsed(dir: string): void {
  const now = new Date();
  try {
    utimesSync(dir, now, now);
  } catch {
    // Another process pruned it meanwhile: the build we already hold a path to is still complete or gone; run() reports.
  }
}

/** Keep the cache bounded: drop the least recently used builds and abandoned partial builds. */
function pruneCache(root: string): void {
  const mtimeOf = (path: string): number => {
    try {
      return statSync(path).mtimeMs;
    } catch {
      return Number.POSITIVE_INFINITY; // gone already (another process pruned it): nothing to do
    }
  };
  const entries = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ path: join(root, e.name), partial: e.name.startsWith('.'), mtime: mtimeOf(join(root, e.name)) }));
  const hourAgo = Date.now() - 3_600_000;
  const complete = entries.filter((e) => !e.partial).sort((a, b) => b.mtime - a.mtime);
  const stale = [...complete.slice(CACHE_KEEP), ...entries.filter((e) => e.partial && e.mtime < hourAgo)];
  for (const e of stale) rmSync(e.path, { recursive: true, force: true });
}

/**
 * Verilator's flags for a batch (all of them in the cache key): compile time matters more than run time
 * for many small designs, hence Verilator's -O1 and the quick C++ optimization.
 */
function verilatorFlags(trace: boolean): string[] {
  return ['--binary', '--timing', '-O1', ...VERILATOR_QUIET, ...(trace ? ['--trace'] : []), '--top-module', TB_NAME, ...VERILATOR_QUICK_COMPILE];
}

/** Icarus's flags; the trace option changes only the testbench's text (hashed with the sources). */
function icarusFlags(): string[] {
  return ['-g2005', '-s', TB_NAME];
}

async function buildVerilator(work: string, paths: readonly string[], flags: readonly string[], jobs: number | undefined): Promise<void> {
  const j = String(jobs ?? Number(process.env.FIXYNN_SIM_JOBS ?? 2));
  const r = await runTool('verilator', [...flags, '-j', j, '--Mdir', join(work, 'obj'), '-o', join(work, 'Vtb'), ...paths], { cwd: work });
  if (r.exitCode !== 0 || !existsSync(join(work, 'Vtb'))) {
    throw checkFailed(`verilator build failed: ${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
  }
  // The object files are large and never needed again once the binary exists.
  rmSync(join(work, 'obj'), { recursive: true, force: true });
}

async function buildIcarus(work: string, paths: readonly string[], flags: readonly string[]): Promise<void> {
  const r = await runTool('iverilog', [...flags, '-o', join(work, 'tb.vvp'), ...paths], { cwd: work });
  if (r.exitCode !== 0) throw checkFailed(`iverilog build failed: ${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
}
