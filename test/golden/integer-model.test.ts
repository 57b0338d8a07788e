import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgreementAccumulator } from '../../verify/eval/compare.js';
import { IntegerModel, quantizeInput } from '../../generator/golden/integer-model.js';
import { correctBiasesEmpirically } from '../../generator/calibrate/empirical-bias.js';
import { channelRequant, numbersAreExact, requantizeBig, requantizeNumber } from '../../generator/golden/requantize.js';
import { RangeCollector } from '../../generator/quant/calibrate.js';
import type { QuantizedGraph, QuantTensor } from '../../generator/quant/ir.js';
import { quantizeCalibrated } from '../../generator/quant/quantize.js';
import type { LayerGraph } from '../../generator/graph/ir.js';
import { exampleGraph, randomGraph, randomImage, ruleBig, runIntegerNaive } from './reference.js';
import { evaluateFloat } from '../helpers/float-eval.js';
import { FULL } from '../helpers/env.js';

function calibrate(graph: LayerGraph, images: Float32Array[], bits: { weightBits: number; actBits: number }, method: 'minmax' | 'mse' = 'minmax', biasCorrection = false): QuantizedGraph {
  const collector = new RangeCollector(images.length);
  for (const image of images) {
    for (const [name, { data: v }] of evaluateFloat(graph, image)) {
      collector.observe(name, v);
      collector.observeChannels(name, v, graph.tensors.get(name)?.shape[0] ?? 1);
    }
  }
  const ranges = collector.ranges(method, bits.actBits);
  return quantizeCalibrated(graph, { ranges, ...bits, images: images.length, method, ...(biasCorrection ? { channelMeans: collector.channelMeans() } : {}) });
}

function tensorOf(qg: QuantizedGraph, name: string): QuantTensor {
  const t = qg.tensors[name];
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
}

describe('the requantization rule', () => {
  it('matches the worked example of docs/arithmetic.md', () => {
    // real multiplier 0.0123 -> M = 51590, s = 22; acc = 1000 -> round(12.3) = 12, + zo 3 = 15.
    const r = channelRequant(51590, 22);
    expect(requantizeNumber(1000, r, 3, 0, 255)).toBe(15);
    expect(requantizeNumber(-1000, r, 3, -128, 127)).toBe(-12 + 3);
    expect(requantizeNumber(-100000, r, 3, 0, 255)).toBe(0);
  });

  it('rounds halves up (towards +infinity), as floor(x + 1/2)', () => {
    const r = channelRequant(1, 1); // acc / 2
    expect([-3, -1, 1, 3].map((acc) => requantizeNumber(acc, r, 0, -100, 100))).toEqual([-1, 0, 1, 2]);
  });

  it('number path equals the bigint rule wherever the bound admits numbers', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: -(2 ** 36), max: 2 ** 36 }), fc.integer({ min: -128, max: 127 }),
      (m, s, acc, zo) => {
        const r = channelRequant(m, s);
        const exact = ruleBig(BigInt(acc), m, s, zo, -(2 ** 20), 2 ** 20);
        if (numbersAreExact(Math.abs(acc), [r])) expect(requantizeNumber(acc, r, zo, -(2 ** 20), 2 ** 20)).toBe(exact);
        expect(requantizeBig(acc, r, zo, -(2 ** 20), 2 ** 20)).toBe(exact);
      },
    ), { numRuns: 2000 });
  });

  it('refuses the number path where acc * M could pass 2^53', () => {
    expect(numbersAreExact(2 ** 40, [channelRequant(65535, 30)])).toBe(false);
    expect(numbersAreExact(2 ** 30, [channelRequant(65535, 30)])).toBe(true);
  });
});

describe('the integer model', () => {
  const graph = exampleGraph(7);
  const calib = Array.from({ length: 8 }, (_, i) => randomImage(graph.input.shape, 100 + i));
  const tests = Array.from({ length: 6 }, (_, i) => randomImage(graph.input.shape, 500 + i));

  it.each([
    { weightBits: 8, actBits: 8 },
    { weightBits: 4, actBits: 6 },
    { weightBits: 2, actBits: 2 },
    { weightBits: 16, actBits: 16 },
    { weightBits: 12, actBits: 10 },
  ])('equals the naive bigint reference on every layer ($weightBits-bit weights, $actBits-bit activations)', (bits) => {
    const qg = calibrate(graph, calib, bits);
    const model = new IntegerModel(qg);
    for (const image of tests) {
      const q = model.quantizeInput(image);
      const fast = model.run(q);
      const naive = runIntegerNaive(qg, q);
      for (const layer of qg.layers) expect(Array.from(fast.get(layer.output) ?? []), layer.name).toEqual(Array.from(naive.get(layer.output) ?? []));
    }
  });

  it('tracks the float network: every layer >= 30 dB SQNR at 8 bits', () => {
    const qg = calibrate(graph, calib, { weightBits: 8, actBits: 8 });
    const model = new IntegerModel(qg);
    const acc = qg.layers.map((l) => new AgreementAccumulator(tensorOf(qg, l.output)));
    for (const image of tests) {
      const ints = model.run(model.quantizeInput(image));
      const floats = evaluateFloat(graph, image);
      qg.layers.forEach((l, i) => acc[i]?.add(ints.get(l.output) ?? new Int32Array(), Float32Array.from(floats.get(l.output)?.data ?? [])));
    }
    for (const a of acc) expect(a.result().sqnrDb, a.tensor.name).toBeGreaterThanOrEqual(30);
  });

  it('gains SQNR with activation width (about 6 dB per bit) when nothing is clipped', () => {
    // Calibrated on the test images themselves: no value falls outside its range, only rounding remains.
    const sqnrAt = (actBits: number): number => {
      const qg = calibrate(graph, tests, { weightBits: 16, actBits });
      const model = new IntegerModel(qg);
      const a = new AgreementAccumulator(tensorOf(qg, 'conv0_out'));
      for (const image of tests) a.add(model.run(model.quantizeInput(image)).get('conv0_out') ?? new Int32Array(), Float32Array.from(evaluateFloat(graph, image).get('conv0_out')?.data ?? []));
      return a.result().sqnrDb;
    };
    const gain = sqnrAt(10) - sqnrAt(6);
    expect(gain).toBeGreaterThan(4 * 4.5);
    expect(gain).toBeLessThan(4 * 7.5);
  });

  it('bias correction removes most of the mean output offset that coarse weights cause', () => {
    const images = Array.from({ length: 24 }, (_, i) => randomImage(graph.input.shape, 900 + i, 1));
    const meanOffset = (qg: QuantizedGraph): number => {
      const model = new IntegerModel(qg);
      const t = tensorOf(qg, 'pw1_out');
      const [c, h, w] = t.shape;
      const offsets = new Float64Array(c);
      for (const image of images) {
        const q = model.run(model.quantizeInput(image)).get('pw1_out') ?? new Int32Array();
        const f = evaluateFloat(graph, image).get('pw1_out')?.data ?? new Float64Array();
        for (let i = 0; i < q.length; i++) {
          const channel = Math.floor(i / (h * w));
          offsets[channel] = (offsets[channel] ?? 0) + (t.quant.scale * ((q[i] ?? 0) - t.quant.zeroPoint) - (f[i] ?? 0)) / (h * w * images.length);
        }
      }
      return offsets.reduce((sum, v) => sum + Math.abs(v), 0) / c;
    };
    const plain = meanOffset(calibrate(graph, images, { weightBits: 3, actBits: 12 }));
    const corrected = meanOffset(calibrate(graph, images, { weightBits: 3, actBits: 12 }, 'minmax', true));
    console.log(`mean |channel offset| of pw1 with 3-bit weights: ${plain.toExponential(2)} plain, ${corrected.toExponential(2)} bias-corrected`);
    expect(corrected).toBeLessThan(plain / 2);
  });

  it('empirical bias correction shrinks the mean channel offsets left after the analytic one', () => {
    const images = Array.from({ length: 24 }, (_, i) => randomImage(graph.input.shape, 1900 + i, 1));
    const collector = new RangeCollector(images.length);
    for (const image of images) {
      for (const [name, { data: v }] of evaluateFloat(graph, image)) collector.observeChannels(name, v, graph.tensors.get(name)?.shape[0] ?? 1);
    }
    const analytic = calibrate(graph, images, { weightBits: 4, actBits: 5 }, 'minmax', true);
    const empirical = correctBiasesEmpirically(analytic, images.map((image) => quantizeInput(analytic, image)), collector.channelMeans());
    const offset = (qg: QuantizedGraph, name: string): number => {
      const model = new IntegerModel(qg);
      const t = tensorOf(qg, name);
      const plane = t.shape[1] * t.shape[2];
      const sums = new Float64Array(t.shape[0]);
      for (const image of images) {
        const q = model.run(model.quantizeInput(image)).get(name) ?? new Int32Array();
        const f = evaluateFloat(graph, image).get(name)?.data ?? new Float64Array();
        for (let i = 0; i < q.length; i++) {
          const c = Math.floor(i / plane);
          sums[c] = (sums[c] ?? 0) + t.quant.scale * ((q[i] ?? 0) - t.quant.zeroPoint) - (f[i] ?? 0);
        }
      }
      return sums.reduce((a, v) => a + Math.abs(v), 0) / (t.shape[0] * plane * images.length);
    };
    for (const name of ['pw1_out', 'fc_out']) {
      console.log(`${name}: mean |channel offset| ${offset(analytic, name).toExponential(2)} analytic, ${offset(empirical, name).toExponential(2)} empirical`);
      expect(offset(empirical, name)).toBeLessThan(offset(analytic, name));
    }
  });

  it('uses bigint where 16-bit weights and activations push acc * M past 2^53, still equal to the naive rule', () => {
    const wide = exampleGraph(11, 50);
    const qg = calibrate(wide, calib, { weightBits: 16, actBits: 16 });
    const model = new IntegerModel(qg);
    const q = model.quantizeInput(tests[0] ?? new Float32Array());
    const naive = runIntegerNaive(qg, q);
    const fast = model.run(q);
    for (const layer of qg.layers) expect(Array.from(fast.get(layer.output) ?? [])).toEqual(Array.from(naive.get(layer.output) ?? []));
  });
});

describe('the integer model on random networks', () => {
  const seeds = Array.from({ length: FULL ? 200 : 40 }, (_, i) => 7000 + i);

  it(`equals the naive bigint reference on every layer of ${seeds.length} random networks`, () => {
    const kinds = new Set<string>();
    for (const seed of seeds) {
      const graph = randomGraph(seed);
      graph.layers.forEach((l) => kinds.add(l.kind === 'conv' ? `conv/g${l.group === 1 ? 1 : l.group === graph.tensors.get(l.inputs[0] ?? '')?.shape[0] ? 'dw' : 'n'}` : l.kind));
      const images = Array.from({ length: 3 }, (_, i) => randomImage(graph.input.shape, seed * 10 + i));
      const bits = { weightBits: 2 + (seed % 11), actBits: 2 + ((seed * 7) % 11) };
      const qg = calibrate(graph, images, bits, seed % 2 ? 'mse' : 'minmax', seed % 3 === 0);
      const model = new IntegerModel(qg);
      for (const image of images) {
        const q = model.quantizeInput(image);
        const fast = model.run(q);
        const naive = runIntegerNaive(qg, q);
        for (const layer of qg.layers) expect(Array.from(fast.get(layer.output) ?? []), `seed ${seed} layer ${layer.name}`).toEqual(Array.from(naive.get(layer.output) ?? []));
      }
    }
    expect([...kinds].sort()).toEqual(['add', 'avgpool', 'conv/g1', 'conv/gdw', 'conv/gn', 'gemm', 'globalavgpool', 'maxpool']);
  });
});
