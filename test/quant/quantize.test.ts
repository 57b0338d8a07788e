import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LayerGraph, TensorInfo } from '../../generator/graph/ir.js';
import { chooseMultiplier, chooseMultiplierForOutputs, chooseMultiplierReproducing, chooseSharedShift, multiplierBits, onnxRuntimeRequant, quantizeReal, quantParamsForRange, roundHalfEven } from '../../generator/quant/fixed-point.js';
import type { QConvLayer, QuantizedGraph } from '../../generator/quant/ir.js';
import { qRange } from '../../generator/quant/ir.js';
import { activationClamp, quantizeCalibrated, quantizeQdq, quantizeWeightsPerChannel } from '../../generator/quant/quantize.js';
import { parseQuantizedGraph, serializeQuantizedGraph } from '../../generator/quant/serialize.js';
import { formatMultiplierWidths, printQuantizedGraph } from '../../generator/quant/print.js';
import { RangeCollector } from '../../generator/quant/calibrate.js';
import { exampleGraph, randomImage } from '../golden/reference.js';
import { badInputMessage } from '../helpers/bad-input.js';
import { evaluateFloat } from '../helpers/float-eval.js';


function calibrated(graph: LayerGraph = exampleGraph(3)): QuantizedGraph {
  const collector = new RangeCollector(4);
  for (let i = 0; i < 4; i++) for (const [name, { data: v }] of evaluateFloat(graph, randomImage(graph.input.shape, i))) collector.observe(name, v);
  return quantizeCalibrated(graph, { ranges: collector.ranges('minmax', 8), weightBits: 8, actBits: 8, images: 4, method: 'minmax' });
}

describe('fixed-point multipliers', () => {
  it('M has 16 bits and M / 2^s is within 2^-16 (relative) of the real multiplier', () => {
    fc.assert(fc.property(fc.double({ min: 1e-9, max: 30000, noNaN: true }), (real) => {
      const { multiplier, shift } = chooseMultiplier(real, 't');
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 15);
      expect(multiplier).toBeLessThan(2 ** 16);
      expect(shift).toBeGreaterThanOrEqual(1);
      expect(Math.abs(multiplier / 2 ** shift - real) / real).toBeLessThanOrEqual(2 ** -16);
    }), { numRuns: 3000 });
  });

  it('gives 0 for an all-zero channel and refuses a multiplier of 2^15 or more', () => {
    expect(chooseMultiplier(0, 't')).toEqual({ multiplier: 0, shift: 1 });
    expect(badInputMessage(() => chooseMultiplier(40000, 'layer 3'))).toMatch(/layer 3.*multiplier/);
  });

  it('a shared shift gives the larger multiplier full precision and keeps the ratio', () => {
    const { multipliers, shift } = chooseSharedShift([0.8, 0.05], 't');
    expect(multipliers[0]).toBeGreaterThanOrEqual(2 ** 15);
    expect(Math.abs((multipliers[1] ?? 0) / 2 ** shift - 0.05)).toBeLessThan(2 ** -shift);
  });
});

describe('choosing M for the output range', () => {
  /** Accumulators inside the output range whose rule result differs from round(acc * real). */
  function flips(real: number, m: number, s: number, yHi: number): number {
    let count = 0;
    for (let acc = 0; acc * real <= yHi + 0.5; acc++) {
      if (Math.floor(acc * real + 0.5) !== Math.floor((acc * m + 2 ** (s - 1)) / 2 ** s)) count++;
    }
    return count;
  }

  it('never flips more roundings than the nearest M, and stays beside it', () => {
    fc.assert(fc.property(fc.double({ min: 0.002, max: 0.9, noNaN: true }), fc.integer({ min: 15, max: 255 }), (real, yHi) => {
      const nearest = chooseMultiplier(real, 't');
      const chosen = chooseMultiplierForOutputs(real, 0, yHi, 't');
      expect(chosen.shift).toBe(nearest.shift);
      expect(Math.abs(chosen.multiplier - nearest.multiplier)).toBeLessThanOrEqual(2);
      expect(flips(real, chosen.multiplier, chosen.shift, yHi)).toBeLessThanOrEqual(flips(real, nearest.multiplier, nearest.shift, yHi));
    }), { numRuns: 60 });
  });

  it('finds a neighbour that rounds every output like the exact multiplier where one exists', () => {
    // MobileNet QDQ's dw1 multiplier: the nearest M flips 10 accumulators in [0, 255].
    const real = 0.12383396178483963;
    const nearest = chooseMultiplier(real, 't');
    const chosen = chooseMultiplierForOutputs(real, 0, 255, 't');
    expect(flips(real, chosen.multiplier, chosen.shift, 255)).toBeLessThanOrEqual(flips(real, nearest.multiplier, nearest.shift, 255));
  });
});

describe('choosing M to reproduce ONNX Runtime', () => {
  const rule = (acc: number, m: number, s: number): number => Math.floor((acc * m + 2 ** (s - 1)) / 2 ** s);
  const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v)) + 0; // + 0: no -0

  it('equals ORT\'s float32 requantization on every reachable accumulator, with the fewest bits', () => {
    // Float32 scales with a long odd mantissa, as real quantizers write them (a short one, like 0.5, makes
    // ties that round half to even, which no M reproduces: the next test); small ranges keep the
    // brute-force check of narrower widths cheap.
    const mantissa = fc.integer({ min: 2 ** 22, max: 2 ** 23 - 1 }).map((m) => m | 1);
    fc.assert(fc.property(mantissa, fc.integer({ min: 1, max: 10 }), fc.integer({ min: 20, max: 600 }), (m, e, reach) => {
      const scale = Math.fround((m / 2 ** 23) * 2 ** -e);
      const reference = onnxRuntimeRequant(scale);
      const range = { yLo: -128, yHi: 127, accLo: -reach, accHi: reach };
      const { multiplier, shift } = chooseMultiplierReproducing(reference, scale, range, 't');
      for (let acc = -reach; acc <= reach; acc++) {
        expect(clamp(rule(acc, multiplier, shift), -128, 127)).toBe(clamp(reference(acc), -128, 127));
      }
      // Minimal: no M of fewer bits, at any shift, reproduces the reference (brute force).
      const bits = multiplierBits(multiplier);
      for (let s = 1; s <= shift + 2; s++) {
        for (let m = 0; m < (bits === 0 ? 0 : 2 ** (bits - 1)); m++) {
          let same = true;
          for (let acc = -reach; acc <= reach && same; acc++) same = clamp(rule(acc, m, s), -128, 127) === clamp(reference(acc), -128, 127);
          expect(same, `M=${m} s=${s} would do with fewer bits than ${bits}`).toBe(false);
        }
      }
    }), { numRuns: 12, seed: 8 });
  });

  it('falls back to the nearest 32-bit M where ORT rounds exact ties to even', () => {
    const reference = onnxRuntimeRequant(0.5);
    const chosen = chooseMultiplierReproducing(reference, 0.5, { yLo: -128, yHi: 127, accLo: -20, accHi: 20 }, 't');
    expect(chosen).toEqual(chooseMultiplier(0.5, 't', 32));
    expect(reference(1)).toBe(0); // 0.5 -> 0 (even); the rule rounds half up
    expect(rule(1, chosen.multiplier, chosen.shift)).toBe(1);
  });

  it('forces a width when asked, and falls back to the nearest M of it', () => {
    const scale = Math.fround(0.0123077);
    const range = { yLo: 0, yHi: 255, accLo: -20000, accHi: 20000 };
    for (const bits of [8, 16, 24, 32]) {
      const chosen = chooseMultiplierReproducing(onnxRuntimeRequant(scale), scale, range, 't', bits);
      expect(multiplierBits(chosen.multiplier)).toBe(bits);
    }
  });
});

describe('an input on a pixel grid', () => {
  const pixels = Float32Array.from({ length: 256 * 4 }, (_, i) => Math.fround(((i % 256) - 127.5) / 127.5));
  const levels = (range: { min: number; max: number }): number => {
    const q = quantParamsForRange(range.min, range.max, 8);
    return new Set(Array.from(pixels, (v) => quantizeReal(v, q))).size;
  };

  it('(p - 127.5) / 127.5 keeps 255 of its 256 levels apart, where its observed range merges 65 pairs (ties)', () => {
    const collector = new RangeCollector(1);
    collector.observe('x', pixels);
    const grid = collector.gridRange('x', 8);
    expect(grid).toBeDefined();
    expect(levels({ min: -1, max: 1 })).toBe(191);
    expect(levels(grid as { min: number; max: number })).toBe(255);
  });

  it('leaves alone a grid through 0, values off a grid, and more levels than q', () => {
    const of = (values: Float32Array, bits = 8): unknown => {
      const collector = new RangeCollector(1);
      collector.observe('x', values);
      return collector.gridRange('x', bits);
    };
    expect(of(Float32Array.from({ length: 256 }, (_, i) => i / 255))).toBeUndefined();
    expect(of(Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) - 0.01))).toBeUndefined();
    expect(of(pixels, 7)).toBeUndefined();
  });
});

describe('activation and weight quantization', () => {
  it('ranges with a non-negative minimum are unsigned with zero point 0; others signed with 0 exact', () => {
    expect(quantParamsForRange(0, 6, 8)).toEqual({ scale: 6 / 255, zeroPoint: 0, bits: 8, signed: false });
    fc.assert(fc.property(fc.double({ min: -50, max: -1e-3, noNaN: true }), fc.double({ min: -10, max: 50, noNaN: true }), fc.integer({ min: 2, max: 16 }), (lo, hi, bits) => {
      const q = quantParamsForRange(lo, hi, bits);
      const { min, max } = qRange(q);
      expect(q.signed).toBe(true);
      expect(q.zeroPoint).toBeGreaterThanOrEqual(min);
      expect(q.zeroPoint).toBeLessThanOrEqual(max);
      // Both ends of the range are reachable within one step.
      expect(q.scale * (min - q.zeroPoint)).toBeLessThanOrEqual(lo + q.scale);
      expect(q.scale * (max - q.zeroPoint)).toBeGreaterThanOrEqual(Math.max(hi, 0) - q.scale);
    }));
  });

  it('ReLU6 becomes the clamp [zp, zp + round(6 / scale)]', () => {
    const q = { scale: 0.03, zeroPoint: 0, bits: 8, signed: false };
    expect(activationClamp(q, { kind: 'clip', min: 0, max: 6 })).toEqual({ min: 0, max: 200 });
    expect(activationClamp({ ...q, scale: 0.01 }, { kind: 'clip', min: 0, max: 6 })).toEqual({ min: 0, max: 255 });
    expect(activationClamp({ scale: 0.1, zeroPoint: -20, bits: 8, signed: true }, { kind: 'relu' })).toEqual({ min: -20, max: 127 });
  });

  it('QuantizeLinear rounds half to even and saturates', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2]);
    const q = { scale: 0.5, zeroPoint: 3, bits: 8, signed: false };
    expect([1.25, 0.75, -10, 1000].map((x) => quantizeReal(x, q))).toEqual([5, 5, 0, 255]);
  });

  it('weights are symmetric per output channel, never worse than max-scaling, exact when already on a grid', () => {
    const w = Float32Array.from([0.1, -0.4, 0.2, 0, 3, -1.5, 0, 0, 0]);
    const { ints, scale } = quantizeWeightsPerChannel(w, 3, 4);
    expect(ints.slice(6)).toEqual([0, 0, 0]);
    expect(scale[2]).toBe(1);
    for (const v of ints) expect(Math.abs(v)).toBeLessThanOrEqual(7);
    // A channel trained on a grid of step 0.013 with |q| <= 90 comes back exactly.
    const grid = Float32Array.from([-90, 3, 17, 0, 55, -1, 89, 2], (q) => q * 0.013);
    const exact = quantizeWeightsPerChannel(grid, 1, 8);
    exact.ints.forEach((q, k) => expect(q * (exact.scale[0] ?? 0)).toBeCloseTo(grid[k] ?? 0, 6));
    fc.assert(fc.property(fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 4, maxLength: 40 }), fc.integer({ min: 2, max: 10 }), (values, bits) => {
      const channel = Float32Array.from(values);
      const qMax = 2 ** (bits - 1) - 1;
      const chosen = quantizeWeightsPerChannel(channel, 1, bits);
      const error = (s: number, q: (w: number) => number): number => values.reduce((sum, v) => sum + (Math.fround(v) - q(Math.fround(v)) * s) ** 2, 0);
      const largest = Math.max(...values.map((v) => Math.abs(Math.fround(v))));
      if (largest === 0) return;
      const plain = error(largest / qMax, (v) => Math.round(v / (largest / qMax)));
      const ours = chosen.ints.reduce((sum, q, k) => sum + ((channel[k] ?? 0) - q * (chosen.scale[0] ?? 0)) ** 2, 0);
      expect(ours).toBeLessThanOrEqual(plain * (1 + 1e-9) + 1e-18);
      for (const q of chosen.ints) expect(Math.abs(q)).toBeLessThanOrEqual(qMax);
    }), { numRuns: 300 });
  });
});

describe('quantizeCalibrated', () => {
  it('builds a graph that passes the checker, with the real multipliers in M / 2^s', () => {
    const qg = calibrated();
    const conv = qg.layers[0] as QConvLayer;
    const inScale = qg.tensors['x']?.quant.scale ?? 0;
    const outScale = qg.tensors[conv.output]?.quant.scale ?? 0;
    conv.requant.multiplier.forEach((m, c) => {
      const real = (inScale * (conv.weightScale[c] ?? 0)) / outScale;
      expect(Math.abs(m / 2 ** (conv.requant.shift[c] ?? 0) - real) / real).toBeLessThan(2 ** -15);
    });
    // The maxpool keeps its input's quantization; its requantization is the identity.
    expect(qg.tensors['mp3_out']?.quant).toEqual(qg.tensors['sum']?.quant);
  });

  it('names the tensor when a calibration range is missing', () => {
    const graph = exampleGraph(3);
    expect(badInputMessage(() => quantizeCalibrated(graph, { ranges: new Map(), weightBits: 8, actBits: 8, images: 0, method: 'minmax' }))).toMatch(/no calibration range for tensor 'x'/);
    expect(badInputMessage(() => quantizeCalibrated(graph, { ranges: new Map(), weightBits: 17, actBits: 8, images: 0, method: 'minmax' }))).toMatch(/--weight-bits 17.*2 to 16/);
  });

  it('gives AveragePool with pads and count_include_pad=0 one multiplier per border window size', () => {
    const graph = exampleGraph(3);
    const layers = graph.layers.map((l) => (l.kind === 'avgpool' ? { ...l, countIncludePad: false } : l));
    const qg = calibrated({ ...graph, layers });
    const ap = qg.layers.find((l) => l.kind === 'avgpool');
    if (ap?.kind !== 'avgpool') throw new Error('no avgpool');
    // 3x3, stride 1, pads 1 over a 2x2 input: every window holds the 2x2 real pixels.
    expect(ap.borderDivisors?.map((d) => d.count)).toEqual([4]);
    const inScale = qg.tensors[ap.inputs[0] ?? '']?.quant.scale ?? 0;
    const outScale = qg.tensors[ap.output]?.quant.scale ?? 0;
    for (const d of ap.borderDivisors ?? []) expect(d.multiplier / 2 ** d.shift).toBeCloseTo(inScale / (d.count * outScale), 4);
    expect(parseQuantizedGraph(serializeQuantizedGraph(qg), 'q.json')).toEqual(qg);
    expect(calibrated(graph).layers.find((l) => l.kind === 'avgpool')).not.toHaveProperty('borderDivisors');
  });
});

describe('quantizeQdq', () => {
  /** One QDQ conv: the model's integers and scales must come through unchanged. */
  function qdqGraph(): LayerGraph {
    const tensors = new Map<string, TensorInfo>([
      ['x', { name: 'x', shape: [2, 4, 4], quant: { scale: 0.02, zeroPoint: 128, signed: false, bits: 8 } }],
      ['y', { name: 'y', shape: [3, 4, 4], quant: { scale: 0.05, zeroPoint: -5, signed: true, bits: 8 } }],
    ]);
    const int = Int32Array.from({ length: 3 * 2 * 9 }, (_, i) => ((i * 37) % 255) - 127);
    const scale = Float64Array.from([0.01, 0.02, 0.004]);
    return {
      source: { file: 'qdq.onnx', sha256: '1'.repeat(64) },
      input: { name: 'x', shape: [2, 4, 4], preprocess: { scale: [1, 1], offset: [0, 0] } },
      firstTensor: 'x', tensors, output: 'y', modelOutput: 'y', softmaxOutside: false, quantized: true,
      layers: [{
        kind: 'conv', index: 0, name: 'conv', nodes: ['conv'], inputs: ['x'], output: 'y', group: 1,
        kernel: [3, 3], stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], activation: { kind: 'relu' },
        weights: { shape: [3, 2, 3, 3], float: Float32Array.from(int, (v, i) => v * (scale[Math.floor(i / 18)] ?? 0)), int, scale, biasInt: Int32Array.from([100, -2000, 7]) },
        bias: new Float32Array(3),
      }],
    };
  }

  it('keeps the model integer weights, biases, zero points and scales', () => {
    const graph = qdqGraph();
    const qg = quantizeQdq(graph);
    const conv = qg.layers[0] as QConvLayer;
    expect(qg.origin).toBe('qdq');
    expect(conv.weights).toEqual(Array.from((graph.layers[0] as { weights: { int: Int32Array } }).weights.int));
    expect(conv.bias).toEqual([100, -2000, 7]);
    expect(conv.inputZeroPoint).toBe(128);
    expect(conv.weightBits).toBe(8);
    expect(conv.requant.outputZeroPoint).toBe(-5);
    expect(conv.requant.clampMin).toBe(-5); // ReLU: the real 0
    expect(conv.requant.multiplier[1]! / 2 ** conv.requant.shift[1]!).toBeCloseTo((0.02 * 0.02) / 0.05, 6);
  });

  it('prints one diffable line per tensor and layer', () => {
    const text = printQuantizedGraph(quantizeQdq(qdqGraph()));
    const conv = quantizeQdq(qdqGraph()).layers[0] as QConvLayer;
    const m = conv.requant.multiplier;
    const span = Math.min(...m) === Math.max(...m) ? String(m[0]) : `${Math.min(...m)}..${Math.max(...m)}`;
    expect(text).toBe([
      'quantized qdq.onnx (qdq)',
      'input x [2,4,4] -> x',
      'tensor x [2,4,4] u8 scale=0.0200000 zp=128',
      'tensor y [3,4,4] i8 scale=0.0500000 zp=-5',
      `layer 0 conv "conv" x -> y Mbits=${formatMultiplierWidths(conv)} w[3,2,3,3]/g1 k3x3 s1x1 pads[1,1,1,1] w8b zi=128 M=${span} s=${Math.min(...conv.requant.shift)}..${Math.max(...conv.requant.shift)} zo=-5 clamp=[-5,127]`,
      'output y',
      '',
    ].join('\n'));
  });

  it('refuses a QDQ graph with an unquantized tensor, naming it', () => {
    const graph = qdqGraph();
    const tensors = new Map(graph.tensors);
    tensors.set('y', { name: 'y', shape: [3, 4, 4] });
    expect(badInputMessage(() => quantizeQdq({ ...graph, tensors }))).toMatch(/tensor 'y'/);
  });
});

describe('serialization and the checker', () => {
  it('round-trips through JSON byte-identically', () => {
    const qg = calibrated();
    const text = serializeQuantizedGraph(qg);
    const back = parseQuantizedGraph(text, 'manifest.json');
    expect(serializeQuantizedGraph(back)).toBe(text);
    expect(back).toEqual(JSON.parse(JSON.stringify(qg)));
  });

  it('rejects broken graphs with the reason', () => {
    const qg = calibrated();
    const json = JSON.parse(serializeQuantizedGraph(qg)) as { layers: Array<Record<string, unknown> & { requant: { multiplier: number[]; clampMax: number } }> };
    const edit = (f: (j: typeof json) => void): string => {
      const copy = structuredClone(json);
      f(copy);
      return badInputMessage(() => parseQuantizedGraph(JSON.stringify(copy), 'm.json'));
    };
    expect(edit((j) => { j.layers[0]!.requant.multiplier[0] = 2 ** 32; })).toMatch(/multiplier 4294967296/);
    expect(edit((j) => { j.layers[0]!.requant.clampMax = 300; })).toMatch(/clamp/);
    expect(edit((j) => { (j.layers[0]!.weights as number[]).pop(); })).toMatch(/weights, shape needs/);
    expect(edit((j) => { j.layers.reverse(); })).toMatch(/index|before it is produced/);
    expect(edit((j) => { j.layers[0]!.kind = 'lstm'; })).toMatch(/layers\.0/);
    expect(badInputMessage(() => parseQuantizedGraph('{', 'm.json'))).toMatch(/m\.json: not valid JSON/);
  });
});
