/**
 * `--wide-acts` (mixed-precision activations, generator/quant/wide-acts.ts) on the example MNIST model:
 * the spec resolved to tensors and widths, every refusal naming what is wrong, the widened tensors
 * quantized at their width and recorded in the calibration facts (kept through the manifest's JSON form),
 * and the accelerator refusing a widened tensor it would read while taking one inside the fixed part.
 * The fixed part with a 12-bit tensor between two 8-bit ones, through the DSL evaluator under stalls
 * (the MobileNet at K = 5 and the example chip went through Verilator: docs/arithmetic.md §9).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configForModel } from '../../generator/accel/compile.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { mnistCalibration } from '../../generator/data/index.js';
import { IntegerModel, quantizeInput } from '../../generator/golden/integer-model.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { parseQuantizedGraph, serializeQuantizedGraph } from '../../generator/quant/serialize.js';
import { DEFAULT_WIDE_BITS, resolveWideActs } from '../../generator/quant/wide-acts.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { generateFfe } from '../../generator/ffe/index.js';
import { evaluateVectors, simDesignOf } from '../../verify/sim/index.js';
import { graphOf, randomConvLayer, randomImage, randomQuant, tensor } from '../ffe/random-graphs.js';
import { beatsImage, imageBeats } from '../ffe/stream-driver.js';
import { badInputMessage } from '../helpers/bad-input.js';
import { streamWrapper, takenBeats, wrapperVectors } from '../ffe/sim-wrapper.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');
const onnx = readOnnxFile(MODEL);
const graph = importDecoded(onnx);
const outputs = graph.layers.map((l) => l.output);


describe('--wide-acts spec', () => {
  it('N[:BITS] widens the first N layer outputs; names; the widest width wins', () => {
    expect([...resolveWideActs(graph, '1')]).toEqual([[outputs[0], DEFAULT_WIDE_BITS]]);
    expect([...resolveWideActs(graph, '2:10')]).toEqual([[outputs[0], 10], [outputs[1], 10]]);
    expect([...resolveWideActs(graph, `2:10,${outputs[1]}:14, 1:9`)]).toEqual([[outputs[0], 10], [outputs[1], 14]]);
    expect([...resolveWideActs(graph, `${graph.firstTensor}:10`)]).toEqual([[graph.firstTensor, 10]]);
  });

  it('refuses a bad spec, naming it', () => {
    expect(badInputMessage(() => resolveWideActs(graph, ''))).toMatch(/--wide-acts '': expected N\[:BITS\]/);
    expect(badInputMessage(() => resolveWideActs(graph, '1,,2'))).toMatch(/expected N\[:BITS\] or TENSOR\[:BITS\]/);
    expect(badInputMessage(() => resolveWideActs(graph, '12'))).toMatch(/--wide-acts 12: N 12 outside 1\.\.11/);
    expect(badInputMessage(() => resolveWideActs(graph, '0'))).toMatch(/N 0 outside/);
    expect(badInputMessage(() => resolveWideActs(graph, '1:17'))).toMatch(/--wide-acts 1:17: BITS 17 outside 2\.\.16/);
    expect(badInputMessage(() => resolveWideActs(graph, 'nosuch:10'))).toMatch(/has no activation tensor 'nosuch' \(the first ones: /);
  });
});

describe('--wide-acts quantization', () => {
  const calibImages = mnistCalibration(8).images;

  it('gives the widened tensors their width, records it, and the integer model runs on it', async () => {
    const q = await quantizeModel(onnx, graph, { calibImages, wideActs: '2:12' });
    expect(q.tensors[outputs[0] ?? '']?.quant.bits).toBe(12);
    expect(q.tensors[outputs[1] ?? '']?.quant.bits).toBe(12);
    expect(q.tensors[outputs[2] ?? '']?.quant.bits).toBe(8);
    expect(q.tensors[graph.firstTensor]?.quant.bits).toBe(8);
    expect(q.calibration?.tensorBits).toEqual({ [outputs[0] ?? '']: 12, [outputs[1] ?? '']: 12 });
    // ReLU6 over 12 bits: the clamp reaches 4095 levels, 16 times the 8-bit tensor's step.
    const l0 = q.layers[0];
    expect(l0?.requant.clampMax).toBeGreaterThan(255);
    expect(l0?.requant.clampMax).toBeLessThanOrEqual(4095);
    const back = parseQuantizedGraph(serializeQuantizedGraph(q), 'round trip');
    expect(back.calibration?.tensorBits).toEqual(q.calibration?.tensorBits);
    const values = new IntegerModel(q).run(quantizeInput(q, calibImages[0] ?? new Float32Array()));
    const first = values.get(outputs[0] ?? '') ?? new Int32Array();
    expect(Math.max(...first)).toBeGreaterThan(255);
  });

  it('the accelerator refuses a widened tensor it reads, and takes one inside the fixed part', async () => {
    const q = await quantizeModel(onnx, graph, { calibImages, wideActs: '1' });
    expect(badInputMessage(() => configForModel(q, 8, 8, {}, { fromLayer: 1 }))).toMatch(/--wide-acts: tensor '.*' \(12-bit\) is on the accelerator .*with --fixed-layers 1 no tensor lies inside the fixed part/);
    expect(badInputMessage(() => configForModel(q, 8, 8, {}, { fromLayer: 0 }))).toMatch(/with --fixed-layers 0 there is no fixed part to widen/);
    expect(configForModel(q, 8, 8, {}, { fromLayer: 2 }).actBits).toBe(8);
  });
});

describe('a widened tensor inside the fixed part', () => {
  it('8-bit -> conv -> 12-bit -> conv -> 8-bit streams bit-exact with the integer model (DSL evaluator, random stalls)', () => {
    const rng = seededRandom(77);
    const x = tensor('x', [2, 3, 4], randomQuant(rng, 8));
    const t0 = tensor('t0', [3, 3, 4], randomQuant(rng, 12));
    const y = tensor('y', [2, 3, 4], randomQuant(rng, 8));
    const same = { stride: [1, 1] as const, pads: [1, 1, 1, 1] as const, kernel: [3, 3] as const, group: 1 };
    const graph = graphOf(x, [t0, y], [randomConvLayer(rng, 0, x, t0, { ...same, inChannels: 2, outChannels: 3 }), randomConvLayer(rng, 1, t0, y, { ...same, inChannels: 3, outChannels: 2 })]);
    const design = generateFfe(graph, { fixedLayers: 2, name: 'wide_mid' });
    expect([design.input.type.bits, design.output.type.bits]).toEqual([8, 8]);
    const frames = [randomImage(rng, x), randomImage(rng, x)];
    const beats = frames.flatMap((f) => imageBeats(f, x.shape, { channels: design.input.channels, ...design.input.type }));
    const sim = simDesignOf(streamWrapper('wrap_wide_mid', design.top, beats.length, design.input.channels * design.input.type.bits, design.input));
    const responses = evaluateVectors(sim.module, wrapperVectors(beats, beats.length * 4 + 200, rng, 0.6, 0.55));
    expect(responses[responses.length - 1]?.['frame_error']).toBe(0n);
    const data = takenBeats(responses, beats.length + 2).data;
    const per = design.throughput.outputBeatsPerFrame;
    expect(data.length).toBe(frames.length * per);
    const model = new IntegerModel(graph);
    frames.forEach((f, i) => {
      const got = beatsImage(data.slice(i * per, (i + 1) * per), y.shape, { channels: design.output.channels, ...design.output.type });
      const want = model.run(f);
      expect(Array.from(got), `frame ${i}`).toEqual(Array.from(want.get('y') ?? []));
      // The 12-bit tensor uses its width: values beyond 8 bits occur between the layers.
      expect(Math.max(...(want.get('t0') ?? [])) - Math.min(...(want.get('t0') ?? []))).toBeGreaterThan(255);
    });
  });
});
