/**
 * Calibration inputs for a float model, the one rule `eval` and `generate` share: `--calib PATH` when
 * given, otherwise (for an MNIST-shaped [1,28,28] input) bundled MNIST training digits, disjoint from the
 * test digits every check uses.
 */
import { badInput } from '../common/errors.js';
import { loadInputs, type InputShape, type LoadInputsOptions } from './load-inputs.js';
import { mnistTrain } from './mnist.js';

/** How many MNIST training digits calibrate an MNIST-shaped model by default. */
export const DEFAULT_MNIST_CALIBRATION = 200;

export interface CalibrationInputs {
  readonly images: Float32Array[];
  /** What they are, for reports. */
  readonly source: string;
}

/** `count` MNIST training digits evenly spread over the split (ordered by class). */
export function mnistCalibration(count: number): CalibrationInputs {
  const train = mnistTrain().images;
  const wanted = Math.min(count, train.length);
  const stride = train.length / wanted;
  const images = Array.from({ length: wanted }, (_, i) => (train[Math.floor(i * stride)] as Float32Array).slice());
  return { images, source: `MNIST training digits (bundled, ${wanted} evenly spread)` };
}

/** `--calib` (images, .npy; never random noise), or the default digits; `modelFile` names the model in errors. */
export function calibrationInputs(modelFile: string, shape: InputShape, calib: string | undefined, options: LoadInputsOptions = {}): CalibrationInputs {
  if (calib !== undefined) {
    const loaded = loadInputs(calib, shape, options);
    if (loaded.random) throw badInput('--calib random: calibrating on random noise would give meaningless ranges; pass real images or a .npy');
    return { images: loaded.images, source: loaded.source };
  }
  const [c, h, w] = shape;
  if (c !== 1 || h !== 28 || w !== 28) {
    throw badInput(`${modelFile}: a float model needs calibration inputs: pass --calib (a folder of images or a .npy [N, ${c}, ${h}, ${w}])`);
  }
  return mnistCalibration(options.count ?? DEFAULT_MNIST_CALIBRATION);
}
