/**
 * `fixynn verify DIR [--sim verilator|icarus] [--images N] [--data PATH] [--trace FILE] [--stalls]
 * [--json]`: streams images back to back through a generated design's RTL and compares every layer's
 * tap with the integer model (verify/ffe). Exit 1 on any mismatch.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { badInput, checkFailed } from '../common/errors.js';
import { checkOutputFile } from '../common/output-path.js';
import { addPreprocessingOptions, parsePreprocessing, type PreprocessingFlags } from './input-flags.js';
import { describeMismatch, formatSummary, verifyDesign, type Stalls, type VerifySummary } from '../../verify/ffe/index.js';
import type { SimulatorName } from '../../verify/sim/index.js';
import { optionalInt } from './options.js';
import { readDesign } from '../design/read-design.js';
import { runVerifyAccel } from './verify-accel.js';
import { runVerifyChip, STALL_CHANCE } from './verify-chip.js';
import { writeVerifyRecord } from '../../verify/record.js';

export interface VerifyCliOptions extends PreprocessingFlags {
  readonly sim?: string;
  readonly images?: string;
  readonly data?: string;
  readonly trace?: string;
  readonly stalls?: boolean;
  readonly seed?: string;
  readonly json?: boolean;
  /** A program folder from `fixynn compile` (accelerator designs). */
  readonly program?: string;
  /** A .npy of class labels (chips: top-1 of the chip's classes). */
  readonly labels?: string;
  readonly jobs?: string;
}

export const DEFAULT_VERIFY_IMAGES = 10;

export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .description('simulate a generated design on images and compare every layer with the bit-exact integer model')
    .argument('<dir>', 'a design folder written by fixynn generate')
    .option('--sim <simulator>', 'verilator or icarus (default verilator)')
    .option('--images <n>', `images to stream back to back (default ${DEFAULT_VERIFY_IMAGES})`)
    .option('--data <path>', 'inputs: images folder, .npy [N,C,H,W], or "random" (default: the bundled MNIST test digits where the input fits)')
    .option('--trace <file>', 'write a VCD waveform of the first run to this file (chips: of the whole run)')
    .option('--stalls', 'random stalls on s_tvalid and m_tready (seeded): outputs must still be bit-exact (chips: the frame period is then not compared)')
    .option('--seed <n>', 'seed of --stalls (default 1)')
    .option('--program <dir>', 'accelerator designs and chips: run this program folder (fixynn compile --out) instead of the design\'s own')
    .option('--labels <path>', 'chips: a .npy of integer class labels, one per input (top-1 of the chip\'s classes)')
    .option('--jobs <n>', 'simulator processes at once, the images sharded over them (default: $FIXYNN_VERIFY_JOBS or one per core)')
    .option('--json', 'print the summary as JSON');
  addPreprocessingOptions(command, 'default: as recorded by generate in manifest.json');
  command.action(async (dir: string, options: VerifyCliOptions) => {
    // Output paths are checked before anything is read or simulated (whatever the design's parts).
    if (options.trace !== undefined) checkOutputFile(options.trace, '--trace');
    const parts = readDesign(dir).manifest.parts.map((p) => p.kind);
    if (parts.includes('accel') && options.jobs !== undefined) throw badInput('--jobs: applies to a design that is a fixed part alone (its images sharded over simulator processes); accelerator designs and chips run one simulation');
    if (parts.includes('accel') && parts.includes('ffe')) await runVerifyChip(dir, options, DEFAULT_VERIFY_IMAGES);
    else if (parts.includes('accel')) await runVerifyAccel(dir, options, DEFAULT_VERIFY_IMAGES);
    else await runVerify(dir, options);
  });
}

export async function runVerify(dir: string, cli: VerifyCliOptions): Promise<VerifySummary> {
  if (cli.program !== undefined) throw badInput('--program: this design has no accelerator part (generate one with --accel)');
  if (cli.labels !== undefined) throw badInput('--labels: applies to chips (a design with --accel); use fixynn eval for a model\'s accuracy');
  const simulator = cli.sim ?? 'verilator';
  if (simulator !== 'verilator' && simulator !== 'icarus') throw badInput(`--sim ${simulator}: supported simulators are verilator, icarus`);
  const images = optionalInt(cli.images, '--images', 1, 1_000_000) ?? DEFAULT_VERIFY_IMAGES;
  const seed = optionalInt(cli.seed, '--seed', 0, 2 ** 31 - 1) ?? 1;
  const jobs = optionalInt(cli.jobs, '--jobs', 1, 256);
  if (cli.trace !== undefined) checkOutputFile(cli.trace, '--trace');
  const stalls: Stalls | undefined = cli.stalls ? { input: STALL_CHANCE, output: STALL_CHANCE, seed } : undefined;
  const summary = await verifyDesign(dir, {
    simulator: simulator as SimulatorName,
    images,
    ...(cli.data !== undefined ? { data: cli.data } : {}),
    ...(cli.trace !== undefined ? { traceFile: cli.trace } : {}),
    ...(stalls ? { stalls } : {}),
    ...(jobs !== undefined ? { jobs } : {}),
    preprocess: parsePreprocessing(cli),
    onProgress: (message) => process.stderr.write(`${message}\n`),
  });
  if (cli.trace !== undefined) process.stderr.write(`wrote the VCD waveform of the first run to ${path.resolve(cli.trace)}\n`);
  process.stdout.write(cli.json ? `${JSON.stringify(summaryJson(summary), null, 2)}\n` : formatSummary(summary));
  writeVerifyRecord(dir, {
    kind: 'fixed part', passed: summary.mismatches === 0, images: summary.images, data: summary.dataSource,
    rungs: [{ check: 'every layer\'s tap and the output stream: RTL vs the integer model', simulator: summary.simulatorVersion, mismatches: summary.mismatches, first: summary.firstMismatch ? describeMismatch(summary.firstMismatch) : null }],
    cycles: summary.cyclesPerFrame === null ? null : { predicted: summary.idealCyclesPerFrame, measured: summary.cyclesPerFrame }, accuracy: null, fault: null,
  });
  if (summary.mismatches > 0) throw checkFailed(`RTL differs from the integer model: ${summary.firstMismatch ? describeMismatch(summary.firstMismatch) : `${summary.mismatches} mismatches`}`);
  return summary;
}

function summaryJson(s: VerifySummary): Record<string, unknown> {
  return {
    images: s.images, mismatches: s.mismatches, cyclesPerFrame: s.cyclesPerFrame, idealCyclesPerFrame: s.idealCyclesPerFrame,
    latency: s.latency, simulator: s.simulator, simulatorVersion: s.simulatorVersion,
    mismatchedImages: s.mismatchedImages, firstMismatch: s.firstMismatch === null ? null : { ...s.firstMismatch, text: describeMismatch(s.firstMismatch) },
    inputCyclesPerFrame: s.inputCyclesPerFrame, latencyPredicted: s.latencyPredicted, data: s.dataSource, randomData: s.randomData, stalls: s.stalls, design: s.design,
    buildSeconds: s.buildSeconds, buildPeakMemoryKb: s.buildPeakMemoryKb, buildCpuSeconds: s.buildCpuSeconds, simulationSeconds: s.simulationSeconds,
    imagesPerSecond: s.images / s.simulationSeconds, jobs: s.jobs, simulatorSeconds: s.simulatorSeconds, simulatedCycles: s.simulatedCycles,
    simulatorCpuSeconds: s.simulatorCpuSeconds, verifierCpuSeconds: s.verifierCpuSeconds,
  };
}
