/**
 * Seeded random ONNX networks for end-to-end tests of the fixed feature extractor: random channel
 * counts, odd and non-square sizes, kernels 1/3/5, strides 1/2, asymmetric pads, dense / depthwise /
 * pointwise convolutions, ReLU / ReLU6 / none, max and average pooling, residual Add, and optionally
 * global average pooling with a Gemm, optionally dilated convolutions. Every layer keeps the spatial size >= 1; the whole network is
 * one valid split (the last layer's output is the only tensor leaving it).
 */
import { seededRandom } from '../../generator/common/seeded-random.js';
import { OnnxBuilder } from './onnx-builder.js';

export interface RandomNetworkOptions {
  readonly seed: number;
  /** Weighted layers and pools to draw (residual blocks count as one). Default 2..4. */
  readonly layers?: number;
  /** Allow a global pool + Gemm head at the end (default: a coin flip). */
  readonly head?: boolean;
  /** Input height and width instead of the drawn ones (the draws stay the same): maps larger than on-chip memories. */
  readonly size?: readonly [number, number];
  /** Dilate every conv wider than 1x1 by 1..3 per axis and max pools by 1..2 (drawn only when set: other seeds' networks stay as they were). */
  readonly dilated?: boolean;
}

export interface RandomNetwork {
  readonly builder: OnnxBuilder;
  readonly inputShape: readonly [number, number, number];
  /** One line per layer, e.g. "conv3x3/s2 pads[0,1,1,0] 3->5 relu6", for failure messages. */
  readonly description: readonly string[];
}

interface Cursor {
  tensor: string;
  shape: [number, number, number];
}

type Random = () => number;

const pick = <T>(rand: Random, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const between = (rand: Random, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

function windowOut(size: number, k: number, s: number, begin: number, end: number): number {
  return Math.floor((size + begin + end - k) / s) + 1;
}

export function randomNetwork(options: RandomNetworkOptions): RandomNetwork {
  const rand = seededRandom(options.seed * 7919 + 13);
  const b = new OnnxBuilder({ opset: 13 });
  const inputShape: [number, number, number] = [between(rand, 1, 3), pick(rand, [7, 9, 11, 12, 13]), pick(rand, [5, 8, 9, 10, 15])];
  if (options.size) [inputShape[1], inputShape[2]] = options.size;
  b.input('input', [1, ...inputShape]);
  const cur: Cursor = { tensor: 'input', shape: inputShape };
  const description: string[] = [`input ${inputShape.join('x')}`];
  const count = options.layers ?? between(rand, 2, 4);
  const ctx = { b, rand, cur, description, n: 0, dilated: options.dilated === true };
  for (let i = 0; i < count; i++) {
    const kind = pick(rand, ['dense', 'dense', 'depthwise-pointwise', 'pointwise', 'pool', 'residual'] as const);
    if (kind === 'dense') conv(ctx, { kernel: pick(rand, [1, 3, 3, 5]), outChannels: between(rand, 1, 6), depthwise: false });
    else if (kind === 'pointwise') conv(ctx, { kernel: 1, outChannels: between(rand, 1, 8), depthwise: false });
    else if (kind === 'depthwise-pointwise') {
      conv(ctx, { kernel: pick(rand, [3, 5]), outChannels: cur.shape[0], depthwise: true });
      conv(ctx, { kernel: 1, outChannels: between(rand, 1, 8), depthwise: false, stride: 1, noPads: true });
    } else if (kind === 'pool') pool(ctx);
    else residual(ctx);
  }
  if (options.head ?? rand() < 0.3) head(ctx);
  b.output(cur.tensor);
  return { builder: b, inputShape, description };
}

interface Ctx {
  readonly b: OnnxBuilder;
  readonly rand: Random;
  readonly cur: Cursor;
  readonly description: string[];
  n: number;
  readonly dilated: boolean;
}

/** Pads (top, left, bottom, right) and a stride that keep the output at least 1x1, for a window spanning kh x kw pixels. */
function windowGeometry(ctx: Ctx, k: number, allowStride = true, span: readonly [number, number] = [k, k], padMax = Infinity): { stride: number; pads: [number, number, number, number] } {
  const [, h, w] = ctx.cur.shape;
  const [kh, kw] = span;
  for (;;) {
    const stride = allowStride ? pick(ctx.rand, [1, 1, 2]) : 1;
    // Asymmetric, but at most span - 1 per axis (begin + end), as TensorFlow's SAME padding and the line buffer need.
    const top = between(ctx.rand, 0, kh - 1);
    const left = between(ctx.rand, 0, kw - 1);
    const pads: [number, number, number, number] = [top, left, between(ctx.rand, 0, kh - 1 - top), between(ctx.rand, 0, kw - 1 - left)];
    if (pads.some((p) => p > padMax)) continue;
    if (windowOut(h, kh, stride, pads[0], pads[2]) >= 1 && windowOut(w, kw, stride, pads[1], pads[3]) >= 1) return { stride, pads };
  }
}

function weights(rand: Random, count: number, fanIn: number): Float32Array {
  const scale = 1.5 / Math.sqrt(fanIn);
  return Float32Array.from({ length: count }, () => (rand() * 2 - 1) * scale);
}

function activation(ctx: Ctx, tensor: string, choice: 'relu' | 'relu6' | 'none'): string {
  if (choice === 'none') return tensor;
  const name = `act${ctx.n++}`;
  if (choice === 'relu') return ctx.b.node('Relu', [tensor], [name]);
  const lo = ctx.b.floats(`${name}_min`, [0], []);
  const hi = ctx.b.floats(`${name}_max`, [6], []);
  return ctx.b.node('Clip', [tensor, lo, hi], [name]);
}

function conv(ctx: Ctx, spec: { kernel: number; outChannels: number; depthwise: boolean; stride?: number; noPads?: boolean }): void {
  const { b, rand, cur } = ctx;
  const [c, h, w] = cur.shape;
  const k = spec.kernel;
  // Dilation only where the drawn span still fits the map (a dilated 5x5 on a 7-row map would not).
  const drawn: [number, number] = ctx.dilated && k > 1 ? [between(rand, 1, 3), between(rand, 1, 3)] : [1, 1];
  const dilation = drawn.map((d, i) => ((k - 1) * d + 1 <= (i === 0 ? h : w) ? d : 1)) as [number, number];
  const span: [number, number] = [(k - 1) * dilation[0] + 1, (k - 1) * dilation[1] + 1];
  const geometry = spec.noPads ? { stride: spec.stride ?? 1, pads: [0, 0, 0, 0] as [number, number, number, number] } : windowGeometry(ctx, k, true, span);
  const group = spec.depthwise ? c : 1;
  const perGroup = c / group;
  const id = ctx.n++;
  const wName = b.initializer(`w${id}`, weights(rand, spec.outChannels * perGroup * k * k, perGroup * k * k), [spec.outChannels, perGroup, k, k]);
  const bName = b.initializer(`b${id}`, Float32Array.from({ length: spec.outChannels }, () => (rand() * 2 - 1) * 0.3), [spec.outChannels]);
  const dilated = dilation.some((d) => d !== 1);
  const attrs = { kernel_shape: [k, k], strides: [geometry.stride, geometry.stride], pads: geometry.pads, group, ...(dilated ? { dilations: dilation } : {}) };
  const conv = b.node('Conv', [cur.tensor, wName, bName], [`conv${id}`], attrs);
  const act = pick(rand, ['relu', 'relu6', 'none'] as const);
  cur.tensor = activation(ctx, conv, act);
  cur.shape = [spec.outChannels, windowOut(h, span[0], geometry.stride, geometry.pads[0], geometry.pads[2]), windowOut(w, span[1], geometry.stride, geometry.pads[1], geometry.pads[3])];
  ctx.description.push(`${spec.depthwise ? 'depthwise' : k === 1 ? 'pointwise' : 'conv'}${k}x${k}/s${geometry.stride}${dilated ? ` d${dilation.join('x')}` : ''} pads[${geometry.pads.join(',')}] ${c}->${spec.outChannels} ${act} -> ${cur.shape.join('x')}`);
}

function pool(ctx: Ctx): void {
  const { b, rand, cur } = ctx;
  const [c, h, w] = cur.shape;
  const k = pick(rand, [2, 3]);
  if (h < k || w < k) return;
  const op = pick(rand, ['MaxPool', 'AveragePool'] as const);
  // A dilated MaxPool where the span fits (AveragePool takes dilations only from opset 19; these are opset 13).
  const drawn: [number, number] = ctx.dilated && op === 'MaxPool' ? [between(rand, 1, 2), between(rand, 1, 2)] : [1, 1];
  const dilation = drawn.map((d, i) => ((k - 1) * d + 1 <= (i === 0 ? h : w) ? d : 1)) as [number, number];
  const span: [number, number] = [(k - 1) * dilation[0] + 1, (k - 1) * dilation[1] + 1];
  const dilated = dilation.some((d) => d !== 1);
  // ONNX Runtime requires pool pads smaller than the kernel (its taps, not its span): a dilated draw honours it too.
  const { stride, pads } = windowGeometry(ctx, k, true, span, k - 1);
  // ONNX requires pads smaller than the kernel; AveragePool counts pads as zeros (count_include_pad) as the integer model does.
  const attrs: Record<string, number | number[]> = { kernel_shape: [k, k], strides: [stride, stride], pads, ...(dilated ? { dilations: dilation } : {}) };
  if (op === 'AveragePool') attrs.count_include_pad = 1;
  cur.tensor = b.node(op, [cur.tensor], [`pool${ctx.n++}`], attrs);
  cur.shape = [c, windowOut(h, span[0], stride, pads[0], pads[2]), windowOut(w, span[1], stride, pads[1], pads[3])];
  ctx.description.push(`${op}${k}x${k}/s${stride}${dilated ? ` d${dilation.join('x')}` : ''} pads[${pads.join(',')}] -> ${cur.shape.join('x')}`);
}

/** conv3x3 (same size, same channels) -> ReLU, added to its input, then ReLU or nothing. */
function residual(ctx: Ctx): void {
  const { b, rand, cur } = ctx;
  const skip = cur.tensor;
  const [c, h, w] = cur.shape;
  const id = ctx.n++;
  const wName = b.initializer(`w${id}`, weights(rand, c * c * 9, c * 9), [c, c, 3, 3]);
  const bName = b.initializer(`b${id}`, Float32Array.from({ length: c }, () => (rand() * 2 - 1) * 0.3), [c]);
  const conv = b.node('Conv', [skip, wName, bName], [`conv${id}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const main = activation(ctx, conv, 'relu');
  const sum = b.node('Add', [main, skip], [`add${id}`]);
  const act = pick(rand, ['relu', 'none'] as const);
  cur.tensor = activation(ctx, sum, act);
  ctx.description.push(`residual conv3x3 ${c}->${c} relu, Add, ${act} -> ${[c, h, w].join('x')}`);
}

/** Global average pooling, flatten, a Gemm to a few classes. */
function head(ctx: Ctx): void {
  const { b, rand, cur } = ctx;
  const [c] = cur.shape;
  const classes = between(rand, 2, 5);
  const id = ctx.n++;
  const gap = b.node('GlobalAveragePool', [cur.tensor], [`gap${id}`]);
  const flat = b.node('Flatten', [gap], [`flat${id}`], { axis: 1 });
  const wName = b.initializer(`fc_w${id}`, weights(rand, classes * c, c), [classes, c]);
  const bName = b.initializer(`fc_b${id}`, Float32Array.from({ length: classes }, () => (rand() * 2 - 1) * 0.3), [classes]);
  cur.tensor = b.node('Gemm', [flat, wName, bName], [`fc${id}`], { transB: 1 });
  cur.shape = [classes, 1, 1];
  ctx.description.push(`GlobalAveragePool, Gemm ${c}->${classes}`);
}
