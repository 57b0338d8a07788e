/**
 * Compiling a design folder's testbench once per simulator: Verilator with the C++ harness (the harness
 * drives the clock, so no --timing is needed and simulation is fast), Icarus with the plain testbench.
 * Builds are cached like verify/sim's batch builds (same cache root), keyed by a hash of the sources, the
 * tool version and the trace option, so verifying a design again skips the compile.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { buildKey, runTool, runToolMeasured, simCacheRoot, toolVersion, VERILATOR_QUICK_COMPILE, VERILATOR_QUIET, type SimulatorName } from '../sim/index.js';

export interface FfeBuild {
  readonly simulator: SimulatorName;
  readonly toolVersion: string;
  /** The executable (Verilator) or vvp image (Icarus). */
  readonly product: string;
  readonly buildSeconds: number;
  /** Largest resident memory of any one build process (Verilator or a compiler), kB; null when cached or unmeasured. */
  readonly peakMemoryKb: number | null;
  /** CPU seconds of the build's processes (user + system); null when cached or unmeasured. */
  readonly buildCpuSeconds: number | null;
  readonly cached: boolean;
  readonly trace: boolean;
  /** The beat files the testbench writes: binary (out.bin, tap<k>.bin) or text (out.hex, tap<k>.hex). */
  readonly beats: BeatFiles;
}

/**
 * binary: the testbench built with FIXYNN_BINARY_BEATS (the default; a testbench generated before it
 * existed writes text whatever is asked). text: the hex lines of the standalone testbench folder.
 */
export type BeatFiles = 'binary' | 'text';

export interface FfeBuildOptions {
  readonly trace?: boolean;
  readonly jobs?: number;
  readonly cacheDir?: string;
  /** Interval of the "still building" messages (default 15 s). */
  readonly progressEveryMs?: number;
  readonly onProgress?: (message: string) => void;
  /**
   * Sources simulated instead of the design's RTL (e.g. a gate-level netlist and its cell models; the
   * testbench stays the design's), each with a relative name for the build folder.
   */
  readonly rtl?: ReadonlyArray<{ readonly relative: string; readonly text: string }>;
  /** Icarus only: further top-level modules compiled beside the testbench (e.g. a waveform dumper). */
  readonly extraRoots?: ReadonlyArray<{ readonly module: string; readonly text: string }>;
  /** The beat files (default binary). */
  readonly beats?: BeatFiles;
}

/** The testbench's define for binary beat files (templates/ffe-tb.v.hbs). */
const BINARY_BEATS = 'FIXYNN_BINARY_BEATS';

/** How often a running simulator build reports that it is still going. */
const BUILD_PROGRESS_MS = 15_000;

export async function buildFfe(design: LoadedDesign, simulator: SimulatorName, options: FfeBuildOptions = {}): Promise<FfeBuild> {
  const { manifest } = design;
  if (options.extraRoots !== undefined && simulator !== 'icarus') throw new Error('internal: extra top-level modules are an Icarus build option');
  const sources = [
    ...(options.rtl === undefined ? manifest.rtl : []), ...(manifest.testbench.wrapper === undefined ? [] : [manifest.testbench.wrapper.verilog]),
    manifest.testbench.verilog, ...(simulator === 'verilator' ? [harnessOf(manifest)] : []),
  ];
  const texts = [
    ...(options.rtl ?? []),
    ...sources.map((relative) => ({ relative, text: readFileSync(design.pathOf(relative), 'utf8') })),
    ...(options.extraRoots ?? []).map((r) => ({ relative: `extra/${r.module}.v`, text: r.text })),
  ];
  const roots = [manifest.testbench.module, ...(options.extraRoots ?? []).map((r) => r.module)];
  const tool = await toolVersion(simulator === 'verilator' ? 'verilator' : 'iverilog');
  const trace = options.trace === true;
  const tbText = texts.find((s) => s.relative === manifest.testbench.verilog)?.text ?? '';
  const beats: BeatFiles = (options.beats ?? 'binary') === 'binary' && tbText.includes(BINARY_BEATS) ? 'binary' : 'text';
  const defines = beats === 'binary' ? [`-D${BINARY_BEATS}`] : [];
  const flags = [...(simulator === 'verilator' ? verilatorFlags(manifest.testbench.module, trace) : icarusFlags(roots)), ...defines];
  const keyed = [...texts.map((s) => ({ name: s.relative, text: s.text })), ...(simulator === 'icarus' ? [{ name: 'timescale.v', text: ICARUS_TIMESCALE }] : [])];
  const root = simCacheRoot(options.cacheDir);
  const dir = path.join(root, buildKey('ffe', simulator, tool, flags, keyed));
  const productName = simulator === 'verilator' ? 'Vtb' : 'tb.vvp';
  const product = path.join(dir, productName);
  if (existsSync(product)) return { simulator, toolVersion: tool, product, buildSeconds: 0, peakMemoryKb: null, buildCpuSeconds: null, cached: true, trace, beats };

  mkdirSync(root, { recursive: true });
  const work = mkdtempSync(path.join(root, `.build-ffe-${simulator}-`));
  const start = performance.now();
  let measured: { peakMemoryKb: number | null; cpuSeconds: number | null } = { peakMemoryKb: null, cpuSeconds: null };
  try {
    options.onProgress?.(`building ${manifest.top.module} in ${simulator}`);
    const paths = texts.map((s) => {
      const p = path.join(work, 'src', ...s.relative.split('/'));
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, s.text);
      return p;
    });
    // A Verilator build of a large design takes minutes: say every so often that it is still going.
    const ticker = options.onProgress ? setInterval(() => options.onProgress?.(`still building ${manifest.top.module} in ${simulator} (${Math.round((performance.now() - start) / 1000)} s)`), options.progressEveryMs ?? BUILD_PROGRESS_MS) : undefined;
    try {
      if (simulator === 'verilator') measured = await buildVerilator(work, paths, flags, options.jobs);
      else await buildIcarus(work, paths, flags);
    } finally {
      if (ticker) clearInterval(ticker);
    }
    try {
      renameSync(work, dir);
    } catch (err) {
      if (!existsSync(product)) throw err; // another process built the same sources first: use theirs
      rmSync(work, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return { simulator, toolVersion: tool, product, buildSeconds: (performance.now() - start) / 1000, peakMemoryKb: measured.peakMemoryKb, buildCpuSeconds: measured.cpuSeconds, cached: false, trace, beats };
}

/**
 * A large design's Verilator build is slow but legitimate (MobileNet at K = 27: 160 CPU s in Verilator,
 * then 238 C++ files; on a loaded machine it outlasted runTool's default 15 minutes): allow hours.
 */
const VERILATOR_BUILD_TIMEOUT_MS = 4 * 3_600_000;

/**
 * How the Verilator model is compiled (every flag in the cache key). The C++ optimization as for the
 * batch builds (verify/sim/verilator-flags.ts): measured by hand on the example at K = 9, the model
 * simulates 1,000 digits in 5.4 CPU s at -Os, -O1, -O2 and -O3 alike (a long straight line of narrow adds
 * that the optimizer barely changes), while the build takes 23 CPU s with -O1/-O0, 35 s with -O2, 59 s at -Os.
 */
function verilatorFlags(tb: string, trace: boolean): string[] {
  return [
    '--cc', '--exe', '--build', ...VERILATOR_QUIET,
    '-DFIXYNN_EXTERNAL_CLOCK', '--top-module', tb,
    ...(trace ? ['--trace'] : []),
    ...VERILATOR_QUICK_COMPILE,
  ];
}

async function buildVerilator(work: string, paths: readonly string[], flags: readonly string[], jobs: number | undefined): Promise<{ peakMemoryKb: number | null; cpuSeconds: number | null }> {
  const j = String(jobs ?? Number(process.env.FIXYNN_SIM_JOBS ?? 2));
  const args = [...flags, '-j', j, '--Mdir', path.join(work, 'obj'), '-o', path.join(work, 'Vtb'), ...paths];
  const r = await runToolMeasured('verilator', args, { cwd: work, timeoutMs: VERILATOR_BUILD_TIMEOUT_MS });
  if (r.exitCode !== 0 || !existsSync(path.join(work, 'Vtb'))) {
    throw checkFailed(`verilator build failed: ${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
  }
  rmSync(path.join(work, 'obj'), { recursive: true, force: true });
  return { peakMemoryKb: r.peakMemoryKb, cpuSeconds: r.cpuSeconds };
}

/**
 * Icarus gives modules without a `timescale` a unit of 1 s, so a VCD of one clock cycle would read as
 * seconds. The generated Verilog carries no `timescale` (Verilator -Wall wants all modules or none), so
 * a one-line file compiled first gives every module 1 ns.
 */
export const ICARUS_TIMESCALE = '`timescale 1ns/1ps\n';

function icarusFlags(roots: readonly string[]): string[] {
  return ['-g2005', ...roots.flatMap((root) => ['-s', root])];
}

async function buildIcarus(work: string, paths: readonly string[], flags: readonly string[]): Promise<void> {
  const timescale = path.join(work, 'timescale.v');
  writeFileSync(timescale, ICARUS_TIMESCALE);
  const r = await runTool('iverilog', [...flags, '-o', path.join(work, 'tb.vvp'), timescale, ...paths], { cwd: work });
  if (r.exitCode !== 0) throw checkFailed(`iverilog build failed: ${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
}

/** A fresh folder for one simulation run. */
export function runFolder(): string {
  return mkdtempSync(path.join(tmpdir(), 'fixynn-ffe-run-'));
}

function harnessOf(manifest: LoadedDesign['manifest']): string {
  if (manifest.testbench.harness === undefined) throw badInput(`${manifest.top.module}: the design has no Verilator harness (testbench.harness in manifest.json)`);
  return manifest.testbench.harness;
}
