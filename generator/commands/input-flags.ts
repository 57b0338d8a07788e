/**
 * The flags of every command that reads images, defined and parsed here once: preprocessing
 * (--scale/--mean/--std, how 8-bit pixels become the model's input, docs/inputs.md) and calibration
 * (--calib, --calib-count, --calib-method, --bias-correction, --wide-acts). `eval`, `generate` and `verify` add the
 * sets they need with addPreprocessingOptions / addCalibrationOptions, so a new value (e.g. a new
 * calibration method in CALIBRATION_METHODS) reaches every command at once.
 */
import type { Command } from 'commander';
import { BIAS_CORRECTIONS, DEFAULT_CALIBRATION, type BiasCorrection } from '../calibrate/quantize-model.js';
import { badInput } from '../common/errors.js';
import { parseNumberList, type LoadInputsOptions } from '../data/index.js';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../quant/calibrate.js';
import { checkWideActsSyntax, DEFAULT_WIDE_BITS } from '../quant/wide-acts.js';
import { optionalInt } from './options.js';

export interface PreprocessingFlags {
  readonly scale?: string;
  readonly mean?: string;
  readonly std?: string;
}

export interface CalibrationFlags {
  readonly calib?: string;
  readonly calibCount?: string;
  readonly calibMethod?: string;
  readonly biasCorrection?: string;
  readonly wideActs?: string;
}

/** The preprocessing flags; `defaults` says where the defaults come from (verify: the manifest). */
export function addPreprocessingOptions(command: Command, defaults = 'default 1/255'): Command {
  return command
    .option('--scale <x>', `pixel scale for 8-bit images, e.g. 1/127.5 (${defaults})`)
    .option('--mean <list>', `per-channel mean subtracted after scaling, e.g. 1 or 0.485,0.456,0.406 (${defaults === 'default 1/255' ? 'default 0' : defaults})`)
    .option('--std <list>', `per-channel std divided by after the mean (${defaults === 'default 1/255' ? 'default 1' : defaults})`);
}

export function addCalibrationOptions(command: Command): Command {
  return command
    .option('--calib <path>', 'calibration inputs for a float model: images folder or .npy (default for a [1,28,28] model: MNIST training digits); read with --scale/--mean/--std')
    .option('--calib-count <n>', 'use at most this many calibration inputs')
    .option('--calib-method <m>', `activation range choice: ${CALIBRATION_METHODS.join(', ')} (default ${DEFAULT_CALIBRATION})`)
    .option('--bias-correction <m>', `bias correction of a float model: ${BIAS_CORRECTIONS.join(', ')} (default empirical)`)
    .option('--wide-acts <spec>', `mixed-precision activations of a float model: N[:BITS] widens the outputs of the first N layers, TENSOR[:BITS] one tensor by name, comma-separated (BITS 2..16, default ${DEFAULT_WIDE_BITS}; the rest keep --act-bits; the accelerator refuses widened tensors: widen only tensors inside the fixed part)`);
}

/** --scale/--mean/--std as loadInputs takes them (only those given). */
export function parsePreprocessing(flags: PreprocessingFlags): Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'> {
  const one = (text: string, flag: string): number => {
    const values = parseNumberList(text, flag);
    if (values.length !== 1) throw badInput(`${flag} ${text}: expected one number`);
    return values[0] as number;
  };
  return {
    ...(flags.scale !== undefined ? { scale: one(flags.scale, '--scale') } : {}),
    ...(flags.mean !== undefined ? { mean: parseNumberList(flags.mean, '--mean') } : {}),
    ...(flags.std !== undefined ? { std: parseNumberList(flags.std, '--std') } : {}),
  };
}

export interface CalibrationChoice {
  readonly calib?: string;
  readonly count?: number;
  readonly method?: CalibrationMethod;
  readonly biasCorrection?: BiasCorrection;
  /** `--wide-acts`, its form checked (resolved on the model by generator/quant/wide-acts.ts). */
  readonly wideActs?: string;
}

export function parseCalibration(flags: CalibrationFlags): CalibrationChoice {
  const count = flags.calibCount === undefined ? undefined : positiveInt(flags.calibCount, '--calib-count');
  if (flags.calibMethod !== undefined && !(CALIBRATION_METHODS as readonly string[]).includes(flags.calibMethod)) {
    throw badInput(`--calib-method ${flags.calibMethod}: supported methods are ${CALIBRATION_METHODS.join(', ')}`);
  }
  if (flags.biasCorrection !== undefined && !(BIAS_CORRECTIONS as readonly string[]).includes(flags.biasCorrection)) {
    throw badInput(`--bias-correction ${flags.biasCorrection}: supported are ${BIAS_CORRECTIONS.join(', ')}`);
  }
  if (flags.wideActs !== undefined) checkWideActsSyntax(flags.wideActs);
  return {
    ...(flags.calib !== undefined ? { calib: flags.calib } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(flags.calibMethod !== undefined ? { method: flags.calibMethod as CalibrationMethod } : {}),
    ...(flags.biasCorrection !== undefined ? { biasCorrection: flags.biasCorrection as BiasCorrection } : {}),
    ...(flags.wideActs !== undefined ? { wideActs: flags.wideActs } : {}),
  };
}

function positiveInt(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) throw badInput(`${flag} ${text}: expected an integer >= 1`);
  return value;
}

/**
 * The flags that shape a quantization (calibration, preprocessing, widths) as the design flows take them
 * (generator/design/generate-design.ts QuantizeOptions): one parser for generate, generate --accel and
 * compile.
 */
export function parseQuantizeFlags(flags: CalibrationFlags & PreprocessingFlags & { readonly weightBits?: string; readonly actBits?: string; readonly requantBits?: string }): QuantizeFlagValues {
  const calibration = parseCalibration(flags);
  const weightBits = optionalInt(flags.weightBits, '--weight-bits', 2, 16);
  const actBits = optionalInt(flags.actBits, '--act-bits', 2, 16);
  const requantBits = optionalInt(flags.requantBits, '--requant-bits', 8, 32);
  return {
    ...(calibration.calib !== undefined ? { calib: calibration.calib } : {}),
    ...(calibration.count !== undefined ? { calibCount: calibration.count } : {}),
    ...(calibration.method !== undefined ? { calibMethod: calibration.method } : {}),
    ...(calibration.biasCorrection !== undefined ? { biasCorrection: calibration.biasCorrection } : {}),
    ...(calibration.wideActs !== undefined ? { wideActs: calibration.wideActs } : {}),
    preprocess: parsePreprocessing(flags),
    ...(weightBits !== undefined ? { weightBits } : {}),
    ...(actBits !== undefined ? { actBits } : {}),
    ...(requantBits !== undefined ? { requantBits } : {}),
  };
}

export interface QuantizeFlagValues {
  readonly calib?: string;
  readonly calibCount?: number;
  readonly calibMethod?: CalibrationMethod;
  readonly biasCorrection?: BiasCorrection;
  readonly preprocess: Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'>;
  readonly weightBits?: number;
  readonly actBits?: number;
  readonly wideActs?: string;
  readonly requantBits?: number;
}
