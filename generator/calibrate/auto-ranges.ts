/**
 * `--calib-method auto`: per activation tensor, the range rule (minmax, mse, percentile) that measures
 * best where it matters, at the network's output. The calibration images are split in two: ranges, bias
 * corrections and means come from the first part, the error is measured on the second (so a choice that
 * only fits the images it was made on does not win). The error is the mean squared difference between the
 * integer model's dequantized output and the float model's (ONNX Runtime) on the second part.
 *
 * Search: start from the best single rule for every tensor, then greedily, tensor by tensor in network
 * order, switch a tensor to another rule when that lowers the error. Rules that give a tensor the same
 * scale and zero point are not tried twice (on ReLU6 tensors all three usually agree).
 */
import { dequantize, IntegerModel, quantizeInput } from '../golden/integer-model.js';
import type { LayerGraph } from '../graph/ir.js';
import { RANGE_METHODS, type RangeCollector, type RangeMethod } from '../quant/calibrate.js';
import { quantParamsForRange } from '../quant/fixed-point.js';
import type { QuantizedGraph } from '../quant/ir.js';

export interface AutoSearch {
  /** Statistics of the first part of the calibration images (the one the quantizations are fitted on). */
  readonly fitted: RangeCollector;
  /** The second part: images as the model takes them and the float model's output on each. */
  readonly scored: ReadonlyArray<{ readonly image: Float32Array; readonly output: Float32Array }>;
  /** Quantizes the model from `fitted` with one rule per tensor (bias correction included). */
  readonly quantize: (method: (tensor: string) => RangeMethod) => QuantizedGraph;
  /** Tensors whose range is not chosen here (the output keeps its full range; given or inherited ones). */
  readonly excluded: ReadonlySet<string>;
  /** Each tensor's width (`--act-bits`, or its `--wide-acts` width). */
  readonly bits: (tensor: string) => number;
}

export interface AutoChoice {
  /** The rule chosen per chosen tensor. */
  readonly methods: ReadonlyMap<string, RangeMethod>;
  /** Output error (mean squared) of each single rule and of the choice, on the scored part. */
  readonly errors: Readonly<Record<RangeMethod | 'auto', number>>;
}

export function chooseRangeMethods(graph: LayerGraph, search: AutoSearch): AutoChoice {
  const error = (method: (tensor: string) => RangeMethod): number => outputError(search.quantize(method), search.scored);
  const single = Object.fromEntries(RANGE_METHODS.map((m) => [m, error(() => m)])) as Record<RangeMethod, number>;
  const start = RANGE_METHODS.reduce((a, b) => (single[b] < single[a] ? b : a));
  const tensors = [graph.firstTensor, ...graph.layers.filter((l) => l.kind !== 'maxpool').map((l) => l.output)].filter((t) => !search.excluded.has(t));
  const methods = new Map<string, RangeMethod>(tensors.map((t) => [t, start]));
  const key = keyPerMethod(search.fitted, search.bits);
  let best = single[start];
  for (const tensor of tensors) {
    const tried = new Set([key(methods.get(tensor) ?? start, tensor)]);
    for (const candidate of RANGE_METHODS) {
      const k = key(candidate, tensor);
      if (tried.has(k)) continue;
      tried.add(k);
      const current = methods.get(tensor) ?? start;
      methods.set(tensor, candidate);
      const e = error((t) => methods.get(t) ?? start);
      if (e < best) best = e;
      else methods.set(tensor, current);
    }
  }
  return { methods, errors: { ...single, auto: best } };
}

/** A tensor's quantization under a rule, as a string: two rules with one key quantize it identically. */
function keyPerMethod(fitted: RangeCollector, bits: (tensor: string) => number): (method: RangeMethod, tensor: string) => string {
  const ranges = new Map(RANGE_METHODS.map((m) => [m, fitted.ranges(m, bits)]));
  return (method, tensor) => {
    const r = ranges.get(method)?.get(tensor);
    if (!r) return `${method}:${tensor}`;
    const q = quantParamsForRange(r.min, r.max, bits(tensor));
    return `${q.scale}/${q.zeroPoint}/${q.signed}`;
  };
}

/** Mean squared difference between the integer model's dequantized output and the float output. */
export function outputError(qg: QuantizedGraph, scored: AutoSearch['scored']): number {
  const model = new IntegerModel(qg);
  const out = qg.tensors[qg.output];
  if (!out) throw new Error(`internal: quantized graph has no output tensor '${qg.output}'`);
  let sum = 0;
  let count = 0;
  for (const { image, output } of scored) {
    const q = model.run(quantizeInput(qg, image)).get(qg.output) ?? new Int32Array();
    const real = dequantize(out, q);
    for (let i = 0; i < real.length; i++) sum += ((real[i] ?? 0) - (output[i] ?? 0)) ** 2;
    count += real.length;
  }
  return sum / Math.max(1, count);
}
