/**
 * Running programs on the accelerator's RTL: the design and its testbench (templates/accel-tb.v.hbs)
 * compiled once per configuration and simulator (cached on disk by content hash, like verify/sim), then
 * any number of runs, each a program plus MEM images loaded through the host port. A run reports its
 * status (done, or the error bit with the faulting pc and cause, or a timeout), cycles, the MEM words it
 * was asked to dump, and every unit's instruction start/end events.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REFERENCE_MEMORY as CYCLE_MODEL_REFERENCE } from '../../generator/accel/costs.js';
import { type RtlConfig } from '../../generator/accel/rtl/config.js';
import { ACCEL_TB, accelSources } from '../../generator/accel/rtl/sources.js';
import { checkFailed } from '../../generator/common/errors.js';
import type { StreamRegisters } from '../../generator/accel/run.js';
import { buildKey, cachedBuild, runTool, simCacheRoot, toolVersion, VERILATOR_QUICK_COMPILE, VERILATOR_QUIET, type SimulatorName } from '../sim/index.js';


export interface AccelBuild {
  readonly simulator: SimulatorName;
  readonly config: RtlConfig;
  readonly dir: string;
  readonly buildSeconds: number;
  readonly cached: boolean;
  readonly files: ReadonlyArray<{ name: string; text: string }>;
}

/** The accelerator's Verilog and its testbench for one configuration (generator/accel/rtl/sources.ts). */
export function accelFiles(config: RtlConfig): Array<{ name: string; text: string }> {
  const s = accelSources(config);
  return [...s.rtl, ...s.testbenchSupport, s.testbench];
}

export async function buildAccel(config: RtlConfig, simulator: SimulatorName, options: { onProgress?: (m: string) => void; cacheDir?: string } = {}): Promise<AccelBuild> {
  return buildAccelFiles(accelFiles(config), config, simulator, options);
}

/**
 * A build of given files (a design folder's RTL and testbench, read back): the cache key is their
 * content, so a design of a configuration shares the build of the same configuration's tests.
 */
export async function buildAccelFiles(files: ReadonlyArray<{ name: string; text: string }>, config: RtlConfig, simulator: SimulatorName, options: {
  onProgress?: (m: string) => void; cacheDir?: string; top?: string; trace?: boolean; extraRoots?: readonly string[];
  /** Verilator: flags after the usual ones (e.g. verify/synth's toggle coverage); part of the cache key. */
  verilatorFlags?: readonly string[];
} = {}): Promise<AccelBuild> {
  const tool = await toolVersion(simulator === 'verilator' ? 'verilator' : 'iverilog');
  // The testbench module (the accelerator's own, or e.g. the chip's around it).
  const TB = options.top ?? ACCEL_TB;
  // Verilator needs --trace for $dumpvars to write anything (Icarus always can): another build.
  const trace = options.trace === true && simulator === 'verilator';
  // Further top-level modules beside the testbench: Icarus takes several roots (-s); Verilator one top, so
  // a root module instantiates the testbench (under its own name, so the testbench's paths stay valid
  // from the other roots) and each extra root.
  const roots = options.extraRoots ?? [];
  const verilatorTop = roots.length === 0 ? TB : ROOTS_MODULE;
  const sources = simulator === 'verilator' && roots.length > 0
    ? [...files, { name: `${ROOTS_MODULE}.v`, text: rootsModule([TB, ...roots]) }]
    : files;
  const flags = simulator === 'verilator'
    ? ['--binary', '--timing', ...VERILATOR_QUIET, ...(trace ? ['--trace'] : []), '--top-module', verilatorTop, ...VERILATOR_QUICK_COMPILE, ...(options.verilatorFlags ?? [])]
    : ['-g2005', ...[TB, ...roots].flatMap((root) => ['-s', root])];
  const built = await cachedBuild(simCacheRoot(options.cacheDir), buildKey('accel', simulator, tool, flags, sources), simulator === 'verilator' ? 'Vtb' : 'tb.vvp', async (work) => {
    options.onProgress?.(`building the ${config.rows}x${config.cols} accelerator${TB === ACCEL_TB ? '' : ` (${TB})`} in ${simulator}`);
    const paths = sources.map((f) => {
      const p = path.join(work, f.name);
      writeFileSync(p, f.text);
      return p;
    });
    if (simulator === 'verilator') {
      const j = String(Number(process.env.FIXYNN_SIM_JOBS ?? 2));
      // A gate-level netlist's build takes far longer than the RTL's.
      const r = await runTool('verilator', [...flags, '-j', j, '--Mdir', path.join(work, 'obj'), '-o', path.join(work, 'Vtb'), ...paths], { cwd: work, timeoutMs: BUILD_TIMEOUT_MS });
      if (r.exitCode !== 0 || !existsSync(path.join(work, 'Vtb'))) throw checkFailed(`verilator build failed: ${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
      rmSync(path.join(work, 'obj'), { recursive: true, force: true });
    } else {
      const r = await runTool('iverilog', [...flags, '-o', path.join(work, 'tb.vvp'), ...paths], { cwd: work });
      if (r.exitCode !== 0) throw checkFailed(`iverilog build failed: ${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`);
    }
  });
  return { simulator, config, dir: built.dir, buildSeconds: built.seconds, cached: built.cached, files };
}

/** A build's time limit (a gate-level netlist's Verilator build: many minutes). */
const BUILD_TIMEOUT_MS = 4 * 3600_000;

/** Verilator's top when a build has several roots (buildAccelFiles). */
const ROOTS_MODULE = 'fixynn_roots';

function rootsModule(roots: readonly string[]): string {
  return [
    '// The simulation\'s roots under one top (Verilator elaborates one): each instance is named as its module.',
    `module ${ROOTS_MODULE};`,
    ...roots.map((r) => `  ${r} ${r} ();`),
    'endmodule',
    '',
  ].join('\n');
}

export interface UnitEvent {
  readonly unit: 'ld' | 'ex' | 'st';
  readonly kind: 'start' | 'end';
  /** The accelerator's cycle counter (cycles since start). */
  readonly cycle: number;
  readonly pc: number;
}

/**
 * The AXI testbench's memory model (memory: 'axi'): read latency from the AR handshake to the first
 * beat, a seeded random extra per burst, write response latency, bandwidth in bytes per clock shared by
 * reads and writes, the chance of a stall on every handshake signal the model drives, and MEM's AXI address.
 */
export interface MemoryModel {
  readonly readLatency: number;
  readonly readJitter: number;
  readonly writeLatency: number;
  readonly bytesPerCycle: number;
  readonly stallPercent: number;
  readonly seed: number;
  readonly base: number;
}

/**
 * The reference memory of issue 12, used for every performance figure: 16 bytes per clock peak, 100
 * clocks read latency, no random stalls. Write responses also take 100 clocks (a STORE completes when
 * its last response arrives). MEM at 0x1000_0000.
 */
export const REFERENCE_MEMORY: MemoryModel = {
  // The figures of generator/accel/costs.ts's REFERENCE_MEMORY (the cycle model's), one definition.
  readLatency: CYCLE_MODEL_REFERENCE.latency, readJitter: 0, writeLatency: CYCLE_MODEL_REFERENCE.latency,
  bytesPerCycle: CYCLE_MODEL_REFERENCE.bytesPerCycle, stallPercent: 0, seed: 1, base: 0x1000_0000,
};

/** A hostile memory: random latency on top of a base, a narrow bus share, stalls on every handshake, MEM 64 bytes below a 4 KB page. */
export function randomMemory(seed: number): MemoryModel {
  return { readLatency: 3 + (seed % 17), readJitter: 25, writeLatency: 1 + (seed % 9), bytesPerCycle: 3 + (seed % 6), stallPercent: 20 + (seed % 3) * 10, seed, base: 0x1000_0000 + 4096 * (1 + seed) - 64 };
}

/** An ideal memory for functional runs: one clock, full bandwidth, no stalls. */
export const FAST_MEMORY: MemoryModel = { readLatency: 1, readJitter: 0, writeLatency: 1, bytesPerCycle: 64, stallPercent: 0, seed: 1, base: 0x1000_0000 };

/** Per-unit counters of the AXI4-Lite block (clocks): busy, and stalled (memory or token waits). */
export interface UnitCounters {
  readonly ldBusy: number;
  readonly ldStall: number;
  readonly exBusy: number;
  readonly exStall: number;
  readonly stBusy: number;
  readonly stStall: number;
}

export interface AccelRunResult {
  readonly status: 'done' | 'error' | 'timeout';
  readonly errorPc: number;
  readonly errorCause: number;
  readonly cycles: number;
  /** The dumped MEM bytes (dumpAddr .. dumpAddr + 4*dumpWords). */
  readonly dump: Uint8Array;
  readonly events: readonly UnitEvent[];
  /** memory 'axi' only: the AXI4-Lite block's counters after the run. */
  readonly counters?: UnitCounters;
  /** Stream mode: the output stream's beats (tdata, tuser, tlast) and the sticky framing error. */
  readonly beats?: ReadonlyArray<{ readonly data: number; readonly user: boolean; readonly last: boolean }>;
  readonly frameError?: boolean;
}

export interface AccelRunOptions {
  /** MEM byte range read back after each run. */
  readonly dumpAddr?: number;
  readonly dumpBytes?: number;
  readonly maxCycles?: number;
  readonly events?: boolean;
  /** memory 'axi': the memory model (default FAST_MEMORY). */
  readonly memory?: MemoryModel;
  /**
   * Stream mode: `images` holds the one base image (loaded once), every frame streams its pixels through
   * s_axis (the program starts on the complete frame) and the results are read from m_axis.
   */
  readonly stream?: { readonly registers: StreamRegisters; readonly frames: ReadonlyArray<readonly bigint[]>; readonly gaps?: boolean };
  /** Further plusargs (e.g. for a dumper built beside the testbench: verify/synth's toggle counter). */
  readonly plusargs?: readonly string[];
  /** The simulator process's time limit (default runTool's 15 minutes; a gate-level run takes longer). */
  readonly timeoutMs?: number;
}

/** The plusargs of the AXI testbenches' memory model (templates/axi-memory-model.v.hbs); `seedArg` names its seed's plusarg. */
export function memoryModelArgs(mm: MemoryModel, seedArg: 'seed' | 'mem_seed'): string[] {
  return [`+mem_base=${mm.base}`, `+rd_latency=${mm.readLatency}`, `+rd_jitter=${mm.readJitter}`, `+wr_latency=${mm.writeLatency}`, `+bw=${mm.bytesPerCycle}`, `+stall_pct=${mm.stallPercent}`, `+${seedArg}=${mm.seed}`];
}

/** A run of an AXI testbench that the AXI4 checker or the memory model stopped fails with their message (on stdout). */
export function checkAxiRun(simulator: SimulatorName, resultLines: readonly string[], stdout: string): void {
  if (resultLines.includes('violation')) throw checkFailed(`${simulator}: ${(stdout.split('\n').find((l) => l.startsWith('AXI4 violation')) ?? 'AXI4 protocol violation').trim()}`);
  const model = stdout.split('\n').find((l) => l.startsWith('memory model:'));
  if (model !== undefined) throw checkFailed(`${simulator}: ${model.trim()}`);
}

/** Program words (128-bit) as the 32-bit hex lines of prog.hex, least significant part first. */
function programHex(words: readonly bigint[]): string {
  return words.flatMap((w) => [0, 1, 2, 3].map((k) => ((w >> BigInt(32 * k)) & 0xffffffffn).toString(16).padStart(8, '0'))).join('\n') + '\n';
}

function imageHex(bytes: Uint8Array, words: number): string {
  const lines: string[] = [];
  for (let i = 0; i < words; i++) {
    const v = (bytes[4 * i] ?? 0) | ((bytes[4 * i + 1] ?? 0) << 8) | ((bytes[4 * i + 2] ?? 0) << 16) | ((bytes[4 * i + 3] ?? 0) * 2 ** 24);
    lines.push((v >>> 0).toString(16).padStart(8, '0'));
  }
  return lines.join('\n') + '\n';
}

/** Runs one program on several MEM images (one simulator process); results in image order. */
export async function runAccel(build: AccelBuild, program: readonly bigint[], images: readonly Uint8Array[], options: AccelRunOptions = {}): Promise<AccelRunResult[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-run-'));
  try {
    const memWords = Math.ceil(Math.max(...images.map((i) => i.length)) / 4);
    if (memWords * 4 > build.config.memBytes) throw checkFailed(`a MEM image of ${memWords * 4} bytes exceeds MEM (${build.config.memBytes})`);
    if (program.length > build.config.imemWords) throw checkFailed(`a program of ${program.length} instructions exceeds the program memory (${build.config.imemWords})`);
    writeFileSync(path.join(dir, 'prog.hex'), programHex(program));
    images.forEach((img, r) => writeFileSync(path.join(dir, `mem${r}.hex`), imageHex(img, memWords)));
    const stream = options.stream;
    if (stream !== undefined && images.length !== 1) throw new Error('internal: stream mode takes one base image');
    stream?.frames.forEach((f, r) => writeFileSync(path.join(dir, `pix${r}.hex`), f.map((v) => v.toString(16)).join('\n') + '\n'));
    const regs = stream?.registers;
    const streamArgs = regs === undefined ? [] : [
      '+stream=1', `+gaps=${stream?.gaps === true ? 1 : 0}`, `+in_addr=${regs.inAddr}`, `+in_width=${regs.inWidth}`, `+in_height=${regs.inHeight}`, `+in_blocks=${regs.inBlocks}`,
      `+out_addr=${regs.outAddr}`, `+out_words=${regs.outWords}`, `+class_addr=${regs.classAddr}`, `+out_class=${regs.outClass}`,
    ];
    const dumpWords = Math.ceil((options.dumpBytes ?? 0) / 4);
    const args = [
      `+dir=${dir}`,
      `+prog_words=${program.length * 4}`,
      `+mem_words=${memWords}`,
      `+runs=${stream === undefined ? images.length : stream.frames.length}`,
      ...streamArgs,
      `+dump_addr=${options.dumpAddr ?? 0}`,
      `+dump_words=${dumpWords}`,
      `+max_cycles=${options.maxCycles ?? 5_000_000}`,
      `+events=${options.events === true ? 1 : 0}`,
      ...(options.plusargs ?? []),
    ];
    if (build.config.memory === 'axi') {
      const mm = options.memory ?? FAST_MEMORY;
      if (mm.base % build.config.memPortBytes !== 0) throw checkFailed(`memory model base ${mm.base}: a multiple of the beat (${build.config.memPortBytes} bytes)`);
      if (mm.base < 0 || mm.base + build.config.memBytes > 2 ** 31) throw checkFailed(`memory model base ${mm.base}: MEM must lie below 2^31 (the testbench's plusargs are 32-bit integers)`);
      args.push(...memoryModelArgs(mm, 'seed'));
    }
    const limit = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    const r = build.simulator === 'verilator' ? await runTool(path.join(build.dir, 'Vtb'), args, { cwd: dir, ...limit }) : await runTool('vvp', ['-n', path.join(build.dir, 'tb.vvp'), ...args], { cwd: dir, ...limit });
    if (r.exitCode !== 0) throw checkFailed(`${build.simulator} run failed (exit ${r.exitCode}): ${(r.stderr + r.stdout).trim().slice(-800)}`);
    const lines = readFileSync(path.join(dir, 'result.txt'), 'utf8').split('\n').filter((l) => l !== '');
    checkAxiRun(build.simulator, lines, r.stdout);
    const events = new Map<number, UnitEvent[]>();
    if (options.events === true) {
      for (const line of readFileSync(path.join(dir, 'events.txt'), 'utf8').split('\n')) {
        const m = /^(\d+) (\d+) (ld|ex|st) (start|end) (\d+)$/.exec(line.trim());
        if (m === null) continue;
        const list = events.get(Number(m[1])) ?? [];
        list.push({ cycle: Number(m[2]), unit: m[3] as UnitEvent['unit'], kind: m[4] as UnitEvent['kind'], pc: Number(m[5]) });
        events.set(Number(m[1]), list);
      }
    }
    const results: AccelRunResult[] = [];
    let i = 0;
    while (i < lines.length) {
      const m = /^run (\d+) done (\d) error (\d) pc (\d+) cause (\d+) cycles (\d+)$/.exec(lines[i]!);
      if (m === null) throw checkFailed(`accelerator testbench: unexpected line '${lines[i]}'`);
      i++;
      let counters: UnitCounters | undefined;
      const cm = /^counters (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/.exec(lines[i] ?? '');
      if (cm !== null) {
        const v = cm.slice(1).map(Number);
        counters = { ldBusy: v[0]!, ldStall: v[1]!, exBusy: v[2]!, exStall: v[3]!, stBusy: v[4]!, stStall: v[5]! };
        i++;
      }
      let beats: AccelRunResult['beats'];
      let frameError: boolean | undefined;
      const b = /^beats (\d+) frame_error (\d)$/.exec(lines[i] ?? '');
      if (b !== null) {
        i++;
        frameError = b[2] === '1';
        beats = lines.slice(i, i + Number(b[1])).map((l) => {
          const [data, user, last] = l.split(' ');
          return { data: Number.parseInt(data ?? 'x', 16) | 0, user: user === '1', last: last === '1' };
        });
        i += Number(b[1]);
      }
      const dump = new Uint8Array(dumpWords * 4);
      for (let w = 0; w < dumpWords; w++, i++) {
        const v = Number.parseInt(lines[i] ?? 'x', 16);
        for (let b = 0; b < 4; b++) dump[4 * w + b] = Number.isNaN(v) ? 0 : (v >>> (8 * b)) & 0xff;
      }
      let status: AccelRunResult['status'] = m[2] === '1' ? 'done' : m[3] === '1' ? 'error' : 'timeout';
      if (lines[i] === 'timeout') {
        status = 'timeout';
        i++;
      }
      results.push({ status, errorPc: Number(m[4]), errorCause: Number(m[5]), cycles: Number(m[6]), dump, events: events.get(Number(m[1])) ?? [], ...(counters === undefined ? {} : { counters }), ...(beats === undefined ? {} : { beats, frameError: frameError === true }) });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
