/**
 * The example MNIST model (examples/mnist-mobilenet) through the fixed feature extractor: npm test the
 * first three layers (K = 3: the conv and a fused dw+pw pair), FIXYNN_FULL=1 all nine convolution layers
 * (K = 9) and the whole network (K = 11: plus global pooling and the Gemm head). Test digits stream back to back through Verilator; every output
 * value must equal the golden integer model's. Also: the steady-state cycles per frame (<= 1.05 x the
 * input pixels), a run with random stalls on both handshakes, and lint of the whole design.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MNIST_CALIBRATION, mnistCalibration } from '../../generator/data/index.js';
import { loadInputs } from '../../generator/data/index.js';
import { emitDesign } from '../../generator/emit/index.js';
import { type FfeDesign, generateFfe } from '../../generator/ffe/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { buildBatch, fromVerilogResponse, lint, simDesignOf, toVerilogVector, type DslSimDesign } from '../../verify/sim/index.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, imageBeats } from './stream-driver.js';
import { streamWrapper, takenBeats, wrapperVectors } from './sim-wrapper.js';
import { count, FULL } from '../helpers/env.js';

const DIGITS = count('FFE_DIGITS', 20, 3);
const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');

interface Case {
  readonly design: FfeDesign;
  readonly sim: DslSimDesign;
}

let quantized: QuantizedGraph;
let digits: Int32Array[];
let cases: Case[];

function wrapped(design: FfeDesign, label: string): Case {
  const beats = DIGITS * design.throughput.inputBeatsPerFrame;
  return { design, sim: simDesignOf(streamWrapper(`wrap_${label}`, design.top, beats, design.input.channels * design.input.type.bits, design.input)) };
}

beforeAll(async () => {
  const onnx = readOnnxFile(MODEL);
  const graph = importDecoded(onnx);
  quantized = await quantizeModel(onnx, graph, { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
  const model = new IntegerModel(quantized);
  digits = loadInputs(undefined, graph.input.shape, { count: DIGITS }).images.map((image) => model.quantizeInput(image));
  // npm test: the first three layers (the conv and the first fused dw+pw unit) in this batch harness; the
  // nine convolution layers (the acceptance configuration) stream through Verilator in npm test by
  // test/ffe-e2e/example-model (20 digits, cycles per frame, stalls), and here under FIXYNN_FULL (their
  // Verilator build took about 80 s of npm test), with the whole network (global pooling and the Gemm
  // head, csd) too.
  cases = FULL
    ? [wrapped(generateFfe(quantized, { fixedLayers: 9, name: 'mnist_k9' }), 'k9'), wrapped(generateFfe(quantized, { fixedLayers: 11, name: 'mnist_k11', strategy: 'csd' }), 'k11')]
    : [wrapped(generateFfe(quantized, { fixedLayers: 3, name: 'mnist_k3' }), 'k3')];
}, 300_000);

function inputBeats(design: FfeDesign): bigint[] {
  const shape = quantized.tensors[design.input.tensor]!.shape;
  return digits.flatMap((d) => imageBeats(d, shape, { channels: design.input.channels, ...design.input.type }));
}

function checkOutputs(c: Case, data: readonly bigint[]): void {
  const d = c.design;
  const perFrame = d.throughput.outputBeatsPerFrame;
  expect(data.length).toBe(DIGITS * perFrame);
  const model = new IntegerModel(quantized);
  const shape = quantized.tensors[d.output.tensor]!.shape;
  digits.forEach((digit, i) => {
    const got = beatsImage(data.slice(i * perFrame, (i + 1) * perFrame), shape, { channels: d.output.channels, ...d.output.type });
    expect(Array.from(got), `${d.top.name}: digit ${i}`).toEqual(Array.from(model.run(digit).get(d.output.tensor)!));
  });
}

describe('example MNIST model in the fixed feature extractor (Verilator)', () => {
  it('fuses each depthwise conv with the pointwise conv after it', () => {
    expect(generateFfe(quantized, { fixedLayers: 9 }).units.map((u) => u.kind)).toEqual(['conv', 'dw+pw', 'dw+pw', 'dw+pw', 'dw+pw']);
    expect(cases[0]!.design.units.map((u) => u.kind)).toEqual(FULL ? ['conv', 'dw+pw', 'dw+pw', 'dw+pw', 'dw+pw'] : ['conv', 'dw+pw']);
    expect(generateFfe(quantized, { fixedLayers: 11, strategy: 'csd' }).units.map((u) => u.kind)).toEqual(['conv', 'dw+pw', 'dw+pw', 'dw+pw', 'dw+pw', 'globalavgpool', 'gemm']);
  });

  it(`${DIGITS} digits back to back: bit-exact, and at most 1.05 x 784 cycles per frame`, async () => {
    const build = await buildBatch('verilator', cases.map((c) => c.sim));
    const rng = seededRandom(7);
    const runs = new Map(
      cases.map((c) => {
        const beats = inputBeats(c.design);
        return [c.sim.top, wrapperVectors(beats, beats.length + 2000, rng, 1, 1).map((v) => toVerilogVector(c.sim, v))];
      }),
    );
    const results = await build.run(runs);
    for (const c of cases) {
      const responses = results.get(c.sim.top)!.map((r) => fromVerilogResponse(c.sim, r));
      expect(responses[responses.length - 1]!['frame_error'], 'input framing flags').toBe(0n);
      const taken = takenBeats(responses, DIGITS * c.design.throughput.inputBeatsPerFrame + 2);
      checkOutputs(c, taken.data);
      const starts = taken.times.filter((_, i) => taken.user[i] === 1);
      const perFrame = starts.slice(1).map((t, i) => t - starts[i]!);
      console.log(`${c.design.top.name}: first output at cycle ${starts[0]}, cycles per frame ${perFrame.join(', ')} (ideal ${c.design.throughput.inputBeatsPerFrame})`);
      expect(starts[0], 'first output cycle = the computed latency').toBe(c.design.latencyCycles);
      for (const cycles of perFrame) expect(cycles).toBeLessThanOrEqual(1.05 * c.design.throughput.inputBeatsPerFrame);
    }
  }, 900_000);

  it('random stalls on s_tvalid and m_tready: still bit-exact, nothing lost or repeated', async () => {
    const build = await buildBatch('verilator', cases.map((c) => c.sim));
    const rng = seededRandom(8);
    const runs = new Map(
      cases.map((c) => {
        const beats = inputBeats(c.design);
        return [c.sim.top, wrapperVectors(beats, Math.ceil(beats.length * 3.5) + 2000, rng, 0.5, 0.5).map((v) => toVerilogVector(c.sim, v))];
      }),
    );
    const results = await build.run(runs);
    for (const c of cases) checkOutputs(c, takenBeats(results.get(c.sim.top)!.map((r) => fromVerilogResponse(c.sim, r)), DIGITS * c.design.throughput.inputBeatsPerFrame + 2).data);
  }, 900_000);

  it('the whole design is clean under verilator --lint-only -Wall', async () => {
    const emitted = emitDesign(cases[0]!.design.top);
    expect(await lint(emitted.files, emitted.top)).toEqual([]);
  }, 300_000);
});
