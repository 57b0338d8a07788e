/**
 * What streams into a fixed part and what must come out of each of its layers, for given images: the
 * one preparation of stimulus that `fixynn verify` runs through the RTL and that `fixynn generate` writes
 * into the testbench folder (tb/stim.hex and tb/expected.hex), so the testbench also runs on its own.
 */
import { beatWidth, type Stream } from '../contract/stream.js';
import { packFrame } from '../contract/beats.js';
import { badInput, FixynnError } from '../common/errors.js';
import { DEFAULT_SCALE, loadInputs, type LoadedInputs, type LoadInputsOptions } from '../data/index.js';
import { IntegerModel } from '../golden/integer-model.js';
import type { QuantizedGraph } from '../quant/ir.js';

/** What the stimulus depends on: the fixed part's integer model, its input form and the recorded preprocessing. */
export interface StimulusPart {
  readonly quantization: QuantizedGraph;
  readonly options: { readonly rawInput: boolean; readonly preprocess: { readonly scale: number; readonly mean: readonly number[]; readonly std: readonly number[] } };
}

export interface FrameStimulus {
  /** The q values the RTL's input stream carries ([C, H, W]). */
  readonly stimulus: Int32Array;
  /** Each fixed layer's integer-model output (the part's layers, in order). */
  readonly expected: Int32Array[];
}

/**
 * The flags given, else what generate recorded. The recorded default (pixel / 255) is left to loadInputs,
 * which refuses any preprocessing for sources that are already floats (the bundled digits, a float .npy).
 */
export function preprocessingOf(part: StimulusPart, given?: Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'>): Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'> {
  return givenOrRecorded(given, part.options.preprocess);
}

/** The preprocessing flags given, else the recorded ones (every kind of design and program folder). */
export function givenOrRecorded(given: Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'> | undefined, recorded: { scale: number; mean: readonly number[]; std: readonly number[] }): Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'> {
  if (given && Object.keys(given).length > 0) return given;
  const isDefault = recorded.scale === DEFAULT_SCALE && recorded.mean.every((m) => m === 0) && recorded.std.every((v) => v === 1);
  return isDefault ? {} : { scale: recorded.scale, mean: [...recorded.mean], std: [...recorded.std] };
}

/** The images a part is checked on: --data (default: the bundled MNIST test digits where they fit, else random). */
export function stimulusImages(part: StimulusPart, data: string | undefined, count: number, given?: Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'>): LoadedInputs {
  return loadInputs(data, part.quantization.input.shape, { count, ...preprocessingOf(part, given) });
}

/**
 * What goes into the RTL and what must come out. With --raw-input the chip takes the 8-bit pixels as the
 * camera delivers them, and the part's graph is the core's raw-input form whose input tensor holds
 * exactly those pixels (generator/ffe/raw-input.ts), so the integer model runs on them directly.
 */
export function stimulusOf(part: StimulusPart, images: readonly Float32Array[], raw: readonly Uint8Array[] | undefined, model: IntegerModel): FrameStimulus[] {
  const inputs = inputsOf(part, images, raw, model);
  const expected = expectedOf(part, inputs, model);
  return inputs.map((stimulus, i) => ({ stimulus, expected: expected[i] as Int32Array[] }));
}

/** The q values each image puts on the RTL's input stream (stimulusOf's first half: cheap). */
export function inputsOf(part: StimulusPart, images: readonly Float32Array[], raw: readonly Uint8Array[] | undefined, model: IntegerModel): Int32Array[] {
  return images.map((image, i) => (part.options.rawInput ? Int32Array.from(raw?.[i] ?? []) : model.quantizeInput(image)));
}

/** Per input, each fixed layer's integer-model output (stimulusOf's second half: the integer model runs). */
export function expectedOf(part: StimulusPart, inputs: readonly Int32Array[], model: IntegerModel): Int32Array[][] {
  return inputs.map((stimulus) => {
    const activations = model.run(stimulus);
    return part.quantization.layers.map((layer) => activations.get(layer.output) as Int32Array);
  });
}

/**
 * The 8-bit pixels a --raw-input design takes. Image files and uint8 .npy carry them; the bundled MNIST
 * digits are floats in [0, 1] (rounded to 3 decimals in the package), so their pixels are round(255 x):
 * the RTL and the integer model see the same pixels either way, which is what verification needs.
 */
export function rawPixelsOf(images: readonly Float32Array[], raw: readonly Uint8Array[] | undefined, source: string): Uint8Array[] {
  if (raw !== undefined) return [...raw];
  const inUnitRange = images.every((image) => image.every((x) => x >= 0 && x <= 1));
  if (!inUnitRange) throw badInput(`this design takes raw 8-bit pixels (--raw-input), and ${source} holds preprocessed floats outside [0, 1]: pass images or a uint8 .npy with --data`);
  return images.map((image) => Uint8Array.from(image, (x) => Math.round(x * 255)));
}

/**
 * verify's default images where the design takes them (the bundled digits need a [1, 28, 28] input and
 * no preprocessing of 8-bit pixels), else seeded random pixels preprocessed as recorded: the loader's own
 * refusal decides, so the rule lives in one place (generator/data/load-inputs.ts).
 */
function defaultOrRandom(part: StimulusPart): LoadedInputs {
  try {
    return stimulusImages(part, undefined, STANDALONE_FRAMES);
  } catch (err) {
    if (!(err instanceof FixynnError) || err.exitCode !== 2) throw err;
    return stimulusImages(part, 'random', STANDALONE_FRAMES);
  }
}

/** Frames the design folder's testbench runs standalone (tb/stim.hex): few, so the files stay small. */
export const STANDALONE_FRAMES = 2;

/**
 * tb/stim.hex and tb/expected.hex: the input beats of the frames (as the testbench reads them) and the
 * output beats the design must give, in the testbench's out.hex format (data zero-padded to the full
 * width, tuser, tlast), so `diff out.hex expected.hex` is the check.
 */
export function standaloneFiles(part: StimulusPart, input: Stream, output: Stream): { stim: string; expected: string; source: string; frames: number } {
  const images = defaultOrRandom(part);
  const model = new IntegerModel(part.quantization);
  const raw = part.options.rawInput ? rawPixelsOf(images.images, images.raw, images.source) : undefined;
  const frames = stimulusOf(part, images.images, raw, model);
  const digits = Math.ceil(beatWidth(output) / 4);
  const outLines = frames.flatMap((f) => packFrame(f.expected[f.expected.length - 1]!, output).map((hex, p) => {
    const col = p % output.width;
    return `${hex.padStart(digits, '0')} ${p === 0 ? 1 : 0} ${col === output.width - 1 ? 1 : 0}`;
  }));
  return {
    stim: `${frames.flatMap((f) => packFrame(f.stimulus, input)).join('\n')}\n`,
    expected: `${outLines.join('\n')}\n`,
    source: images.source,
    frames: frames.length,
  };
}
