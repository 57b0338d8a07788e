/** Input data for every command: see load-inputs.ts and docs/inputs.md. */
export { loadInputs, readLabels, resolvePreprocessing, DEFAULT_RANDOM_COUNT, DEFAULT_SCALE } from './load-inputs.js';
export type { InputShape, LoadInputsOptions, LoadedInputs } from './load-inputs.js';
export { mnistSplit, mnistTest, mnistTrain, MNIST_CLASSES, MNIST_SIDE, MNIST_TEST_PER_CLASS } from './mnist.js';
export type { DigitSet, MnistSplit } from './mnist.js';
export { readNpy, parseNpy, writeNpy, encodeNpy, npyToNumbers } from './npy.js';
export type { NpyArray, NpyData, NpyDtype } from './npy.js';
export { parseNumberList } from './flags.js';
export { calibrationInputs, mnistCalibration, DEFAULT_MNIST_CALIBRATION } from './calibration.js';
export type { CalibrationInputs } from './calibration.js';
