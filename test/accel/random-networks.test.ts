/**
 * Random back ends (test/helpers/random-network.ts: dense / depthwise / pointwise convs with kernels 1/3/5,
 * strides 1/2, asymmetric pads, max/average pooling, residual Add, ReLU/ReLU6/none, optionally a global
 * pool + Gemm head), quantized from ONNX, compiled for a random array (4x4, 8x8, 16x16) and memory sizes
 * (small ones force several GEMM tiles, double-buffered ACC halves with stores, several jobs per layer),
 * run in the ISA simulator: bit-exact with the integer model on every output value, and identical whether
 * the loads or the compute run ahead.
 * A network that drew no weighted layer (pools only) must be refused with the accelerator's message.
 * npm test: 34 networks (FIXYNN_ACCEL_RANDOM overrides), FIXYNN_FULL: 60.
 */
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { compileProgram, configForModel, replayCycles, runOnSimulator } from '../../generator/accel/index.js';
import { loadInputs } from '../../generator/data/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { importModel } from '../../generator/import/index.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { randomNetwork } from '../helpers/random-network.js';
import { chipAnswer, finalAccumulators } from './reference.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { count } from '../helpers/env.js';

const NETWORKS = count('ACCEL_RANDOM', 60, 34);
const work = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-random-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe(`${NETWORKS} random back ends in the ISA simulator, bit-exact with the integer model`, () => {
  for (let seed = 1; seed <= NETWORKS; seed++) {
    it(`network ${seed}`, async () => {
      const net = randomNetwork({ seed, layers: 2 + (seed % 4) });
      const model = net.builder.save(path.join(work, `net${seed}.onnx`));
      const graph = importModel(model);
      const calib = loadInputs('random', graph.input.shape, { count: 8, seed: 1000 + seed }).images;
      const quantized = await quantizeModel(readOnnxFile(model), graph, { calibImages: calib });
      const n = [4, 8, 16][seed % 3] as number;
      const small = seed % 2 === 0;
      const config = configForModel(quantized, n, n, small ? { accRows: 40, qpRows: 16, wgtRows: 1024, queueDepth: 2 } : {});
      const why = `network ${seed} on ${n}x${n}${small ? ' (small memories)' : ''}:\n  ${net.description.join('\n  ')}`;
      if (!quantized.layers.some((l) => l.kind === 'conv' || l.kind === 'gemm')) {
        expect(() => compileProgram(quantized, config), why).toThrow(/no weighted layer \(conv\/gemm\)/);
        return;
      }
      const compiled = compileProgram(quantized, config);
      const integer = new IntegerModel(quantized);
      const last = quantized.layers[quantized.layers.length - 1]!;
      const outT = quantized.tensors[quantized.output]!;
      const data = loadInputs('random', graph.input.shape, { count: 2, seed: 2000 + seed }).images;
      for (const image of data) {
        const q = integer.quantizeInput(image);
        const values = integer.run(q);
        const run = runOnSimulator(compiled, q, outT);
        const expected = compiled.layout.output.memory === 'acc' ? finalAccumulators(quantized, last, values.get(last.inputs[0]!)!) : values.get(quantized.output)!;
        expect(Array.from(run.output), why).toEqual(Array.from(expected));
        if (compiled.layout.classAddr !== undefined) expect(run.class, why).toBe(chipAnswer(expected, last.requant.multiplier, last.requant.shift));
        const racing = runOnSimulator(compiled, q, outT, { priority: ['ex', 'st', 'ld'] });
        expect(Array.from(racing.output), `${why}\n(compute racing ahead)`).toEqual(Array.from(run.output));
      }
      const report = replayCycles(config, compiled.program, compiled.layout.layers);
      expect(report.total, why).toBeGreaterThan(0);
      expect(report.layers.every((l) => l.cycles > 0), why).toBe(true);
    }, 120_000);
  }
});
