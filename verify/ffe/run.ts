/**
 * One simulation run of a built testbench: frames streamed back to back from stim.hex, every output beat
 * and every tap beat read back, with the cycles at which frames started on each side.
 */
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkFailed } from '../../generator/common/errors.js';
import { partOf, type Manifest } from '../../generator/design/manifest.js';
import type { Stream } from '../../generator/contract/stream.js';
import { runToolMeasured } from '../sim/index.js';
import { runFolder, type BeatFiles, type FfeBuild } from './build.js';
import { packFramesHex, type BeatBytes, type ReadBuffers } from './beat-files.js';
import type { Spawner } from './spawner.js';

export interface Stalls {
  /** Chance (0..255 out of 256) per cycle that the testbench holds s_tvalid low / m_tready low. */
  readonly input: number;
  readonly output: number;
  readonly seed: number;
}

export interface RunOptions {
  readonly stalls?: Stalls;
  /** Copy the waveform (trace.vcd) here; the build must have been made with trace: true. */
  readonly traceFile?: string;
  /** The testbench's cycle limit (+max_cycles); default: generous for the frames and stalls (maxCyclesOf). */
  readonly maxCycles?: number;
  /** Further plusargs for the simulation (e.g. for a waveform dumper built beside the testbench). */
  readonly plusargs?: readonly string[];
  /** Read the beat files into buffers lent from here (give them back with release(beatFilesOf(result)) once checked). */
  readonly buffers?: ReadBuffers;
  /** Start the simulator through this shell instead of forking this process (verify/ffe/spawner.ts). */
  readonly spawner?: Spawner;
}

export interface RunResult {
  /** Output beats: data, tuser and tlast (the file's bytes, decoded by the checker where needed). */
  readonly out: BeatBytes;
  /** Per fixed layer, its tap beats (none for a layer without a tap). */
  readonly taps: readonly BeatBytes[];
  /** Cycles at which each frame's first input beat / first output beat was accepted. */
  readonly inputStarts: readonly number[];
  readonly outputStarts: readonly number[];
  /** The cycle at which every output beat and every tap's beats had been seen; null when the testbench gave up. */
  readonly endCycle: number | null;
  /** The cycle at which the testbench gave up (its +max_cycles limit); null when it ended normally. */
  readonly gaveUpCycle: number | null;
  /** The +max_cycles limit of the run. */
  readonly maxCycles: number;
  /** Wall seconds of the simulator process alone (start to exit). */
  readonly simulatorSeconds: number;
  /** Its CPU seconds (null where GNU time is not installed): on a busy machine the wall time says little. */
  readonly simulatorCpuSeconds: number | null;
}

export async function runFrames(build: FfeBuild, manifest: Manifest, inputs: readonly Int32Array[], options: RunOptions = {}): Promise<RunResult> {
  const dir = runFolder();
  try {
    writeFileSync(path.join(dir, 'stim.hex'), packFramesHex(inputs, manifest.top.input));
    const args = plusargs(manifest, inputs.length, options);
    const start = performance.now();
    const [tool, toolArgs] = build.simulator === 'verilator' ? [build.product, args] : ['vvp', ['-n', build.product, ...args]];
    const r = options.spawner !== undefined ? await options.spawner.run(tool, toolArgs, dir) : await runToolMeasured(tool, toolArgs, { cwd: dir });
    const simulatorSeconds = (performance.now() - start) / 1000;
    if (r.exitCode !== 0) throw checkFailed(`${build.simulator} run failed (exit ${r.exitCode}): ${(r.stderr + r.stdout).trim().slice(-1000)}`);
    if (options.traceFile !== undefined) copyTrace(dir, options.traceFile);
    const read = (file: string): Uint8Array => options.buffers?.read(file) ?? (existsSync(file) ? readFileSync(file) : new Uint8Array(0));
    return { ...readResults(dir, build.beats, manifest.top.output, partOf(manifest, 'ffe').layers.map((l) => l.out), maxCyclesOf(manifest, inputs.length, options), read), simulatorSeconds, simulatorCpuSeconds: r.cpuSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The testbench's cycle limit. Generous: even with heavy stalls a correct design finishes long before
 * this (its last tap beats, the frame tails flushed after the input went idle, included); a hung one does not.
 */
function maxCyclesOf(manifest: Manifest, frames: number, options: RunOptions): number {
  if (options.maxCycles !== undefined) return options.maxCycles;
  const pixels = manifest.top.input.height * manifest.top.input.width;
  const stalls = options.stalls ?? { input: 0, output: 0, seed: 1 };
  const slowdown = 256 / Math.max(1, 256 - Math.max(stalls.input, stalls.output));
  return Math.ceil(((frames + 2) * pixels * 2 + manifest.top.latencyCycles * 4 + 1000) * slowdown * 2);
}

function plusargs(manifest: Manifest, frames: number, options: RunOptions): string[] {
  const stalls = options.stalls ?? { input: 0, output: 0, seed: 1 };
  return [
    `+frames=${frames}`, `+max_cycles=${maxCyclesOf(manifest, frames, options)}`,
    `+stall_in=${stalls.input}`, `+stall_out=${stalls.output}`, `+seed=${stalls.seed}`,
    ...(options.traceFile !== undefined ? ['+trace'] : []),
    ...(options.plusargs ?? []),
  ];
}

function copyTrace(dir: string, target: string): void {
  const trace = path.join(dir, 'trace.vcd');
  if (!existsSync(trace)) throw checkFailed('the simulator wrote no trace.vcd (was the build made with tracing?)');
  copyFileSync(trace, target);
}

function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

/** A beat file of the run (`name` without its extension); a file the testbench never opened holds no beats. */
function beatsOf(dir: string, name: string, beats: BeatFiles, format: Stream, read: (file: string) => Uint8Array, withFlags = false): BeatBytes {
  return { bytes: read(path.join(dir, `${name}.${beats === 'binary' ? 'bin' : 'hex'}`)), kind: beats, format, withFlags };
}

/** The bytes of a run's beat files (to give its read buffers back). */
export function beatFilesOf(result: RunResult): Uint8Array[] {
  return [result.out.bytes, ...result.taps.map((t) => t.bytes)];
}

function readResults(dir: string, beats: BeatFiles, output: Stream, layers: readonly Stream[], maxCycles: number, read: (file: string) => Uint8Array): Omit<RunResult, 'simulatorSeconds' | 'simulatorCpuSeconds'> {
  const out = beatsOf(dir, 'out', beats, output, read, true);
  const taps = layers.map((format, k) => beatsOf(dir, `tap${k}`, beats, format, read));
  const timing = lines(path.join(dir, 'timing.txt')).map((l) => l.trim().split(/\s+/));
  const cyclesOf = (tag: string): number[] => timing.filter(([t]) => t === tag).map(([, c]) => Number(c));
  const end = cyclesOf('e');
  const gaveUp = cyclesOf('t');
  return {
    out, taps, inputStarts: cyclesOf('i'), outputStarts: cyclesOf('o'),
    endCycle: end.length > 0 ? (end[0] as number) : null, gaveUpCycle: gaveUp.length > 0 ? (gaveUp[0] as number) : null, maxCycles,
  };
}
