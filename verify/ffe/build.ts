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
import { runTool, toolVersion, type SimulatorName } from '../sim/index.js';

export interface FfeBuild {
  readonly simulator: SimulatorName;
  readonly toolVersion: string;
  /** The executable (Verilator) or vvp image (Icarus). */
  readonly product: string;
  readonly buildSeconds: number;
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
}

/** How often a running simulator build reports that it is still going. */
const BUILD_PROGRESS_MS = 15_000;

export async function buildFfe(design: LoadedDesign, simulator: SimulatorName, options: FfeBuildOptions = {}): Promise<FfeBuild> {
  const { manifest } = design;
  const sources = [...manifest.rtl, ...(manifest.testbench.wrapper === undefined ? [] : [manifest.testbench.wrapper.verilog]), manifest.testbench.verilog, ...(simulator === 'verilator' ? [harnessOf(manifest)] : [])];
  const texts = sources.map((relative) => ({ relative, text: readFileSync(design.pathOf(relative), 'utf8') }));
  const tool = await toolVersion(simulator === 'verilator' ? 'verilator' : 'iverilog');
  const trace = options.trace === true;
  const hash = createHash('sha256').update(`ffe\n${simulator}\n${tool}\ntrace=${trace}\n${simulator === 'icarus' ? ICARUS_TIMESCALE : ''}`);
  for (const s of texts) hash.update(`${s.relative}\n${s.text.length}\n${s.text}`);
  const root = options.cacheDir ?? process.env.FIXYNN_SIM_CACHE ?? path.join(tmpdir(), 'fixynn-sim-cache');
  const dir = path.join(root, `ffe-${simulator}-${hash.digest('hex').slice(0, 24)}`);
  const productName = simulator === 'verilator' ? 'Vtb' : 'tb.vvp';
  const product = path.join(dir, productName);
  if (existsSync(product)) return { simulator, toolVersion: tool, product, buildSeconds: 0, cached: true, trace };

  mkdirSync(root, { recursive: true });
  const work = mkdtempSync(path.join(root, `.build-ffe-${simulator}-`));
  const start = performance.now();
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
      if (simulator === 'verilator') await buildVerilator(work, paths, manifest.testbench.module, trace, options.jobs);
      else await buildIcarus(work, paths, manifest.testbench.module);
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
  return { simulator, toolVersion: tool, product, buildSeconds: (performance.now() - start) / 1000, cached: false, trace };
}

async function buildVerilator(work: string, paths: readonly string[], tb: string, trace: boolean, jobs: number | undefined): Promise<void> {
  const j = String(jobs ?? Number(process.env.FIXYNN_SIM_JOBS ?? 2));
  const args = [
    '--cc', '--exe', '--build', '-j', j,
    // The RTL is linted on its own (-Wall, no waivers); the testbench's blocking counters are deliberate.
    '-Wno-fatal', '-Wno-lint', '-Wno-style',
    '-DFIXYNN_EXTERNAL_CLOCK', '--top-module', tb,
    ...(trace ? ['--trace'] : []),
    '--Mdir', path.join(work, 'obj'), '-o', path.join(work, 'Vtb'),
    '-CFLAGS', '-O1',
    ...paths,
  ];
  const r = await runTool('verilator', args, { cwd: work });
  if (r.exitCode !== 0 || !existsSync(path.join(work, 'Vtb'))) {
    throw checkFailed(`verilator build failed: ${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
  }
  rmSync(path.join(work, 'obj'), { recursive: true, force: true });
}

/**
 * Icarus gives modules without a `timescale` a unit of 1 s, so a VCD of one clock cycle would read as
 * seconds. The generated Verilog carries no `timescale` (Verilator -Wall wants all modules or none), so
 * a one-line file compiled first gives every module 1 ns.
 */
export const ICARUS_TIMESCALE = '`timescale 1ns/1ps\n';

async function buildIcarus(work: string, paths: readonly string[], tb: string): Promise<void> {
  const timescale = path.join(work, 'timescale.v');
  writeFileSync(timescale, ICARUS_TIMESCALE);
  const r = await runTool('iverilog', ['-g2005', '-o', path.join(work, 'tb.vvp'), '-s', tb, timescale, ...paths], { cwd: work });
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
