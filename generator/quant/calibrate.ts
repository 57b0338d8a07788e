/**
 * Calibration: from float activations observed on calibration images to one real range per tensor.
 *
 * Methods:
 *  - 'minmax': the observed minimum and maximum;
 *  - 'mse': the clip of the observed range that minimises the mean squared quantization error over the
 *    observed values (a shrunk range trades rare clipped outliers for a finer step on everything else);
 *  - 'percentile': the 0.01% and 99.99% quantiles;
 *  - 'auto': per tensor, one of the three above, chosen by the error it causes at the network's output on
 *    calibration images (generator/calibrate/auto-ranges.ts).
 * The ranges feed quantizeCalibrated (quantize.ts), which adds 0 to every range.
 */
import { badInput } from '../common/errors.js';
import { quantParamsForRange } from './fixed-point.js';
import { qRange } from './ir.js';
import type { TensorRanges } from './quantize.js';

/** The fixed rules, one range per tensor from that tensor's values alone. */
export const RANGE_METHODS = ['minmax', 'mse', 'percentile'] as const;
export type RangeMethod = (typeof RANGE_METHODS)[number];
export const CALIBRATION_METHODS = [...RANGE_METHODS, 'auto'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

/** Values kept per tensor for the 'mse' and 'percentile' searches (an even spread over all images). */
const SAMPLES_PER_TENSOR = 1 << 17;

interface Observed {
  min: number;
  max: number;
  samples: number[];
  seen: number;
}

export class RangeCollector {
  private readonly observed = new Map<string, Observed>();
  private readonly channelSums = new Map<string, { sums: Float64Array; count: number }>();
  /** Clipped ranges already searched, by tensor, rule and width ('auto' asks for each many times). */
  private readonly clipped = new Map<string, { min: number; max: number }>();

  constructor(private readonly expectedImages: number) {}

  /** Records one image's values of `tensor`. */
  observe(tensor: string, values: ArrayLike<number>): void {
    const o = this.observed.get(tensor) ?? { min: Infinity, max: -Infinity, samples: [], seen: 0 };
    this.observed.set(tensor, o);
    // Keep about SAMPLES_PER_TENSOR values over all images: a fixed stride, so the choice is deterministic.
    const stride = Math.max(1, Math.ceil((values.length * this.expectedImages) / SAMPLES_PER_TENSOR));
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v < o.min) o.min = v;
      if (v > o.max) o.max = v;
      if ((o.seen + i) % stride === 0) o.samples.push(v);
    }
    o.seen += values.length;
  }

  /** Records one image's per-channel sums of `tensor` ([C, H, W] row-major), for bias correction. */
  observeChannels(tensor: string, values: ArrayLike<number>, channels: number): void {
    const entry = this.channelSums.get(tensor) ?? { sums: new Float64Array(channels), count: 0 };
    this.channelSums.set(tensor, entry);
    const plane = values.length / channels;
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let i = c * plane; i < (c + 1) * plane; i++) sum += values[i] as number;
      entry.sums[c] = (entry.sums[c] ?? 0) + sum / plane;
    }
    entry.count++;
  }

  /** Mean value of every channel of every tensor observed with observeChannels. */
  channelMeans(): Map<string, Float64Array> {
    return new Map([...this.channelSums].map(([name, e]) => [name, e.sums.map((s) => s / e.count)]));
  }

  /**
   * One range per tensor: by `method`, or per tensor by `method(name)`; `fullRange` tensors keep min/max.
   * `bits`: the width the range is searched for (mse), one for all or per tensor (`--wide-acts`).
   */
  ranges(method: RangeMethod | ((tensor: string) => RangeMethod), bits: number | ((tensor: string) => number), fullRange: ReadonlySet<string> = new Set()): TensorRanges {
    const out = new Map<string, { min: number; max: number }>();
    for (const [name, o] of this.observed) {
      if (!Number.isFinite(o.min) || !Number.isFinite(o.max)) throw badInput(`calibration: tensor '${name}' took non-finite values (inf or NaN) on the calibration inputs`);
      const m = typeof method === 'function' ? method(name) : method;
      out.set(name, m === 'minmax' || fullRange.has(name) ? { min: o.min, max: o.max } : this.clippedRange(name, o, m, typeof bits === 'function' ? bits(name) : bits));
    }
    return out;
  }

  /**
   * The range of a tensor whose values lie on a uniform grid of at most 2^bits levels that misses 0 (the
   * network input: 8-bit pixels after `(p - 127.5) / 127.5`), so that each level keeps its own q: with the
   * observed range, scale = grid step and every level falls half-way between two q (ties, rounded to even:
   * on MobileNet's input 65 pairs of pixel values share a q, float32 rounding keeping the rest apart). The range shrunk by one 2^bits-th of it makes the scale
   * (hi - lo) / 2^bits, below the step, so levels are more than one q apart (at most the top one shares
   * its q with the level below). Undefined where the values are not such a grid (keep the rule's range).
   */
  gridRange(tensor: string, bits: number): { min: number; max: number } | undefined {
    const o = this.observed.get(tensor);
    if (!o || !(o.max > o.min)) return undefined;
    const levels = [...new Set(o.samples)].sort((a, b) => a - b);
    if (levels.length < 2 || levels.length > 2 ** bits) return undefined;
    let step = Infinity;
    for (let i = 1; i < levels.length; i++) step = Math.min(step, (levels[i] as number) - (levels[i - 1] as number));
    const onGrid = (v: number): boolean => Math.abs((v - o.min) / step - Math.round((v - o.min) / step)) < 1e-3;
    const count = Math.round((o.max - o.min) / step) + 1;
    if (count > 2 ** bits || !levels.every(onGrid) || !onGrid(o.max) || o.min >= 0 || onGrid(0)) return undefined;
    return { min: o.min, max: o.min + ((o.max - o.min) * (2 ** bits - 1)) / 2 ** bits };
  }

  private clippedRange(name: string, o: Observed, method: Exclude<RangeMethod, 'minmax'>, bits: number): { min: number; max: number } {
    const key = `${method}/${bits}/${name}`;
    const known = this.clipped.get(key);
    if (known) return known;
    const range = clippedRange(o, method, bits);
    this.clipped.set(key, range);
    return range;
  }
}

function clippedRange(o: Observed, method: Exclude<RangeMethod, 'minmax'>, bits: number): { min: number; max: number } {
  if (method === 'percentile') {
    const sorted = Float64Array.from(o.samples).sort();
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return { min: Math.min(0, at(0.0001)), max: Math.max(0, at(0.9999)) };
  }
  return mseRange(o, bits);
}

/** Tries ranges shrunk by factors 1.0, 0.98, ... 0.30 of the observed one; keeps the lowest error. */
function mseRange(o: Observed, bits: number): { min: number; max: number } {
  let best = { min: o.min, max: o.max };
  let bestError = Infinity;
  for (let factor = 1; factor >= 0.3; factor -= 0.02) {
    const candidate = { min: Math.min(0, o.min * factor), max: Math.max(0, o.max * factor) };
    const error = quantizationError(o.samples, candidate.min, candidate.max, bits);
    if (error < bestError) { bestError = error; best = candidate; }
  }
  return best;
}

function quantizationError(samples: readonly number[], lo: number, hi: number, bits: number): number {
  const q = quantParamsForRange(lo, hi, bits);
  const { min, max } = qRange(q);
  let sum = 0;
  for (const v of samples) {
    const level = Math.min(max, Math.max(min, Math.round(v / q.scale) + q.zeroPoint));
    const d = v - q.scale * (level - q.zeroPoint);
    sum += d * d;
  }
  return sum;
}
