/**
 * Acceptance: the example MNIST model (examples/mnist-mobilenet/model.onnx), calibrated on MNIST training
 * digits, on the test digits (1,000 with FIXYNN_FULL=1, 200 in npm test; FIXYNN_EVAL_DIGITS overrides):
 * integer top-1 accuracy within 1.0 point of ONNX Runtime's float accuracy, top-1 agreement >= 98%, every
 * layer's SQNR >= 30 dB. Also the `fixynn eval` command end to end.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../generator/cli.js';
import { DEFAULT_MNIST_CALIBRATION, mnistCalibration } from '../../generator/data/index.js';
import { loadInputs } from '../../generator/data/index.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { importDecoded, importModel } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { count } from '../helpers/env.js';

const DIGITS = count('EVAL_DIGITS', 1000, 200);
const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');

async function captureStdout(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => { out += String(chunk); return true; }) as typeof process.stdout.write;
  try {
    return { code: await run(), out };
  } finally {
    process.stdout.write = write;
  }
}

describe('example MNIST model: integer model against ONNX Runtime', () => {
  it(`meets accuracy, agreement and SQNR on ${DIGITS} test digits`, async () => {
    const onnx = readOnnxFile(MODEL);
    const graph = importDecoded(onnx);
    const quantized = await quantizeModel(onnx, graph, { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
    const data = loadInputs(undefined, graph.input.shape, { count: DIGITS });
    const report = await evaluate({ onnx, graph, quantized, images: data.images, labels: Array.from(data.labels ?? []) });
    const floatAcc = 100 * (report.floatAccuracy ?? 0);
    const intAcc = 100 * (report.integerAccuracy ?? 0);
    console.log(`example model, ${DIGITS} digits: float ${floatAcc.toFixed(2)}%, integer ${intAcc.toFixed(2)}%, agreement ${(100 * report.top1Agreement).toFixed(2)}%, SQNR dB per layer ${report.layers.map((l) => l.sqnrDb.toFixed(1)).join(' ')}`);
    expect(report.images).toBe(DIGITS);
    expect(Math.abs(intAcc - floatAcc)).toBeLessThanOrEqual(1.0);
    expect(report.top1Agreement).toBeGreaterThanOrEqual(0.98);
    for (const layer of report.layers) expect(layer.sqnrDb, layer.name).toBeGreaterThanOrEqual(30);
  });

  it('`fixynn eval --json` reports every layer and the accuracies; random data is labeled as such', async () => {
    const { code, out } = await captureStdout(() => main(['node', 'fixynn', 'eval', MODEL, '--count', '20', '--calib-count', '50', '--json']));
    expect(code).toBe(0);
    const report = JSON.parse(out) as { random: boolean; images: number; layers: Array<{ sqnrDb: number }>; floatAccuracy: number; integerAccuracy: number; top1Agreement: number };
    expect(report.random).toBe(false);
    expect(report.images).toBe(20);
    expect(report.layers).toHaveLength(importModel(MODEL).layers.length);
    expect(report.floatAccuracy).toBeGreaterThan(0.8);
    expect(report.top1Agreement).toBeGreaterThan(0.8);
    const random = await captureStdout(() => main(['node', 'fixynn', 'eval', MODEL, '--data', 'random', '--count', '2', '--calib-count', '20']));
    expect(random.code).toBe(0);
    expect(random.out).toMatch(/RANDOM INPUTS/);
    expect(random.out).not.toMatch(/accuracy:/);
  });

  it('bad flags exit 2 with one clear line', async () => {
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => { errors.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'fixynn', 'eval', MODEL, '--weight-bits', '20', '--calib-count', '5', '--count', '1'])).toBe(2);
      expect(await main(['node', 'fixynn', 'eval', MODEL, '--calib-method', 'magic'])).toBe(2);
      expect(await main(['node', 'fixynn', 'eval', MODEL, '--calib', 'random'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toMatch(/--weight-bits 20: supported widths are integers 2 to 16/);
    expect(errors.join('')).toMatch(/--calib-method magic/);
    expect(errors.join('')).toMatch(/--calib random/);
  });
});
