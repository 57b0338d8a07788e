/**
 * Compiling a design folder's testbench once per simulator: Verilator with the C++ harness (the harness
 * drives the clock, so no --timing is needed and simulation is fast), Icarus with the plain testbench.
 * Builds are cached like verify/sim's batch builds (same cache root), keyed by a hash of the sources, the
 * tool version and the trace option, so verifying a design again skips the compile.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { runTool, runToolMeasured, toolVersion, type SimulatorName } from '../sim/index.js';

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
}

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
}

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
  const hash = createHash('sha256').update(`ffe\n${simulator}\n${tool}\ntrace=${trace}\n${simulator === 'icarus' ? ICARUS_TIMESCALE : VERILATOR_OPTIMIZATION.join(' ')}`);
  for (const s of texts) hash.update(`${s.relative}\n${s.text.length}\n${s.text}`);
  const root = options.cacheDir ?? process.env.FIXYNN_SIM_CACHE ?? path.join(tmpdir(), 'fixynn-sim-cache');
  const dir = path.join(root, `ffe-${simulator}-${hash.digest('hex').slice(0, 24)}`);
  const productName = simulator === 'verilator' ? 'Vtb' : 'tb.vvp';
  const product = path.join(dir, productName);
  if (existsSync(product)) return { simulator, toolVersion: tool, product, buildSeconds: 0, peakMemoryKb: null, buildCpuSeconds: null, cached: true, trace };

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
      if (simulator === 'verilator') measured = await buildVerilator(work, paths, manifest.testbench.module, trace, options.jobs);
      else await buildIcarus(work, paths, roots);
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
  return { simulator, toolVersion: tool, product, buildSeconds: (performance.now() - start) / 1000, peakMemoryKb: measured.peakMemoryKb, buildCpuSeconds: measured.cpuSeconds, cached: false, trace };
}

/**
 * How the Verilator model is compiled. Verilator's makefile puts its own OPT_FAST (-Os) after -CFLAGS, so
 * an -O there never took effect; set through make instead. Measured by hand on the example at K = 9: the
 * model simulates 1,000 digits in 5.4 CPU s at -Os, -O1, -O2 and -O3 alike (a long straight line of narrow
 * adds that the optimizer barely changes), while the build takes 23 CPU s with -O1 for the per-cycle code
 * and -O0 for the run-once code (constructors, initial blocks), 35 s with -O2, 59 s as before (-Os).
 */
/**
 * A large design's Verilator build is slow but legitimate (MobileNet at K = 27: 160 CPU s in Verilator,
 * then 238 C++ files; on a loaded machine it outlasted runTool's default 15 minutes): allow hours.
 */
const VERILATOR_BUILD_TIMEOUT_MS = 4 * 3_600_000;

const VERILATOR_OPTIMIZATION = ['-MAKEFLAGS', 'OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1'];

async function buildVerilator(work: string, paths: readonly string[], tb: string, trace: boolean, jobs: number | undefined): Promise<{ peakMemoryKb: number | null; cpuSeconds: number | null }> {
  const j = String(jobs ?? Number(process.env.FIXYNN_SIM_JOBS ?? 2));
  const args = [
    '--cc', '--exe', '--build', '-j', j,
    // The RTL is linted on its own (-Wall, no waivers); the testbench's blocking counters are deliberate.
    '-Wno-fatal', '-Wno-lint', '-Wno-style',
    '-DFIXYNN_EXTERNAL_CLOCK', '--top-module', tb,
    ...(trace ? ['--trace'] : []),
    '--Mdir', path.join(work, 'obj'), '-o', path.join(work, 'Vtb'),
    ...VERILATOR_OPTIMIZATION,
    ...paths,
  ];
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

async function buildIcarus(work: string, paths: readonly string[], roots: readonly string[]): Promise<void> {
  const timescale = path.join(work, 'timescale.v');
  writeFileSync(timescale, ICARUS_TIMESCALE);
  const r = await runTool('iverilog', ['-g2005', '-o', path.join(work, 'tb.vvp'), ...roots.flatMap((root) => ['-s', root]), timescale, ...paths], { cwd: work });
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
