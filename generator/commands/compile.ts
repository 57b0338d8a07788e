/**
 * `fixynn compile model.onnx --accel RxC --out PROG [--calib PATH] [--weight-bits N] [--act-bits N]
 * [--json]`: a program for the RxC accelerator that `fixynn generate --fixed-layers 0 --accel RxC` builds
 * (generator/design/accel-part.ts: the same chip), written atomically: program.bin, mem.bin, program.json,
 * program.s and the model's integer model (what `fixynn verify DIR --program PROG` checks against).
 * `--chip DIR` (a program for a chip's frozen front end) comes with issue 13.
 */
import type { Command } from 'commander';
import { replayCycles, summarizeProgram } from '../accel/index.js';
import { badInput } from '../common/errors.js';
import { accelChipConfig, accelShape, compileForChip, programFiles } from '../design/accel-part.js';
import { loadAndQuantize } from '../design/generate-design.js';
import { writeFolderAtomically } from '../design/output-dir.js';
import { serializeQuantizedGraph } from '../quant/serialize.js';
import { PROGRAM_INTEGER_MODEL } from '../../verify/accel/verify-design.js';
import { optionalInt } from './options.js';

interface CompileCliOptions {
  readonly accel?: string;
  readonly out?: string;
  readonly calib?: string;
  readonly weightBits?: string;
  readonly actBits?: string;
  readonly json?: boolean;
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile a model into a program and memory images for the programmable accelerator')
    .argument('<model>', 'the ONNX model (float, or QDQ with its own quantization)')
    .option('--accel <RxC>', 'the accelerator configuration: its MAC array, e.g. 8x8 or 16x16 (as fixynn generate --accel)')
    .option('--out <dir>', 'the program folder to write')
    .option('--calib <path>', 'calibration inputs for a float model (default for a [1,28,28] model: MNIST training digits)')
    .option('--weight-bits <n>', 'weight width for a float model, 2..16 (default 8)')
    .option('--act-bits <n>', 'activation width for a float model, 2..16 (default 8)')
    .option('--json', 'print the per-layer figures as JSON')
    .action(async (model: string, options: CompileCliOptions) => {
      await runCompile(model, options);
    });
}

export async function runCompile(modelPath: string, cli: CompileCliOptions): Promise<void> {
  if (cli.accel === undefined) throw badInput('--accel RxC is required (the accelerator configuration; --chip DIR comes with issue 13)');
  if (cli.out === undefined || cli.out.trim() === '') throw badInput('--out is required (the program folder to write)');
  const shape = accelShape(cli.accel);
  const weightBits = optionalInt(cli.weightBits, '--weight-bits', 2, 16);
  const actBits = optionalInt(cli.actBits, '--act-bits', 2, 16);
  const progress = (message: string): void => { if (!cli.json) process.stderr.write(`${message}\n`); };
  const { quantized } = await loadAndQuantize(modelPath, {
    fixedLayers: '0', onProgress: progress,
    ...(cli.calib !== undefined ? { calib: cli.calib } : {}),
    ...(weightBits !== undefined ? { weightBits } : {}),
    ...(actBits !== undefined ? { actBits } : {}),
  });
  const chip = accelChipConfig(quantized, shape.rows, shape.cols, 0);
  const compiled = compileForChip(quantized, chip, 0);
  const files = programFiles(compiled);
  files.set(PROGRAM_INTEGER_MODEL, `${serializeQuantizedGraph(quantized)}\n`);
  writeFolderAtomically(cli.out, files, 'program.json');
  const summary = summarizeProgram(compiled, replayCycles(compiled.config, compiled.program, compiled.layout.layers));
  if (cli.json) {
    process.stdout.write(`${JSON.stringify({ out: cli.out, array: shape, ...summary }, null, 2)}\n`);
    return;
  }
  process.stdout.write([
    `wrote ${cli.out}: ${summary.instructions} instructions for the ${shape.rows}x${shape.cols} accelerator, MEM image ${summary.memBytes} bytes`,
    `predicted ${summary.predictedCycles} cycles per frame, ${summary.macs} MACs, utilization ${(100 * summary.utilization).toFixed(1)}%`,
    ...summary.layers.map((l) => `  layer ${l.index} ${l.name} (${l.kind}): ${l.predictedCycles} cycles, ${l.macs} MACs, ${(100 * l.utilization).toFixed(1)}%`),
  ].join('\n') + '\n');
}
