/** Small random networks shared by the evaluator and simulator tests. */
import { chooseMultiplier } from '../../generator/quant/fixed-point.js';
import { tapsInside, type QLayer, type QuantizedGraph } from '../../generator/quant/ir.js';
import { graphOf, outSize, randomAddLayer, randomConvLayer, randomGemmLayer, randomGlobalPoolLayer, randomPoolLayer, randomQuant, tensor } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';

/** input -> pool (max or avg) -> global average pool -> gemm. */
export function poolChain(seed: number, kind: 'maxpool' | 'avgpool', h: number, w: number, kernel: [number, number], stride: [number, number], pads: [number, number, number, number], excludePads = false, dilation: readonly [number, number] = [1, 1]): QuantizedGraph {
  const rng = seededRandom(seed);
  const c = 3;
  const x = tensor('x', [c, h, w], randomQuant(rng));
  const [sh, sw] = [(kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1];
  const p = tensor('p', [c, outSize(h, sh, stride[0], pads[0], pads[2]), outSize(w, sw, stride[1], pads[1], pads[3])], kind === 'maxpool' ? x.quant : randomQuant(rng));
  const g = tensor('g', [c, 1, 1], randomQuant(rng));
  const y = tensor('y', [4, 1, 1], randomQuant(rng));
  const pool = { ...randomPoolLayer(rng, 0, kind, x, p, kernel, stride, pads), dilation } as QLayer;
  return graphOf(x, [p, g, y], [excludePads ? withBorderDivisors(pool, h, w) : pool, randomGlobalPoolLayer(rng, 1, p, g), randomGemmLayer(rng, 2, g, y)]);
}

/**
 * The pool without its pads in the divisor (count_include_pad 0): for each window size n < kh*kw that
 * occurs, the full window's real multiplier scaled by kh*kw / n.
 */
function withBorderDivisors(layer: QLayer, h: number, w: number): QLayer {
  if (layer.kind !== 'avgpool') throw new Error('only an average pool excludes its pads');
  const [kh, kw] = layer.kernel;
  const along = (size: number, k: number, d: number, s: number, before: number, after: number): number[] =>
    Array.from({ length: outSize(size, (k - 1) * d + 1, s, before, after) }, (_, o) => tapsInside(o * s - before, k, d, size));
  const counts = new Set<number>();
  const [dy, dx] = layer.dilation;
  for (const r of along(h, kh, dy, layer.stride[0], layer.pads[0], layer.pads[2])) for (const c of along(w, kw, dx, layer.stride[1], layer.pads[1], layer.pads[3])) if (r * c < kh * kw) counts.add(r * c);
  const full = (layer.requant.multiplier[0] ?? 0) / 2 ** (layer.requant.shift[0] ?? 1);
  const borderDivisors = [...counts].sort((a, b) => a - b).map((n) => ({ count: n, ...chooseMultiplier((full * kh * kw) / n, 'test pool') }));
  return { ...layer, borderDivisors };
}

export const POOL_CASES = [
  { label: 'maxpool 3x3 s2 pads (1,1,1,1)', kind: 'maxpool', h: 7, w: 9, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] },
  { label: 'maxpool 2x2 s2 no pad', kind: 'maxpool', h: 6, w: 5, kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
  { label: 'avgpool 3x3 s1 pads (1,0,1,2)', kind: 'avgpool', h: 5, w: 6, kernel: [3, 3], stride: [1, 1], pads: [1, 0, 1, 2] },
  { label: 'avgpool 2x3 s(1,2) pads (0,1,1,1)', kind: 'avgpool', h: 4, w: 9, kernel: [2, 3], stride: [1, 2], pads: [0, 1, 1, 1] },
  { label: 'avgpool 3x3 s1 pads (1,1,1,1) without pads in the divisor', kind: 'avgpool', h: 5, w: 6, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], excludePads: true },
  { label: 'avgpool 3x3 s2 SAME (0,1,1,1) without pads in the divisor', kind: 'avgpool', h: 6, w: 7, kernel: [3, 3], stride: [2, 2], pads: [0, 1, 1, 1], excludePads: true },
  { label: 'maxpool 2x2 dilation 2 pads (1,0,0,1)', kind: 'maxpool', h: 6, w: 7, kernel: [2, 2], stride: [1, 1], pads: [1, 0, 0, 1], dilation: [2, 2] },
  { label: 'avgpool 3x2 s2 dilation (2,3) pads (2,1,2,2) without pads in the divisor', kind: 'avgpool', h: 8, w: 9, kernel: [3, 2], stride: [2, 2], pads: [2, 1, 2, 2], dilation: [2, 3], excludePads: true },
] as const;

/**
 * A residual block: x -> conv 3x3 -> t0; t0 -> depthwise 3x3 -> pointwise -> t2; add(t2, t0) -> t3 ->
 * pointwise -> y (the skip operand first or second).
 */
export function residualGraph(seed: number, h: number, w: number, skipFirst: boolean): QuantizedGraph {
  const rng = seededRandom(seed);
  const c = 3;
  const x = tensor('x', [2, h, w], randomQuant(rng));
  const t0 = tensor('t0', [c, h, w], randomQuant(rng));
  const t1 = tensor('t1', [c, h, w], randomQuant(rng));
  const t2 = tensor('t2', [c, h, w], randomQuant(rng));
  const t3 = tensor('t3', [c, h, w], randomQuant(rng));
  const y = tensor('y', [2, h, w], randomQuant(rng));
  const same = { stride: [1, 1] as const, pads: [1, 1, 1, 1] as const, kernel: [3, 3] as const };
  const point = { stride: [1, 1] as const, pads: [0, 0, 0, 0] as const, kernel: [1, 1] as const, group: 1 };
  return graphOf(x, [t0, t1, t2, t3, y], [
    randomConvLayer(rng, 0, x, t0, { ...same, inChannels: 2, outChannels: c, group: 1 }),
    randomConvLayer(rng, 1, t0, t1, { ...same, inChannels: c, outChannels: c, group: c }),
    randomConvLayer(rng, 2, t1, t2, { ...point, inChannels: c, outChannels: c }),
    skipFirst ? randomAddLayer(rng, 3, t0, t2, t3) : randomAddLayer(rng, 3, t2, t0, t3),
    randomConvLayer(rng, 4, t3, y, { ...point, inChannels: c, outChannels: 2 }),
  ]);
}


/** Maps smaller than the window: the lag spans frames, and 1-2 pixel wide rows live in registers. */
export function tinyMapGraph(seed: number, h: number, w: number): QuantizedGraph {
  const rng = seededRandom(seed);
  const x = tensor('x', [2, h, w], randomQuant(rng));
  const t0 = tensor('t0', [3, h, w], randomQuant(rng));
  const y = tensor('y', [2, h, w], randomQuant(rng));
  const same = { stride: [1, 1] as const, pads: [1, 1, 1, 1] as const, kernel: [3, 3] as const, group: 1 };
  return graphOf(x, [t0, y], [randomConvLayer(rng, 0, x, t0, { ...same, inChannels: 2, outChannels: 3 }), randomConvLayer(rng, 1, t0, y, { ...same, inChannels: 3, outChannels: 2 })]);
}

/**
 * Two window layers, the first shrinking the frame, so that the second's input pauses at every frame
 * boundary even when frames stream back to back: x [2, h, w] -> conv `first` -> conv `second`.
 */
export function shrinkingPair(
  seed: number,
  h: number,
  w: number,
  first: { kernel: readonly [number, number]; stride: readonly [number, number]; pads: readonly [number, number, number, number] },
  second: { kernel: readonly [number, number]; pads: readonly [number, number, number, number] },
): QuantizedGraph {
  const rng = seededRandom(seed);
  const x = tensor('x', [2, h, w], randomQuant(rng));
  const t0 = tensor('t0', [3, outSize(h, first.kernel[0], first.stride[0], first.pads[0], first.pads[2]), outSize(w, first.kernel[1], first.stride[1], first.pads[1], first.pads[3])], randomQuant(rng));
  const [, h1, w1] = t0.shape;
  const y = tensor('y', [2, outSize(h1, second.kernel[0], 1, second.pads[0], second.pads[2]), outSize(w1, second.kernel[1], 1, second.pads[1], second.pads[3])], randomQuant(rng));
  return graphOf(x, [t0, y], [
    randomConvLayer(rng, 0, x, t0, { ...first, inChannels: 2, outChannels: 3, group: 1 }),
    randomConvLayer(rng, 1, t0, y, { ...second, stride: [1, 1], inChannels: 3, outChannels: 2, group: 1 }),
  ]);
}
