/**
 * `fixynn eval model.onnx [--data PATH] [--labels PATH] [--calib PATH] [--weight-bits N] [--act-bits N]
 * [--count N] [--json]`: ONNX Runtime (float, every layer's output exposed) and the integer model on the
 * same inputs; per layer SQNR, absolute differences and LSB agreement; top-1 agreement; accuracy of both
 * where labels exist. A measurement: it exits 0 whatever the figures (the tests hold the thresholds).
 */
import type { Command } from 'commander';
import { quantizeModel } from '../calibrate/quantize-model.js';
import { badInput } from '../common/errors.js';
import { calibrationInputs, loadInputs } from '../data/index.js';
import { addCalibrationOptions, addPreprocessingOptions, parseCalibration, parsePreprocessing, type CalibrationFlags, type PreprocessingFlags } from './input-flags.js';
import { inputRangeWarning } from '../quant/input-range.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { formatReportText, reportJson } from '../../verify/eval/format-report.js';
import { importDecoded } from '../import/index.js';
import { readOnnxFile } from '../onnx/decode.js';

export interface EvalCliOptions extends PreprocessingFlags, CalibrationFlags {
  readonly data?: string;
  readonly labels?: string;
  readonly weightBits?: string;
  readonly actBits?: string;
  readonly requantBits?: string;
  readonly count?: string;
  readonly seed?: string;
  readonly json?: boolean;
  readonly isolated?: boolean;
}

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    .description('compare the bit-exact integer model with ONNX Runtime, layer by layer (SQNR, differences, top-1, accuracy)')
    .argument('<model>', 'the ONNX model (float, or QDQ with its own quantization)')
    .option('--data <path>', 'inputs: a folder of PNG/JPEG images (class subfolders give labels), a .npy [N,C,H,W], or "random" (default: the bundled MNIST test digits)')
    .option('--labels <path>', 'a .npy of integer class labels, one per input')
    .option('--weight-bits <n>', 'weight width for a float model, 2..16 (default 8)')
    .option('--act-bits <n>', 'activation width for a float model, 2..16 (default 8)')
    .option('--requant-bits <n>', 'force the width of every requantization multiplier M, 8..32 (default: per channel, the fewest bits reproducing ONNX Runtime for a QDQ model; 16 for a float model)')
    .option('--count <n>', 'use at most this many inputs')
    .option('--seed <n>', 'seed of --data random (default 1)')
    .option('--isolated', "also run each layer alone on ONNX Runtime's input to it (per-layer arithmetic without propagated differences)")
    .option('--json', 'print the report as JSON');
  addPreprocessingOptions(command);
  addCalibrationOptions(command);
  command.action(async (model: string, options: EvalCliOptions) => {
    await runEval(model, options);
  });
}

export async function runEval(modelPath: string, options: EvalCliOptions): Promise<void> {
  const onnx = readOnnxFile(modelPath);
  const graph = importDecoded(onnx);
  const pixelOptions = parsePreprocessing(options);
  const calibration = parseCalibration(options);
  const count = optionalInt(options.count, '--count', 1);
  const data = loadInputs(options.data, graph.input.shape, {
    ...pixelOptions,
    ...(count !== undefined ? { count } : {}),
    ...(options.labels !== undefined ? { labels: options.labels } : {}),
    ...(options.seed !== undefined ? { seed: optionalInt(options.seed, '--seed', 0) ?? 1 } : {}),
  });
  const calib = graph.quantized ? undefined : calibrationInputs(graph.source.file, graph.input.shape, calibration.calib, { ...pixelOptions, ...(calibration.count !== undefined ? { count: calibration.count } : {}) });
  const progress = progressPrinter(options.json === true);
  const weightBits = optionalInt(options.weightBits, '--weight-bits', 2);
  const actBits = optionalInt(options.actBits, '--act-bits', 2);
  const requantBits = optionalInt(options.requantBits, '--requant-bits', 0);
  const quantized = await quantizeModel(onnx, graph, {
    ...(calib ? { calibImages: calib.images } : {}),
    ...(weightBits !== undefined ? { weightBits } : {}),
    ...(actBits !== undefined ? { actBits } : {}),
    ...(calibration.wideActs !== undefined ? { wideActs: calibration.wideActs } : {}),
    ...(requantBits !== undefined ? { requantBits } : {}),
    ...(calibration.method !== undefined ? { method: calibration.method } : {}),
    ...(calibration.biasCorrection !== undefined ? { biasCorrection: calibration.biasCorrection } : {}),
    onProgress: (done, total) => progress('calibrating', done, total),
  });
  const warning = inputRangeWarning(quantized, data.images, data.source);
  if (warning !== undefined) process.stderr.write(`warning: ${warning}\n`);
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



function optionalInt(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) throw badInput(`${flag} ${text}: expected an integer >= ${min}`);
  return value;
}



/**
 * Progress on stderr (so that --json output stays clean), at most every 10%, on any count: on a terminal
 * one line rewritten in place, elsewhere (a log, CI) one line per step.
 */
function progressPrinter(quiet: boolean): (what: string, done: number, total: number) => void {
  let lastShown = -1;
  let lastWhat = '';
  return (what, done, total) => {
    if (quiet || total === 0) return;
    if (what !== lastWhat) { lastWhat = what; lastShown = -1; }
    const tenth = Math.floor((10 * done) / total);
    if (tenth === lastShown) return;
    lastShown = tenth;
    const tty = process.stderr.isTTY === true;
    process.stderr.write(tty ? `\r${what}: ${done}/${total}${done === total ? '\n' : ''}` : `${what}: ${done}/${total}\n`);
  };
}
