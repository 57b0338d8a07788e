/**
 * The golden integer model: executes a QuantizedGraph exactly as the hardware will (docs/arithmetic.md)
 * and returns every layer's integer output. It shares no code with the hardware generators: it is the
 * reference they are checked against.
 *
 * Activations are [C, H, W] row-major Int32Arrays of q values. Each layer is prepared once (nonzero
 * weights with precomputed offsets into a zero-padded, zero-point-subtracted input) so that thousands of
 * images run quickly. Accumulators are JS numbers: each layer proves a bound |acc| <= accBound < 2^53 at
 * preparation time (so every sum of integer products is exact), and requantizes with numbers only when
 * accBound * M + 2^(s-1) < 2^53 too, with bigint otherwise.
 */
import { badInput } from '../common/errors.js';
import type { QAddLayer, QConvLayer, QGemmLayer, QGlobalAvgPoolLayer, QLayer, QPoolLayer, QuantizedGraph, QuantTensor, Requantization } from '../quant/ir.js';
import { qRange, tapsInside } from '../quant/ir.js';
import { quantizeInput } from '../quant/io.js';
export { dequantize, quantizeInput } from '../quant/io.js';
import type { ChannelRequant } from './requantize.js';
import { channelRequant, EXACT_LIMIT, numbersAreExact, requantizeBig, requantizeNumber } from './requantize.js';

type Shape = readonly [number, number, number];
/** A layer on its inputs; `into` (a result of this executor before) is overwritten instead of allocating. */
type Executor = (inputs: readonly Int32Array[], into?: Int32Array) => Int32Array;

/** Every tensor's integer values after one run: the input tensor and each layer's output, by name. */
export type IntegerActivations = Map<string, Int32Array>;

export class IntegerModel {
  /** Each layer's executor, prepared on first use (a caller running one layer pays for that layer only). */
  private readonly steps: ReadonlyArray<{ readonly layer: QLayer; readonly run: Executor; reused?: Int32Array }>;

  constructor(readonly graph: QuantizedGraph) {
    this.steps = graph.layers.map((layer) => {
      let prepared: Executor | undefined;
      return { layer, run: (inputs: readonly Int32Array[], into?: Int32Array) => (prepared ??= prepareLayer(graph, layer))(inputs, into) };
    });
  }

  /**
   * Runs one image given as q values of the input tensor. `reuse`: the layers' outputs are written into
   * the arrays of the previous reusing run (valid until the next one), so a caller that consumes each
   * image's results at once allocates nothing per image; the values are the same.
   */
  run(input: Int32Array, options: { readonly reuse?: boolean } = {}): IntegerActivations {
    const values: IntegerActivations = new Map([[this.graph.input.tensor, input]]);
    for (const step of this.steps) {
      const inputs = step.layer.inputs.map((name) => values.get(name) ?? missing(name));
      const out = step.run(inputs, options.reuse ? step.reused : undefined);
      if (options.reuse) step.reused = out;
      values.set(step.layer.output, out);
    }
    return values;
  }

  /** Runs one layer (by index) on its input tensors' values. */
  runLayer(index: number, inputs: readonly Int32Array[]): Int32Array {
    const step = this.steps[index];
    if (!step) throw new Error(`integer model: no layer ${index}`);
    return step.run(inputs);
  }

  /**
   * The chip's answer (docs/arithmetic.md §10): the class whose final accumulator, brought to one scale,
   * is largest: argmax over m of acc[m] * M[m] * 2^(S - s[m]) with S the largest shift (per-channel weight
   * scales make the raw accumulators incomparable), lowest index on ties. `values` is a run's result.
   * Where the last layer is not a conv/gemm, it is the argmax of the output q.
   */
  chipAnswer(values: IntegerActivations): number {
    const last = this.graph.layers[this.graph.layers.length - 1];
    if (!last || (last.kind !== 'conv' && last.kind !== 'gemm')) return firstArgmax(values.get(this.graph.output) ?? new Int32Array());
    const input = tensorOf(this.graph, last.inputs[0] ?? '');
    const output = tensorOf(this.graph, last.output);
    const acc = (last.kind === 'conv' ? prepareConv(last, input, output, true) : prepareGemm(last, input, output, true))([values.get(last.inputs[0] ?? '') ?? missing(last.inputs[0] ?? '')]);
    const { multiplier, shift } = last.requant;
    const top = BigInt(Math.max(...shift));
    const perChannel = acc.length / multiplier.length;
    let best = -1;
    let bestScore = 0n;
    for (let m = 0; m < multiplier.length; m++) {
      for (let p = 0; p < perChannel; p++) {
        const score = BigInt(acc[m * perChannel + p] ?? 0) * BigInt(multiplier[m] ?? 0) << (top - BigInt(shift[m] ?? 0));
        if (best < 0 || score > bestScore) { best = m; bestScore = score; }
      }
    }
    return best;
  }

  /** Float image as the model takes it ([C, H, W]) -> q of the input tensor (see quantizeInput). */
  quantizeInput(image: Float32Array): Int32Array {
    return quantizeInput(this.graph, image);
  }
}

function firstArgmax(values: Int32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/** `raw`: return the accumulators instead of requantizing (the chip's answer); they must fit 32 bits. */
function rawOr(requantize: (acc: number, m: number) => number, raw: boolean, bound: number, what: string): (acc: number, m: number) => number {
  if (!raw) return requantize;
  if (bound >= 2 ** 31) throw badInput(`${what}: accumulator bound ${bound} does not fit 32 bits; the chip's answer needs the final accumulators`);
  return (acc) => acc;
}

function missing(name: string): never {
  throw new Error(`integer model: tensor '${name}' used before it was computed (graph check should prevent this)`);
}

function tensorOf(graph: QuantizedGraph, name: string): QuantTensor {
  const t = graph.tensors[name];
  if (!t) throw badInput(`quantized graph: tensor '${name}' is missing`);
  return t;
}

function prepareLayer(graph: QuantizedGraph, layer: QLayer): Executor {
  const input = tensorOf(graph, layer.inputs[0] ?? '');
  const output = tensorOf(graph, layer.output);
  switch (layer.kind) {
    case 'conv': return prepareConv(layer, input, output);
    case 'gemm': return prepareGemm(layer, input, output);
    case 'avgpool': return prepareAvgPool(layer, input, output);
    case 'maxpool': return prepareMaxPool(layer, input, output);
    case 'globalavgpool': return prepareGlobalAvgPool(layer, input, output);
    case 'add': return prepareAdd(layer, input, tensorOf(graph, layer.inputs[1] ?? ''), output);
  }
}

/** Largest |q - zeroPoint| an input value can have. */
function maxCentered(tensor: QuantTensor): number {
  const { min, max } = qRange(tensor.quant);
  return Math.max(Math.abs(max - tensor.quant.zeroPoint), Math.abs(min - tensor.quant.zeroPoint));
}

/** Per-channel requantization with the number path where the bound allows it, bigint otherwise. */
function makeRequantizer(r: Requantization, accBound: number, what: string): (acc: number, channel: number) => number {
  if (accBound > EXACT_LIMIT) throw badInput(`${what}: accumulator bound ${accBound} exceeds 2^53; weights or activations are too wide (supported: up to 16-bit weights and activations)`);
  const channels: ChannelRequant[] = r.multiplier.map((m, c) => channelRequant(m, r.shift[c] ?? 1));
  const { outputZeroPoint: zo, clampMin: lo, clampMax: hi } = r;
  // A leaky activation: acc < 0 takes its own multiplier and shift (the slope folded in).
  const below = r.negative?.multiplier.map((m, c) => channelRequant(m, r.negative?.shift[c] ?? 1));
  const apply = numbersAreExact(accBound, [...channels, ...(below ?? [])]) ? requantizeNumber : requantizeBig;
  if (below) return (acc, c) => apply(acc, (acc < 0 ? below[c] : channels[c]) as ChannelRequant, zo, lo, hi);
  return (acc, c) => apply(acc, channels[c] as ChannelRequant, zo, lo, hi);
}

/**
 * x - zeroPoint inside `pads` rows/columns of zeros (= the zero point): one buffer per layer, reused from
 * image to image; only its interior is written, so the border stays zero (a fresh buffer per image and
 * layer cost more in allocation and GC than the copy).
 */
function paddedInput(shape: Shape, pads: readonly number[], zeroPoint: number): { readonly height: number; readonly width: number; readonly fill: (x: Int32Array) => Int32Array } {
  const [c, h, w] = shape;
  const [top = 0, left = 0, bottom = 0, right = 0] = pads;
  const height = h + top + bottom;
  const width = w + left + right;
  const data = new Int32Array(c * height * width);
  const fill = (x: Int32Array): Int32Array => {
    if (x.length < c * h * w) throw new Error(`internal: ${x.length} values for a ${c}x${h}x${w} tensor`);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        const from = (ch * h + y) * w;
        const to = (ch * height + y + top) * width + left;
        for (let i = 0; i < w; i++) data[to + i] = (x[from + i] as number) - zeroPoint;
      }
    }
    return data;
  };
  return { height, width, fill };
}

interface DotProducts {
  /** Per output channel: offsets (relative to the window's top-left in the padded input) and weights. */
  readonly offsets: Int32Array[];
  readonly weights: Int32Array[];
}

function prepareConv(layer: QConvLayer, input: QuantTensor, output: QuantTensor, raw = false): Executor {
  const [outC, perGroup, kh, kw] = layer.weightShape;
  const [, outH, outW] = output.shape;
  const pad = paddedInput(input.shape, layer.pads, layer.inputZeroPoint);
  const paddedH = pad.height;
  const paddedW = pad.width;
  const outPerGroup = outC / layer.group;
  const [dy, dx] = layer.dilation;
  const dots = nonzeroTaps(layer.weights, outC, perGroup * kh * kw, (m, k) => {
    const c = Math.floor(m / outPerGroup) * perGroup + Math.floor(k / (kh * kw));
    const i = Math.floor((k % (kh * kw)) / kw);
    return (c * paddedH + i * dy) * paddedW + (k % kw) * dx;
  });
  const bound = accBound(layer.weights, layer.bias, perGroup * kh * kw, input);
  const what = `layer ${layer.index} '${layer.name}'`;
  const requantize = rawOr(makeRequantizer(layer.requant, bound, what), raw, bound, what);
  const [sy, sx] = layer.stride;
  const plane = outH * outW;
  // Stride 1: the accumulators are rows of the padded width, so each tap is one contiguous loop over the
  // plane (the columns past outW are summed and dropped; tap offsets stay inside the padded input).
  const strideOne = sx === 1 && sy === 1;
  const accRow = strideOne ? paddedW : outW;
  const span = strideOne ? (outH - 1) * paddedW + outW : plane;
  // One output channel's accumulators (doubles: exact, every partial sum is within the layer's bound).
  const acc = new Float64Array(strideOne ? outH * paddedW : plane);
  const requantizePlane = raw ? planeOf(requantize) : planeRequantizer(layer.requant, bound, what);
  return ([x], into) => {
    const padded = pad.fill(x ?? new Int32Array(0));
    const out = into ?? new Int32Array(outC * plane);
    for (let m = 0; m < outC; m++) {
      const offsets = dots.offsets[m] as Int32Array;
      const weights = dots.weights[m] as Int32Array;
      acc.fill(layer.bias[m] ?? 0);
      // Tap by tap over the whole output plane: the inner loop walks the input with fixed weights, eight
      // taps at a time, then four, then one (one load and store of each accumulator per eight products;
      // every partial sum is within the layer's bound, so the doubles stay exact in any order).
      const taps = offsets.length;
      let t = 0;
      for (; t + 7 < taps; t += 8) {
        const w0 = weights[t] as number, w1 = weights[t + 1] as number, w2 = weights[t + 2] as number, w3 = weights[t + 3] as number;
        const w4 = weights[t + 4] as number, w5 = weights[t + 5] as number, w6 = weights[t + 6] as number, w7 = weights[t + 7] as number;
        const o0 = offsets[t] as number, o1 = offsets[t + 1] as number, o2 = offsets[t + 2] as number, o3 = offsets[t + 3] as number;
        const o4 = offsets[t + 4] as number, o5 = offsets[t + 5] as number, o6 = offsets[t + 6] as number, o7 = offsets[t + 7] as number;
        if (strideOne) {
          for (let i = 0; i < span; i++) {
            acc[i] = (acc[i] as number) + w0 * (padded[o0 + i] as number) + w1 * (padded[o1 + i] as number) + w2 * (padded[o2 + i] as number) + w3 * (padded[o3 + i] as number)
              + w4 * (padded[o4 + i] as number) + w5 * (padded[o5 + i] as number) + w6 * (padded[o6 + i] as number) + w7 * (padded[o7 + i] as number);
          }
          continue;
        }
        for (let oy = 0; oy < outH; oy++) {
          const row = oy * sy * paddedW;
          for (let ox = 0, at = oy * outW, x = row; ox < outW; ox++, at++, x += sx) {
            acc[at] = (acc[at] as number) + w0 * (padded[o0 + x] as number) + w1 * (padded[o1 + x] as number) + w2 * (padded[o2 + x] as number) + w3 * (padded[o3 + x] as number)
              + w4 * (padded[o4 + x] as number) + w5 * (padded[o5 + x] as number) + w6 * (padded[o6 + x] as number) + w7 * (padded[o7 + x] as number);
          }
        }
      }
      for (; t + 3 < taps; t += 4) {
        const w0 = weights[t] as number, w1 = weights[t + 1] as number, w2 = weights[t + 2] as number, w3 = weights[t + 3] as number;
        const o0 = offsets[t] as number, o1 = offsets[t + 1] as number, o2 = offsets[t + 2] as number, o3 = offsets[t + 3] as number;
        if (strideOne) {
          for (let i = 0; i < span; i++) {
            acc[i] = (acc[i] as number) + w0 * (padded[o0 + i] as number) + w1 * (padded[o1 + i] as number) + w2 * (padded[o2 + i] as number) + w3 * (padded[o3 + i] as number);
          }
          continue;
        }
        for (let oy = 0; oy < outH; oy++) {
          const row = oy * sy * paddedW;
          for (let ox = 0, at = oy * outW, x = row; ox < outW; ox++, at++, x += sx) {
            acc[at] = (acc[at] as number) + w0 * (padded[o0 + x] as number) + w1 * (padded[o1 + x] as number) + w2 * (padded[o2 + x] as number) + w3 * (padded[o3 + x] as number);
          }
        }
      }
      for (; t < taps; t++) {
        const w = weights[t] as number;
        const offset = offsets[t] as number;
        if (strideOne) {
          for (let i = 0; i < span; i++) acc[i] = (acc[i] as number) + w * (padded[offset + i] as number);
          continue;
        }
        for (let oy = 0; oy < outH; oy++) {
          const row = oy * sy * paddedW + offset;
          const at = oy * outW;
          for (let ox = 0; ox < outW; ox++) acc[at + ox] = (acc[at + ox] as number) + w * (padded[row + ox * sx] as number);
        }
      }
      requantizePlane(acc, accRow, outH, outW, out, m * plane, m);
    }
    return out;
  };
}

/** Requantizes a plane of accumulators (rows `accRow` apart) into out[at..] for one output channel. */
type PlaneRequantizer = (acc: Float64Array, accRow: number, rows: number, cols: number, out: Int32Array, at: number, channel: number) => void;

function planeOf(requantize: (acc: number, channel: number) => number): PlaneRequantizer {
  return (acc, accRow, rows, cols, out, at, channel) => {
    for (let y = 0, o = at; y < rows; y++) for (let x = 0; x < cols; x++) out[o++] = requantize(acc[y * accRow + x] as number, channel);
  };
}

/**
 * makeRequantizer over a whole plane, with the number path inlined where it applies (no negative slope,
 * the bound proves numbers exact): the same rule, y = clamp(floor((acc * M + 2^(s-1)) / 2^s) + zo), where
 * the division by a power of two is a multiplication by its exact reciprocal.
 */
function planeRequantizer(r: Requantization, accBound: number, what: string): PlaneRequantizer {
  const one = makeRequantizer(r, accBound, what);
  const channels = r.multiplier.map((m, c) => channelRequant(m, r.shift[c] ?? 1));
  if (r.negative !== undefined || !numbersAreExact(accBound, channels) || channels.some((c) => c.divisor > 2 ** 1000)) return planeOf(one);
  const multiplier = Float64Array.from(channels, (c) => c.multiplier);
  const half = Float64Array.from(channels, (c) => c.half);
  const reciprocal = Float64Array.from(channels, (c) => 1 / c.divisor);
  const { outputZeroPoint: zo, clampMin: lo, clampMax: hi } = r;
  return (acc, accRow, rows, cols, out, at, channel) => {
    const m = multiplier[channel] as number;
    const h = half[channel] as number;
    const inv = reciprocal[channel] as number;
    for (let y = 0, o = at; y < rows; y++) {
      for (let x = 0, i = y * accRow; x < cols; x++, i++) {
        const v = Math.floor(((acc[i] as number) * m + h) * inv) + zo;
        out[o++] = v < lo ? lo : v > hi ? hi : v;
      }
    }
  };
}

function prepareGemm(layer: QGemmLayer, input: QuantTensor, output: QuantTensor, raw = false): Executor {
  const [outN, inN] = layer.weightShape;
  const dots = nonzeroTaps(layer.weights, outN, inN, (_m, k) => k);
  const bound = accBound(layer.weights, layer.bias, inN, input);
  const what = `layer ${layer.index} '${layer.name}'`;
  const requantize = rawOr(makeRequantizer(layer.requant, bound, what), raw, bound, what);
  const zi = layer.inputZeroPoint;
  return ([x], into) => {
    const v = x ?? new Int32Array(0);
    const out = into ?? new Int32Array(output.shape[0] * output.shape[1] * output.shape[2]);
    for (let m = 0; m < outN; m++) {
      const offsets = dots.offsets[m] as Int32Array;
      const weights = dots.weights[m] as Int32Array;
      let acc = layer.bias[m] ?? 0;
      for (let t = 0; t < offsets.length; t++) acc += (weights[t] as number) * ((v[offsets[t] as number] as number) - zi);
      out[m] = requantize(acc, m);
    }
    return out;
  };
}

/** Nonzero weights per output channel with their input offsets (zero weights cost nothing in hardware either). */
function nonzeroTaps(weights: readonly number[], outCount: number, perOutput: number, offsetOf: (m: number, k: number) => number): DotProducts {
  const offsets: Int32Array[] = [];
  const values: Int32Array[] = [];
  for (let m = 0; m < outCount; m++) {
    const o: number[] = [];
    const v: number[] = [];
    for (let k = 0; k < perOutput; k++) {
      const w = weights[m * perOutput + k] ?? 0;
      if (w !== 0) { o.push(offsetOf(m, k)); v.push(w); }
    }
    offsets.push(Int32Array.from(o));
    values.push(Int32Array.from(v));
  }
  return { offsets, weights: values };
}

/** max over channels of |bias| + sum |w| * max|x - zi|: no accumulator of this layer can exceed it. */
function accBound(weights: readonly number[], bias: readonly number[], perOutput: number, input: QuantTensor): number {
  const xMax = maxCentered(input);
  let bound = 0;
  for (let m = 0; m < bias.length; m++) {
    let sum = 0;
    for (let k = 0; k < perOutput; k++) sum += Math.abs(weights[m * perOutput + k] ?? 0);
    bound = Math.max(bound, Math.abs(bias[m] ?? 0) + sum * xMax);
  }
  return bound;
}

function prepareAvgPool(layer: QPoolLayer, input: QuantTensor, output: QuantTensor): Executor {
  const [channels, , ] = input.shape;
  const [, outH, outW] = output.shape;
  const [kh, kw] = layer.kernel;
  const [sy, sx] = layer.stride;
  const what = `layer ${layer.index} '${layer.name}'`;
  const requantize = makeRequantizer(layer.requant, kh * kw * maxCentered(input), what);
  // count_include_pad 0: a border window divides by its real pixels n, with n's own multiplier and shift.
  const byCount = new Map((layer.borderDivisors ?? []).map((d) => [d.count, makeRequantizer(
    { ...layer.requant, multiplier: [d.multiplier], shift: [d.shift] }, d.count * maxCentered(input), what)] as const));
  const [, inH, inW] = input.shape;
  const [top, left] = layer.pads;
  const [dy, dx] = layer.dilation;
  const pad = paddedInput(input.shape, layer.pads, layer.inputZeroPoint);
  return ([x], into) => {
    const padded = pad.fill(x ?? new Int32Array(0));
    const out = into ?? new Int32Array(channels * outH * outW);
    for (let c = 0; c < channels; c++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let acc = 0;
          for (let i = 0; i < kh; i++) {
            const row = (c * pad.height + oy * sy + i * dy) * pad.width + ox * sx;
            for (let j = 0; j < kw; j++) acc += padded[row + j * dx] as number;
          }
          const border = byCount.size === 0 ? undefined : byCount.get(tapsInside(oy * sy - top, kh, dy, inH) * tapsInside(ox * sx - left, kw, dx, inW));
          out[(c * outH + oy) * outW + ox] = border ? border(acc, 0) : requantize(acc, c);
        }
      }
    }
    return out;
  };
}

/** Max over the window's real pixels (pad positions take no part, as ONNX pads MaxPool with -inf). */
function prepareMaxPool(layer: QPoolLayer, input: QuantTensor, output: QuantTensor): Executor {
  const [channels, inH, inW] = input.shape;
  const [, outH, outW] = output.shape;
  const [kh, kw] = layer.kernel;
  const [sy, sx] = layer.stride;
  const [top, left] = layer.pads;
  const [dy, dx] = layer.dilation;
  const requantize = makeRequantizer(layer.requant, maxCentered(input), `layer ${layer.index} '${layer.name}'`);
  const zi = layer.inputZeroPoint;
  return ([x], into) => {
    const v = x ?? new Int32Array(0);
    const out = into ?? new Int32Array(channels * outH * outW);
    for (let c = 0; c < channels; c++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let best = -Infinity;
          for (let i = 0; i < kh; i++) {
            const y = oy * sy - top + i * dy;
            if (y < 0 || y >= inH) continue;
            for (let j = 0; j < kw; j++) {
              const xx = ox * sx - left + j * dx;
              if (xx >= 0 && xx < inW) best = Math.max(best, v[(c * inH + y) * inW + xx] as number);
            }
          }
          out[(c * outH + oy) * outW + ox] = requantize(best - zi, c);
        }
      }
    }
    return out;
  };
}

function prepareGlobalAvgPool(layer: QGlobalAvgPoolLayer, input: QuantTensor, _output: QuantTensor): Executor {
  const [channels, h, w] = input.shape;
  const requantize = makeRequantizer(layer.requant, h * w * maxCentered(input), `layer ${layer.index} '${layer.name}'`);
  return ([x], into) => {
    const v = x ?? new Int32Array(0);
    const out = into ?? new Int32Array(channels);
    for (let c = 0; c < channels; c++) {
      let acc = 0;
      for (let i = c * h * w; i < (c + 1) * h * w; i++) acc += (v[i] as number) - layer.inputZeroPoint;
      out[c] = requantize(acc, c);
    }
    return out;
  };
}

function prepareAdd(layer: QAddLayer, a: QuantTensor, b: QuantTensor, _output: QuantTensor): Executor {
  const [ma, mb] = layer.inputMultipliers;
  const [za, zb] = layer.inputZeroPoints;
  const bound = maxCentered(a) * ma + maxCentered(b) * mb;
  const requantize = makeRequantizer(layer.requant, bound, `layer ${layer.index} '${layer.name}'`);
  const plane = a.shape[1] * a.shape[2];
  return ([x, y], into) => {
    const u = x ?? new Int32Array(0);
    const v = y ?? new Int32Array(0);
    const out = into ?? new Int32Array(u.length);
    for (let i = 0; i < u.length; i++) {
      out[i] = requantize(((u[i] as number) - za) * ma + ((v[i] as number) - zb) * mb, Math.floor(i / plane));
    }
    return out;
  };
}
