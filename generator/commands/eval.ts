/**
 * `fixynn eval model.onnx [--data PATH] [--labels PATH] [--calib PATH] [--weight-bits N] [--act-bits N]
 * [--count N] [--json]`: ONNX Runtime (float, every layer's output exposed) and the integer model on the
 * same inputs; per layer SQNR, absolute differences and LSB agreement; top-1 agreement; accuracy of both
 * where labels exist. A measurement: it exits 0 whatever the figures (the tests hold the thresholds).
 */
import type { Command } from 'commander';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../quant/calibrate.js';
import { BIAS_CORRECTIONS, DEFAULT_CALIBRATION, quantizeModel, type BiasCorrection } from '../calibrate/quantize-model.js';
import { badInput } from '../common/errors.js';
import { calibrationInputs, loadInputs, parseNumberList, type LoadInputsOptions } from '../data/index.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { formatReportText, reportJson } from '../../verify/eval/format-report.js';
import { importDecoded } from '../import/index.js';
import { readOnnxFile } from '../onnx/decode.js';

export interface EvalCliOptions {
  readonly data?: string;
  readonly labels?: string;
  readonly calib?: string;
  readonly calibCount?: string;
  readonly calibMethod?: string;
  readonly biasCorrection?: string;
  readonly weightBits?: string;
  readonly actBits?: string;
  readonly requantBits?: string;
  readonly count?: string;
  readonly scale?: string;
  readonly mean?: string;
  readonly std?: string;
  readonly seed?: string;
  readonly json?: boolean;
  readonly isolated?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('compare the bit-exact integer model with ONNX Runtime, layer by layer (SQNR, differences, top-1, accuracy)')
    .argument('<model>', 'the ONNX model (float, or QDQ with its own quantization)')
    .option('--data <path>', 'inputs: a folder of PNG/JPEG images (class subfolders give labels), a .npy [N,C,H,W], or "random" (default: the bundled MNIST test digits)')
    .option('--labels <path>', 'a .npy of integer class labels, one per input')
    .option('--calib <path>', 'calibration inputs for a float model (same forms as --data; default for a [1,28,28] model: MNIST training digits)')
    .option('--calib-count <n>', 'use at most this many calibration inputs')
    .option('--calib-method <m>', `activation range choice: ${CALIBRATION_METHODS.join(', ')} (default ${DEFAULT_CALIBRATION})`)
    .option('--bias-correction <m>', `bias correction of a float model: ${BIAS_CORRECTIONS.join(', ')} (default empirical)`)
    .option('--weight-bits <n>', 'weight width for a float model, 2..16 (default 8)')
    .option('--act-bits <n>', 'activation width for a float model, 2..16 (default 8)')
    .option('--requant-bits <n>', 'force the width of every requantization multiplier M, 8..32 (default: per channel, the fewest bits reproducing ONNX Runtime for a QDQ model; 16 for a float model)')
    .option('--count <n>', 'use at most this many inputs')
    .option('--scale <x>', 'pixel scale for 8-bit images (default 1/255)')
    .option('--mean <list>', 'per-channel mean subtracted after scaling (default 0)')
    .option('--std <list>', 'per-channel std divided by after the mean (default 1)')
    .option('--seed <n>', 'seed of --data random (default 1)')
    .option('--isolated', "also run each layer alone on ONNX Runtime's input to it (per-layer arithmetic without propagated differences)")
    .option('--json', 'print the report as JSON')
    .action(async (model: string, options: EvalCliOptions) => {
      await runEval(model, options);
    });
}

export async function runEval(modelPath: string, options: EvalCliOptions): Promise<void> {
  const onnx = readOnnxFile(modelPath);
  const graph = importDecoded(onnx);
  const pixelOptions = pixelFlags(options);
  const count = optionalInt(options.count, '--count', 1);
  const data = loadInputs(options.data, graph.input.shape, {
    ...pixelOptions,
    ...(count !== undefined ? { count } : {}),
    ...(options.labels !== undefined ? { labels: options.labels } : {}),
    ...(options.seed !== undefined ? { seed: optionalInt(options.seed, '--seed', 0) ?? 1 } : {}),
  });
  const calibCount = optionalInt(options.calibCount, '--calib-count', 1);
  const calib = graph.quantized ? undefined : calibrationInputs(graph.source.file, graph.input.shape, options.calib, { ...pixelOptions, ...(calibCount !== undefined ? { count: calibCount } : {}) });
  const progress = progressPrinter(options.json === true);
  const weightBits = optionalInt(options.weightBits, '--weight-bits', 2);
  const actBits = optionalInt(options.actBits, '--act-bits', 2);
  const requantBits = optionalInt(options.requantBits, '--requant-bits', 0);
  const quantized = await quantizeModel(onnx, graph, {
    ...(calib ? { calibImages: calib.images } : {}),
    ...(weightBits !== undefined ? { weightBits } : {}),
    ...(actBits !== undefined ? { actBits } : {}),
    ...(requantBits !== undefined ? { requantBits } : {}),
    ...(options.calibMethod !== undefined ? { method: calibrationMethod(options.calibMethod) } : {}),
    ...(options.biasCorrection !== undefined ? { biasCorrection: biasCorrectionMode(options.biasCorrection) } : {}),
    onProgress: (done, total) => progress('calibrating', done, total),
  });
  const report = await evaluate({
    onnx, graph, quantized, images: data.images,
    ...(data.labels ? { labels: Array.from(data.labels) } : {}),
    ...(options.isolated ? { isolated: true } : {}),
    onProgress: (done, total) => progress('evaluating', done, total),
  });
  const ctx = {
    model: graph.source.file, data: data.source, random: data.random, quantized,
    calibration: calib?.source ?? (options.calib !== undefined ? 'the QDQ model (--calib not needed, ignored)' : 'the QDQ model'),
    softmaxOutside: graph.softmaxOutside,
  };
  process.stdout.write(options.json ? `${JSON.stringify(reportJson(report, ctx), null, 2)}\n` : formatReportText(report, ctx));
}


function pixelFlags(options: EvalCliOptions): LoadInputsOptions {
  const one = (text: string, flag: string): number => {
    const values = parseNumberList(text, flag);
    if (values.length !== 1) throw badInput(`${flag} ${text}: expected one number`);
    return values[0] as number;
  };
  return {
    ...(options.scale !== undefined ? { scale: one(options.scale, '--scale') } : {}),
    ...(options.mean !== undefined ? { mean: parseNumberList(options.mean, '--mean') } : {}),
    ...(options.std !== undefined ? { std: parseNumberList(options.std, '--std') } : {}),
  };
}

function optionalInt(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) throw badInput(`${flag} ${text}: expected an integer >= ${min}`);
  return value;
}

function biasCorrectionMode(text: string): BiasCorrection {
  if (!(BIAS_CORRECTIONS as readonly string[]).includes(text)) throw badInput(`--bias-correction ${text}: supported are ${BIAS_CORRECTIONS.join(', ')}`);
  return text as BiasCorrection;
}

function calibrationMethod(text: string): CalibrationMethod {
  if (!(CALIBRATION_METHODS as readonly string[]).includes(text)) throw badInput(`--calib-method ${text}: supported methods are ${CALIBRATION_METHODS.join(', ')}`);
  return text as CalibrationMethod;
}

/** Progress on stderr (so that --json output stays clean), at most every 10%. */
function progressPrinter(quiet: boolean): (what: string, done: number, total: number) => void {
  let lastShown = -1;
  return (what, done, total) => {
    if (quiet || total < 20 || !process.stderr.isTTY) return;
    const tenth = Math.floor((10 * done) / total);
    if (tenth !== lastShown) { lastShown = tenth; process.stderr.write(`\r${what}: ${done}/${total}${done === total ? '\n' : ''}`); }
  };
}
