/**
 * Test-only references, written the plain way (ONNX index formulas, bounds checks, bigint), to check the
 * prepared, fast integer model and the quantizer against (the float one is test/helpers/float-eval.ts):
 *  - `runIntegerNaive`: the QuantizedGraph by the words of docs/arithmetic.md, all in bigint.
 * Plus `exampleGraph`, a LayerGraph with every layer kind, odd non-square sizes and asymmetric pads.
 */
import type { Activation, Layer, LayerGraph, TensorInfo } from '../../generator/graph/ir.js';
import type { QLayer, QuantizedGraph } from '../../generator/quant/ir.js';

type Shape = readonly [number, number, number];

import { seededRandom } from '../../generator/common/seeded-random.js';


function randomArray(n: number, rand: () => number, range: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * range);
}

/** Output size of a window over `size` (ONNX floor formula). */
const windowOut = (size: number, k: number, s: number, before: number, after: number): number => Math.floor((size + before + after - k) / s) + 1;

/**
 * input [3, 9, 7] -> conv 3x3 s2 pads [0,0,1,1] ReLU6 -> depthwise 3x3 pads 1 ReLU -> pointwise (no act)
 * -> Add(depthwise, pointwise) ReLU -> maxpool 2x2 s2 pads [0,0,1,1] -> avgpool 3x3 pads 1 -> global avg
 * pool -> gemm 8 -> 5.
 */
export function exampleGraph(seed = 1, weightRange = 0.5): LayerGraph {
  const rand = seededRandom(seed);
  const tensors = new Map<string, TensorInfo>();
  const shapeOf = (name: string): Shape => tensors.get(name)?.shape ?? [0, 0, 0];
  const add = (name: string, shape: Shape): string => { tensors.set(name, { name, shape }); return name; };
  add('x', [3, 9, 7]);
  const layers: Layer[] = [];
  const base = (name: string, inputs: string[], output: string) => ({ index: layers.length, name, nodes: [name], inputs, output });
  const conv = (name: string, input: string, out: number, k: number, stride: number, pads: [number, number, number, number], group: number, activation: Activation): string => {
    const [c, h, w] = shapeOf(input);
    const output = add(`${name}_out`, [out, windowOut(h, k, stride, pads[0], pads[2]), windowOut(w, k, stride, pads[1], pads[3])]);
    const count = out * (c / group) * k * k;
    layers.push({
      kind: 'conv', ...base(name, [input], output), group, kernel: [k, k], stride: [stride, stride], dilation: [1, 1], pads, activation,
      weights: { shape: [out, c / group, k, k], float: randomArray(count, rand, weightRange) },
      bias: randomArray(out, rand, 0.2),
    });
    return output;
  };
  const c0 = conv('conv0', 'x', 8, 3, 2, [0, 0, 1, 1], 1, { kind: 'clip', min: 0, max: 6 });
  const dw = conv('dw1', c0, 8, 3, 1, [1, 1, 1, 1], 8, { kind: 'relu' });
  const pw = conv('pw1', dw, 8, 1, 1, [0, 0, 0, 0], 1, { kind: 'none' });
  const sum = add('sum', shapeOf(pw));
  layers.push({ kind: 'add', ...base('add2', [dw, pw], sum), activation: { kind: 'relu' } });
  const pool = (kind: 'maxpool' | 'avgpool', name: string, input: string, k: number, stride: number, pads: [number, number, number, number]): string => {
    const [c, h, w] = shapeOf(input);
    const output = add(`${name}_out`, [c, windowOut(h, k, stride, pads[0], pads[2]), windowOut(w, k, stride, pads[1], pads[3])]);
    layers.push({ kind, ...base(name, [input], output), kernel: [k, k], stride: [stride, stride], dilation: [1, 1], pads, countIncludePad: true });
    return output;
  };
  const mp = pool('maxpool', 'mp3', sum, 2, 2, [0, 0, 1, 1]);
  const ap = pool('avgpool', 'ap4', mp, 3, 1, [1, 1, 1, 1]);
  const gap = add('gap_out', [8, 1, 1]);
  layers.push({ kind: 'globalavgpool', ...base('gap5', [ap], gap) });
  const fc = add('fc_out', [5, 1, 1]);
  layers.push({
    kind: 'gemm', ...base('fc6', [gap], fc), activation: { kind: 'none' },
    weights: { shape: [5, 8], float: randomArray(40, rand, weightRange) }, bias: randomArray(5, rand, 0.2),
  });
  return {
    source: { file: 'example-graph', sha256: '0'.repeat(64) },
    input: { name: 'x', shape: [3, 9, 7], preprocess: { scale: [1, 1, 1], offset: [0, 0, 0] } },
    firstTensor: 'x', tensors, layers, output: fc, modelOutput: fc, softmaxOutside: false, quantized: false,
  };
}

export function randomImage(shape: Shape, seed: number, range = 1): Float32Array {
  return randomArray(shape[0] * shape[1] * shape[2], seededRandom(seed), range);
}

function forEachOutput(shape: Shape, f: (c: number, y: number, x: number, index: number) => void): void {
  for (let c = 0; c < shape[0]; c++) for (let y = 0; y < shape[1]; y++) for (let x = 0; x < shape[2]; x++) f(c, y, x, (c * shape[1] + y) * shape[2] + x);
}

// ---------------------------------------------------------------- naive bigint integer reference

/** y = clamp(((acc * M + 2^(s-1)) >> s) + zo), all bigint. */
export function ruleBig(acc: bigint, m: number, s: number, zo: number, lo: number, hi: number): number {
  const y = Number((acc * BigInt(m) + (1n << BigInt(s - 1))) >> BigInt(s)) + zo;
  return Math.min(hi, Math.max(lo, y));
}

export function runIntegerNaive(qg: QuantizedGraph, input: Int32Array): Map<string, Int32Array> {
  const values = new Map<string, Int32Array>([[qg.input.tensor, input]]);
  for (const layer of qg.layers) values.set(layer.output, naiveLayer(qg, layer, values));
  return values;
}

function naiveLayer(qg: QuantizedGraph, layer: QLayer, values: Map<string, Int32Array>): Int32Array {
  const inT = qg.tensors[layer.inputs[0] ?? ''];
  const outT = qg.tensors[layer.output];
  if (!inT || !outT) throw new Error('missing tensor');
  const x = values.get(inT.name) ?? new Int32Array(0);
  const inS = inT.shape;
  const out = new Int32Array(outT.shape[0] * outT.shape[1] * outT.shape[2]);
  const r = layer.requant;
  const rule = (acc: bigint, c: number): number => ruleBig(acc, r.multiplier[c] ?? 0, r.shift[c] ?? 1, r.outputZeroPoint, r.clampMin, r.clampMax);
  // Padding inserts the input's zero point.
  const zi = layer.kind === 'add' ? layer.inputZeroPoints[0] : layer.inputZeroPoint;
  const at = (c: number, y: number, xx: number): number | undefined =>
    y < 0 || xx < 0 || y >= inS[1] || xx >= inS[2] ? undefined : x[(c * inS[1] + y) * inS[2] + xx];
  forEachOutput(outT.shape, (m, oy, ox, o) => {
    switch (layer.kind) {
      case 'conv': {
        const [outC, cg, kh, kw] = layer.weightShape;
        const g = Math.floor(m / (outC / layer.group));
        let acc = BigInt(layer.bias[m] ?? 0);
        for (let c = 0; c < cg; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
          const v = at(g * cg + c, oy * layer.stride[0] - layer.pads[0] + i, ox * layer.stride[1] - layer.pads[1] + j) ?? zi;
          acc += BigInt(layer.weights[((m * cg + c) * kh + i) * kw + j] ?? 0) * BigInt(v - zi);
        }
        out[o] = rule(acc, m);
        return;
      }
      case 'gemm': {
        const n = layer.weightShape[1];
        let acc = BigInt(layer.bias[m] ?? 0);
        for (let k = 0; k < n; k++) acc += BigInt(layer.weights[m * n + k] ?? 0) * BigInt((x[k] ?? 0) - zi);
        out[o] = rule(acc, m);
        return;
      }
      case 'avgpool':
      case 'maxpool': {
        let sum = 0n;
        let best: bigint | undefined;
        for (let i = 0; i < layer.kernel[0]; i++) for (let j = 0; j < layer.kernel[1]; j++) {
          const v = at(m, oy * layer.stride[0] - layer.pads[0] + i, ox * layer.stride[1] - layer.pads[1] + j);
          if (v === undefined) continue;
          const centered = BigInt(v - zi);
          sum += centered;
          best = best === undefined || centered > best ? centered : best;
        }
        out[o] = rule(layer.kind === 'maxpool' ? best ?? 0n : sum, m);
        return;
      }
      case 'globalavgpool': {
        let sum = 0n;
        for (let i = 0; i < inS[1] * inS[2]; i++) sum += BigInt((x[m * inS[1] * inS[2] + i] ?? 0) - zi);
        out[o] = rule(sum, m);
        return;
      }
      case 'add': {
        const y = values.get(layer.inputs[1] ?? '') ?? new Int32Array(0);
        const acc = BigInt((x[o] ?? 0) - layer.inputZeroPoints[0]) * BigInt(layer.inputMultipliers[0])
          + BigInt((y[o] ?? 0) - layer.inputZeroPoints[1]) * BigInt(layer.inputMultipliers[1]);
        out[o] = rule(acc, m);
        return;
      }
    }
  });
  return out;
}

/**
 * A random chain of layers: convs (kernel 1/3/5, stride 1/2, asymmetric pads, dense / depthwise / grouped,
 * every activation), max and average pools, a residual Add where shapes allow, global pooling and a gemm.
 * Odd, non-square sizes.
 */
export function randomGraph(seed: number): LayerGraph {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const tensors = new Map<string, TensorInfo>();
  const shapeOf = (name: string): Shape => tensors.get(name)?.shape ?? [0, 0, 0];
  const add = (name: string, shape: Shape): string => { tensors.set(name, { name, shape }); return name; };
  const inShape: Shape = [pick([1, 2, 3]), 5 + Math.floor(rand() * 8), 5 + Math.floor(rand() * 8)];
  add('x', inShape);
  const layers: Layer[] = [];
  const base = (name: string, inputs: string[], output: string) => ({ index: layers.length, name, nodes: [name], inputs, output });
  let current = 'x';
  const depth = 3 + Math.floor(rand() * 4);
  for (let i = 0; i < depth; i++) {
    const [c, h, w] = shapeOf(current);
    const k = pick([1, 3, 5].filter((kk) => kk <= Math.max(h, w) + 2));
    const stride = h > 4 && w > 4 ? pick([1, 1, 2]) : 1;
    const pads: [number, number, number, number] = [0, 0, 0, 0].map(() => Math.floor(rand() * k)) as [number, number, number, number];
    const outH = windowOut(h, k, stride, pads[0], pads[2]);
    const outW = windowOut(w, k, stride, pads[1], pads[3]);
    if (outH < 1 || outW < 1) continue;
    const kind = pick(['dense', 'depthwise', 'grouped', 'maxpool', 'avgpool', 'add']);
    const name = `l${layers.length}`;
    if (kind === 'maxpool' || kind === 'avgpool') {
      const output = add(`${name}_out`, [c, outH, outW]);
      layers.push({ kind, ...base(name, [current], output), kernel: [k, k], stride: [stride, stride], dilation: [1, 1], pads, countIncludePad: true });
      current = output;
      continue;
    }
    if (kind === 'add' && layers.length > 0) {
      // A 1x1 conv beside the current tensor, added back to it.
      const side = add(`${name}_side`, [c, h, w]);
      layers.push({
        kind: 'conv', ...base(`${name}_pw`, [current], side), group: 1, kernel: [1, 1], stride: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0],
        activation: pick<Activation>([{ kind: 'none' }, { kind: 'relu' }]),
        weights: { shape: [c, c, 1, 1], float: randomArray(c * c, rand, 0.6) }, bias: randomArray(c, rand, 0.2),
      });
      const output = add(`${name}_out`, [c, h, w]);
      layers.push({ kind: 'add', ...base(name, [current, side], output), activation: pick<Activation>([{ kind: 'none' }, { kind: 'relu' }]) });
      current = output;
      continue;
    }
    const group = kind === 'depthwise' ? c : kind === 'grouped' && c % 2 === 0 ? 2 : 1;
    const out = kind === 'depthwise' ? c : group * (1 + Math.floor(rand() * 3));
    const output = add(`${name}_out`, [out, outH, outW]);
    const count = out * (c / group) * k * k;
    layers.push({
      kind: 'conv', ...base(name, [current], output), group, kernel: [k, k], stride: [stride, stride], dilation: [1, 1], pads,
      activation: pick<Activation>([{ kind: 'none' }, { kind: 'relu' }, { kind: 'clip', min: 0, max: 6 }, { kind: 'clip', min: -1, max: 1 }]),
      weights: { shape: [out, c / group, k, k], float: randomArray(count, rand, 0.8) }, bias: randomArray(out, rand, 0.3),
    });
    current = output;
  }
  const [c] = shapeOf(current);
  const gap = add('gap_out', [c, 1, 1]);
  layers.push({ kind: 'globalavgpool', ...base('gap', [current], gap) });
  const fc = add('fc_out', [4, 1, 1]);
  layers.push({
    kind: 'gemm', ...base('fc', [gap], fc), activation: { kind: 'none' },
    weights: { shape: [4, c], float: randomArray(4 * c, rand, 0.5) }, bias: randomArray(4, rand, 0.2),
  });
  return {
    source: { file: `random-graph-${seed}`, sha256: '0'.repeat(64) },
    input: { name: 'x', shape: inShape, preprocess: { scale: new Array<number>(inShape[0]).fill(1), offset: new Array<number>(inShape[0]).fill(0) } },
    firstTensor: 'x', tensors, layers, output: fc, modelOutput: fc, softmaxOutside: false, quantized: false,
  };
}
