/**
 * Measures the example model's float top-1 accuracy on the 1,000 MNIST test digits with ONNX Runtime
 * (the figure our tools see, quoted in README.md and checked by test/data/example-model.test.ts).
 *
 *     npx tsx examples/mnist-mobilenet/accuracy.ts [model.onnx]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { mnistTest } from '../../generator/data/mnist.js';

export const EXAMPLE_MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model.onnx');

export interface AccuracyResult {
  readonly correct: number;
  readonly total: number;
  /** In percent. */
  readonly accuracy: number;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? -Infinity) > (values[best] ?? -Infinity)) best = i;
  return best;
}

/** Runs every test digit through the model, one image per run (the model's batch is fixed at 1). */
export async function measureExampleAccuracy(modelPath = EXAMPLE_MODEL): Promise<AccuracyResult> {
  const session = await ort.InferenceSession.create(modelPath);
  const inputName = session.inputNames[0] ?? 'input';
  const outputName = session.outputNames[0] ?? 'logits';
  const { images, labels } = mnistTest();
  let correct = 0;
  for (const [i, image] of images.entries()) {
    const result = await session.run({ [inputName]: new ort.Tensor('float32', image, [1, 1, 28, 28]) });
    const scores = result[outputName]?.data as Float32Array;
    if (argmax(scores) === labels[i]) correct++;
  }
  await session.release();
  return { correct, total: images.length, accuracy: (100 * correct) / images.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const model = process.argv[2] ?? EXAMPLE_MODEL;
  const { correct, total, accuracy } = await measureExampleAccuracy(model);
  console.log(`${path.relative(process.cwd(), model)}: ONNX Runtime float top-1 ${correct}/${total} = ${accuracy.toFixed(2)}%`);
}
