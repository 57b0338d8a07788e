/**
 * Many seeded random ONNX networks (test/helpers/random-network.ts: dense / depthwise+pointwise /
 * pointwise convs with kernels 1/3/5, strides 1/2, asymmetric pads, ReLU/ReLU6, max/avg pooling,
 * residual Add, GAP + Gemm heads), calibrated, every layer fixed, each arithmetic strategy and both flow
 * control modes, streamed through the TypeScript evaluator with random stalls: every unit's tap must
 * equal the integer model's output of that unit, beat for beat. (Engineer 7's e2e suite runs the same
 * networks through ONNX Runtime and Verilator; this one is the fast, wide sweep of the core.)
 * npm test: 6 networks, seeds 101..106, which cover each arithmetic strategy with --pipeline 0 and 2 once
 * (seed % 3 and seed % 2); FIXYNN_FULL: 60. Then networks with dilated convs (seeds from 703 that draw one): npm test 1 (two dilated layers),
 * FIXYNN_FULL 30.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInputs } from '../../generator/data/index.js';
import { generateFfe } from '../../generator/ffe/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { randomNetwork, type RandomNetwork } from '../helpers/random-network.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import type { LayerGraph } from '../../generator/graph/ir.js';
import type { OnnxModel } from '../../generator/onnx/decode.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';
import { count } from '../helpers/env.js';

const COUNT = count('FFE_NETWORKS', 60, 6);
const FIRST = count('FFE_FIRST_NETWORK', 101, 101);
const DILATED = count('FFE_DILATED_NETWORKS', 30, 1);
const STRATEGIES = ['shared', 'csd', 'multiply'] as const;
const work = mkdtempSync(path.join(tmpdir(), 'fixynn-ffe-nets-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every unit's tap (and each fused unit's depthwise half) against the integer model, two frames under random stalls. */
async function expectStreamBitExact(seed: number, net: RandomNetwork, strategy: (typeof STRATEGIES)[number], pipeline: number): Promise<{ onnx: OnnxModel; graph: LayerGraph; quantized: QuantizedGraph }> {
  const why = `network ${seed}: ${net.description.join('; ')}`;
  const file = net.builder.save(path.join(work, `net${seed}.onnx`));
  const onnx = readOnnxFile(file);
  const graph = importDecoded(onnx);
  const quantized = await quantizeModel(onnx, graph, { calibImages: loadInputs('random', graph.input.shape, { count: 8, seed }).images });
  const design = generateFfe(quantized, { fixedLayers: quantized.layers.length, strategy, pipeline, name: `rn${seed}` });
  const model = new IntegerModel(quantized);
  const frames = loadInputs('random', graph.input.shape, { count: 2, seed: seed + 5000 }).images.map((x) => model.quantizeInput(x));
  const x = quantized.tensors[quantized.input.tensor]!;
  const beats = frames.flatMap((f) => imageBeats(f, x.shape, { channels: design.input.channels, ...design.input.type }));
  const rng = seededRandom(seed);
  // Every unit's tap, and the depthwise half of each fused unit, watched inside the (tap-less) top.
  const taps = design.units.flatMap((u) => [...(u.innerTap ? [{ tap: u.innerTap.tap, tensor: u.innerTap.tensor, probe: u.innerTap.probe }] : []), { tap: `tap${u.tap}`, tensor: u.outputTensor, probe: u.probe }]);
  const run = driveStream(design.top, beats, {
    validRate: 0.7, readyRate: 0.6, rng, expectedBeats: 2 * design.throughput.outputBeatsPerFrame, tuser: design.input,
    taps: taps.map((t) => t.probe), drainCycles: 400,
  });
  const runs = frames.map((f) => model.run(f));
  taps.forEach((tap, k) => {
    const t = quantized.tensors[tap.tensor]!;
    const per = t.shape[1] * t.shape[2];
    const got = run.taps[k]!;
    expect(got.length, `${why}\n${tap.tap} beats`).toBe(2 * per);
    runs.forEach((values, i) => {
      const image = beatsImage(got.slice(i * per, (i + 1) * per), t.shape, { channels: t.shape[0], bits: t.quant.bits, signed: t.quant.signed });
      expect(Array.from(image), `${why}\n${tap.tap} (${tap.tensor}), frame ${i}`).toEqual(Array.from(values.get(tap.tensor)!));
    });
  });
  return { onnx, graph, quantized };
}

describe(`${COUNT} random networks, every unit bit-exact (TypeScript evaluator, random stalls)`, () => {
  for (let seed = FIRST; seed < FIRST + COUNT; seed++) {
    const strategy = STRATEGIES[seed % 3]!;
    const pipeline = seed % 2 === 0 ? 0 : 2;
    it(`network ${seed} (${strategy}, --pipeline ${pipeline})`, async () => {
      await expectStreamBitExact(seed, randomNetwork({ seed, layers: 2 + (seed % 4) }), strategy, pipeline);
    }, 120_000);
  }
});

/** The first `n` seeds from 703 whose network draws at least one dilated conv (a draw may not fit the map). */
function dilatedSeeds(n: number): number[] {
  const seeds: number[] = [];
  for (let seed = 703; seeds.length < n; seed++) {
    if (randomNetwork({ seed, layers: 2 + (seed % 3), dilated: true }).description.some((d) => / d\d+x\d+ /.test(d))) seeds.push(seed);
  }
  return seeds;
}

describe(`${DILATED} random networks with dilated convolutions, every unit bit-exact (TypeScript evaluator, random stalls)`, () => {
  for (const seed of dilatedSeeds(DILATED)) {
    const strategy = STRATEGIES[seed % 3]!;
    const pipeline = seed % 2 === 0 ? 0 : 2;
    it(`dilated network ${seed} (${strategy}, --pipeline ${pipeline})`, async () => {
      const { onnx, graph, quantized } = await expectStreamBitExact(seed, randomNetwork({ seed, layers: 2 + (seed % 3), dilated: true }), strategy, pipeline);
      expect(quantized.layers.some((l) => l.kind === 'conv' && l.dilation.some((d) => d > 1)), `network ${seed} has a dilated conv`).toBe(true);
      // Each dilated layer alone (on ONNX Runtime's own input to it) computes ONNX Runtime's float within
      // quantization error: nearly every value within 1 LSB of it on the output grid.
      const report = await evaluate({ onnx, graph, quantized, images: loadInputs('random', graph.input.shape, { count: 3, seed: seed + 6000 }).images, isolated: true });
      const dilatedLayers = new Set(quantized.layers.filter((l) => l.kind === 'conv' && l.dilation.some((d) => d > 1)).map((l) => l.index));
      for (const layer of report.layers.filter((l) => dilatedLayers.has(l.index))) {
        console.info(`dilated network ${seed} layer ${layer.index}: ${(100 * (layer.isolated?.within1Lsb ?? 0)).toFixed(1)}% within 1 LSB alone, SQNR ${layer.sqnrDb.toFixed(1)} dB in the chain`);
        expect(layer.isolated?.within1Lsb, `network ${seed} layer ${layer.index}`).toBeGreaterThanOrEqual(0.95);
      }
    }, 120_000);
  }
});
