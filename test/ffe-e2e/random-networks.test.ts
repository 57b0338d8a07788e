/**
 * Random networks through the whole ladder: ONNX Runtime vs the integer model (sanity), then generate
 * with the real FFE core (every arithmetic strategy appears; --pipeline N > 0 is covered by the example model's test) and verify in
 * Verilator: bit-exact on every tap, at one input pixel per clock, lint clean.
 * FIXYNN_FULL: 30 networks (FIXYNN_RANDOM_NETWORKS overrides); npm test: 3, plus the seeds below that
 * once failed. Each design is verified a second time under random stalls on s_tvalid and m_tready.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ArithStrategy } from '../../generator/ffe/index.js';
import { loadInputs, writeNpy } from '../../generator/data/index.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { describeMismatch, verifyDesign } from '../../verify/ffe/index.js';
import { lint } from '../../verify/sim/index.js';
import { randomNetwork } from '../helpers/random-network.js';
import { generate, rtlOf } from './ladder.js';
import { count } from '../helpers/env.js';

const NETWORKS = count('RANDOM_NETWORKS', 30, 3);
/**
 * Always run: 3 and 9 (a layer's last rows that the final layer never needs come out only in its tail
 * flush after the input went idle: the testbench must wait for every tap's beats), 16 and 23 (a unit
 * after one that shrinks the frame once flushed its tail on every ordinary gap and held s_tready low:
 * 39 clocks per 35-pixel frame, 72 per 65).
 */
const REGRESSION_SEEDS = [3, 9, 16, 23];
const SEEDS = [...new Set([...Array.from({ length: NETWORKS }, (_, i) => i + 1), ...REGRESSION_SEEDS])].sort((a, b) => a - b);
const STRATEGIES: readonly ArithStrategy[] = ['shared', 'csd', 'multiply'];
const work = mkdtempSync(path.join(tmpdir(), 'fixynn-random-nets-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Float images as a .npy the commands read (--calib / --data). */
function npyOf(images: readonly Float32Array[], shape: readonly number[], file: string): string {
  const flat = new Float32Array(images.length * images[0]!.length);
  images.forEach((img, i) => flat.set(img, i * img.length));
  writeNpy(file, flat, [images.length, ...shape]);
  return file;
}

describe(`${SEEDS.length} random networks, RTL bit-exact with the integer model in Verilator`, () => {
  for (const seed of SEEDS) {
    const arith = STRATEGIES[(seed - 1) % STRATEGIES.length] as ArithStrategy;
    it(`network ${seed} (${arith})`, async () => {
      const net = randomNetwork({ seed });
      const why = `network ${seed}:\n  ${net.description.join('\n  ')}`;
      const model = net.builder.save(path.join(work, `net${seed}.onnx`));
      const onnx = readOnnxFile(model);
      const graph = importDecoded(onnx);
      const calib = loadInputs('random', graph.input.shape, { count: 12, seed: 1000 + seed }).images;
      const data = loadInputs('random', graph.input.shape, { count: 3, seed: 2000 + seed }).images;

      // Rung 1: the integer model agrees with ONNX Runtime (the quantization is sane).
      const quantized = await quantizeModel(onnx, graph, { calibImages: calib });
      const report = await evaluate({ onnx, graph, quantized, images: data });
      for (const layer of report.layers) expect(layer.sqnrDb, `${why}\nlayer ${layer.index} ${layer.kind}`).toBeGreaterThan(20);

      // Rungs 2-3: the RTL of every layer against the integer model, frames back to back.
      const out = path.join(work, `design${seed}`);
      await generate(model, {
        fixedLayers: String(graph.layers.length), out, arith,
        calib: npyOf(calib, graph.input.shape, path.join(work, `calib${seed}.npy`)),
      });
      const dataFile = npyOf(data, graph.input.shape, path.join(work, `data${seed}.npy`));
      const summary = await verifyDesign(out, { simulator: 'verilator', images: 3, data: dataFile });
      expect(summary.mismatches, `${why}\n${summary.firstMismatch ? describeMismatch(summary.firstMismatch) : ''}`).toBe(0);
      expect(summary.cyclesPerFrame, why).not.toBeNull();
      expect(summary.cyclesPerFrame as number, `${why}\ninput side: ${summary.inputCyclesPerFrame ?? '?'} cycles per frame`).toBeLessThanOrEqual(1.05 * summary.idealCyclesPerFrame);
      expect(summary.inputCyclesPerFrame as number, why).toBeLessThanOrEqual(1.05 * summary.idealCyclesPerFrame);
      // The same design under random stalls on both sides: still every beat of every tap, none lost or repeated.
      const stalled = await verifyDesign(out, { simulator: 'verilator', images: 3, data: dataFile, stalls: { input: 80, output: 100, seed } });
      expect(stalled.mismatches, `${why}\nwith stalls: ${stalled.firstMismatch ? describeMismatch(stalled.firstMismatch) : ''}`).toBe(0);
      const { files, top } = rtlOf(out);
      expect(await lint(files, top), why).toEqual([]);
    });
  }
});
