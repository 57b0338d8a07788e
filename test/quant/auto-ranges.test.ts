/**
 * `--calib-method auto` on the example MNIST model with a few calibration digits: one rule per calibrated
 * tensor (the output keeps its full range and is not chosen), the choice recorded, and the greedy search
 * never ends worse than the best single rule on the images it measures on.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { mnistCalibration } from '../../generator/data/index.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { RANGE_METHODS } from '../../generator/quant/calibrate.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');

describe('calibration method auto', () => {
  it('chooses a rule per tensor by output error and records it', async () => {
    const onnx = readOnnxFile(MODEL);
    const graph = importDecoded(onnx);
    const q = await quantizeModel(onnx, graph, { calibImages: mnistCalibration(8).images, method: 'auto' });
    expect(q.calibration?.method).toBe('auto');
    const chosen = q.calibration?.tensorMethods ?? {};
    const calibrated = [graph.firstTensor, ...graph.layers.map((l) => l.output)].filter((t) => t !== graph.output);
    expect(Object.keys(chosen).sort()).toEqual([...calibrated].sort());
    for (const rule of Object.values(chosen)) expect(RANGE_METHODS).toContain(rule);
    const errors = q.calibration?.methodErrors ?? {};
    const singles = RANGE_METHODS.map((m) => errors[m] ?? NaN);
    expect(singles.every((e) => Number.isFinite(e) && e > 0)).toBe(true);
    expect(errors.auto).toBeLessThanOrEqual(Math.min(...singles));
  });

  it('refuses a single calibration image (nothing left to measure on)', async () => {
    const onnx = readOnnxFile(MODEL);
    await expect(quantizeModel(onnx, importDecoded(onnx), { calibImages: mnistCalibration(1).images, method: 'auto' })).rejects.toThrow(/--calib-method auto needs at least 2 calibration inputs/);
  });
});
