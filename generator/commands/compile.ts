/**
 * `fixynn compile model.onnx --accel RxC --out PROG [--calib PATH] [--calib-count N] [--calib-method M]
 * [--bias-correction M] [--scale X --mean L --std L] [--weight-bits N] [--act-bits N] [--requant-bits N]
 * [--json]` (the quantization flags of generate, generator/commands/input-flags.ts): a program for the RxC accelerator that `fixynn generate --fixed-layers 0 --accel RxC` builds
 * (generator/design/accel-part.ts: the same chip), written atomically: program.bin, mem.bin, program.json,
 * program.s, the model's integer model (what `fixynn verify DIR --program PROG` checks against) and
 * quantization.json (the flags and the preprocessing verify reads its images with).
 *
 * `fixynn compile other.onnx --chip DIR --out PROG [--calib PATH] [--calib-count N] [--calib-method M]
 * [--bias-correction M] [--json]`: a program for an existing chip (the calibration flags and their
 * defaults as for generate; widths and preprocessing are the chip's and refused) (generator/design/compile-for-chip.ts): the front end's quantization from the chip's manifest, only
 * the layers after the split calibrated; a model with another front end, or a back end needing more than
 * the chip's accelerator has, is refused naming the layer.
 */
import type { Command } from 'commander';
import { compileForChipDesign } from '../design/compile-for-chip.js';
import { type CompiledProgram, referenceFigures, replayCycles, summarizeProgram } from '../accel/index.js';
import { badInput } from '../common/errors.js';
import { accelChipConfig, accelShape, compileForChip, programFiles } from '../design/accel-part.js';
import { loadAndQuantize } from '../design/generate-design.js';
import { writeFolderAtomically } from '../design/output-dir.js';
import { serializeQuantizedGraph } from '../quant/serialize.js';
import { PROGRAM_INTEGER_MODEL, PROGRAM_QUANTIZATION } from '../../verify/accel/verify-design.js';
import { quantizationRecord } from '../design/generate-accel-design.js';
import { addCalibrationOptions, addPreprocessingOptions, parseCalibration, parseQuantizeFlags, type CalibrationFlags, type PreprocessingFlags } from './input-flags.js';

interface CompileCliOptions extends PreprocessingFlags, CalibrationFlags {
  readonly accel?: string;
  readonly chip?: string;
  readonly out?: string;
  readonly weightBits?: string;
  readonly actBits?: string;
  readonly requantBits?: string;
  readonly json?: boolean;
}

export function registerCompile(program: Command): void {
  const command = program
    .command('compile')
    .description('compile a model into a program and memory images for the programmable accelerator')
    .argument('<model>', 'the ONNX model (float, or QDQ with its own quantization)')
    .option('--accel <RxC>', 'the accelerator configuration: its MAC array, e.g. 8x8 or 16x16 (as fixynn generate --accel)')
    .option('--chip <dir>', 'a generated chip or accelerator design: compile for its accelerator, its fixed part\'s quantization as built (instead of --accel)')
    .option('--out <dir>', 'the program folder to write')
    .option('--weight-bits <n>', 'weight width for a float model, 2..16 (default 8)')
    .option('--act-bits <n>', 'activation width for a float model, 2..16 (default 8)')
    .option('--requant-bits <n>', 'force the width of every requantization multiplier M, 8..32 (as fixynn generate)')
    .option('--json', 'print the per-layer figures as JSON');
  addCalibrationOptions(command);
  addPreprocessingOptions(command);
  command.action(async (model: string, options: CompileCliOptions) => {
    await runCompile(model, options);
  });
}

export async function runCompile(modelPath: string, cli: CompileCliOptions): Promise<void> {
  if (cli.accel !== undefined && cli.chip !== undefined) throw badInput('--accel and --chip: give one (--chip DIR compiles for that design\'s accelerator)');
  if (cli.accel === undefined && cli.chip === undefined) throw badInput('--accel RxC or --chip DIR is required (the accelerator configuration, or a generated design to compile for)');
  if (cli.out === undefined || cli.out.trim() === '') throw badInput('--out is required (the program folder to write)');
  if (cli.chip !== undefined) {
    await runCompileForChip(modelPath, cli.chip, cli.out, cli);
    return;
  }
  if (cli.accel === undefined) return;
  const shape = accelShape(cli.accel);
  const flags = parseQuantizeFlags(cli);
  const progress = (message: string): void => { if (!cli.json) process.stderr.write(`${message}\n`); };
  const { quantized, calibration, preprocess } = await loadAndQuantize(modelPath, { fixedLayers: '0', onProgress: progress, ...flags });
  const chip = accelChipConfig(quantized, shape.rows, shape.cols, 0);
  const compiled = compileForChip(quantized, chip, 0);
  const files = programFiles(compiled);
  files.set(PROGRAM_INTEGER_MODEL, `${serializeQuantizedGraph(quantized)}\n`);
  files.set(PROGRAM_QUANTIZATION, `${JSON.stringify(quantizationRecord(flags, calibration, preprocess), null, 2)}\n`);
  writeFolderAtomically(cli.out, files, 'program.json');
  printProgram(compiled, cli.out, shape, cli.json === true);
}

async function runCompileForChip(modelPath: string, chip: string, out: string, cli: CompileCliOptions): Promise<void> {
  for (const [flag, value] of [['--weight-bits', cli.weightBits], ['--act-bits', cli.actBits], ['--requant-bits', cli.requantBits], ['--wide-acts', cli.wideActs]] as const) {
    if (value !== undefined) throw badInput(`${flag} with --chip: the chip's widths apply (its manifest)`);
  }
  for (const [flag, value] of [['--scale', cli.scale], ['--mean', cli.mean], ['--std', cli.std]] as const) {
    if (value !== undefined) throw badInput(`${flag} with --chip: the chip's input quantization is silicon, so its recorded preprocessing applies (its manifest)`);
  }
  const calibration = parseCalibration(cli);
  const progress = (message: string): void => { if (!cli.json) process.stderr.write(`${message}\n`); };
  const result = await compileForChipDesign(modelPath, chip, {
    ...(calibration.calib !== undefined ? { calib: calibration.calib } : {}),
    ...(calibration.count !== undefined ? { calibCount: calibration.count } : {}),
    ...(calibration.method !== undefined ? { calibMethod: calibration.method } : {}),
    ...(calibration.biasCorrection !== undefined ? { biasCorrection: calibration.biasCorrection } : {}),
    onProgress: progress,
  });
  const files = programFiles(result.compiled);
  files.set(PROGRAM_INTEGER_MODEL, `${serializeQuantizedGraph(result.quantized)}\n`);
  writeFolderAtomically(out, files, 'program.json');
  if (!cli.json) process.stdout.write(`layers 0..${result.k - 1}: the chip's fixed part (quantization from ${chip}/manifest.json); layers ${result.k}..${result.quantized.layers.length - 1} on its accelerator\n`);
  printProgram(result.compiled, out, result.accel.array, cli.json === true);
}

function printProgram(compiled: CompiledProgram, out: string, shape: { rows: number; cols: number }, json: boolean): void {
  const summary = summarizeProgram(compiled, replayCycles(compiled.config, compiled.program, compiled.layout.layers));
  const cli = { out, json };
  if (cli.json) {
    process.stdout.write(`${JSON.stringify({ out: cli.out, array: shape, ...summary, referenceMemory: referenceFigures(compiled) }, null, 2)}\n`);
    return;
  }
  process.stdout.write([
    `wrote ${cli.out}: ${summary.instructions} instructions for the ${shape.rows}x${shape.cols} accelerator, MEM image ${summary.memBytes} bytes`,
    `predicted ${summary.predictedCycles} cycles per frame, ${summary.macs} MACs, utilization ${(100 * summary.utilization).toFixed(1)}%`,
    `memory traffic ${summary.bytes.load} bytes loaded, ${summary.bytes.store} stored${summary.bandRows ? ` (tiled: ${summary.bandRows} ACT rows of band slots)` : ''}`,
    ...summary.layers.map((l) => `  layer ${l.index} ${l.name} (${l.kind}): ${l.predictedCycles} cycles, ${l.macs} MACs, ${(100 * l.utilization).toFixed(1)}%, ${l.bytes.load + l.bytes.store} bytes moved`),
  ].join('\n') + '\n');
}
