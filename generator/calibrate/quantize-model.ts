/**
 * Post-training calibration of a float model with ONNX Runtime: runs the calibration images with every
 * layer's output exposed, collects ranges, and quantizes. A QDQ model needs no calibration: its own
 * parameters are used (and calibration images, if given, are not needed).
 */
import type { LayerGraph } from '../graph/ir.js';
import { badInput } from '../common/errors.js';
import type { OnnxModel } from '../onnx/decode.js';
import { openWithOutputs } from '../onnx/runtime.js';
import { RangeCollector, type CalibrationMethod, type RangeMethod } from '../quant/calibrate.js';
import type { QuantizedGraph, QuantParams } from '../quant/ir.js';
import { quantizeCalibrated, quantizeQdq } from '../quant/quantize.js';
import { chooseRangeMethods } from './auto-ranges.js';
import { correctBiasesEmpirically } from './empirical-bias.js';
import { quantizeInput } from '../quant/io.js';
import { resolveWideActs } from '../quant/wide-acts.js';

export interface QuantizeModelOptions {
  /** Calibration images as the model takes them ([C, H, W] float32); required for a float model. */
  readonly calibImages?: readonly Float32Array[];
  readonly weightBits?: number;
  readonly actBits?: number;
  /**
   * `--wide-acts SPEC`: tensors given another width than actBits (generator/quant/wide-acts.ts), e.g. '1:12'
   * (the first layer's output at 12 bits); recorded in the calibration facts as `tensorBits`.
   */
  readonly wideActs?: string;
  readonly method?: CalibrationMethod;
  /**
   * 'empirical' (default): the analytic correction of each layer's own weight rounding, then each
   * conv/gemm bias moved by the measured mean offset of its integer output on the calibration images
   * (empirical-bias.ts); 'analytic': only the former; 'none': neither.
   */
  readonly biasCorrection?: BiasCorrection;
  /** Force every requantization multiplier M to this many bits (8..32; docs/arithmetic.md §3). */
  readonly requantBits?: number;
  /** Tensors whose quantization is given (a chip's frozen front end), by tensor name; not calibrated. */
  readonly fixedTensors?: ReadonlyMap<string, QuantParams>;
  /**
   * Replaces the quantized layers before `fromLayer` (a chip's frozen front end, its integers as built)
   * before the empirical bias correction, which then corrects only the layers from `fromLayer` on.
   */
  readonly frozenFront?: { readonly fromLayer: number; readonly splice: (quantized: QuantizedGraph) => QuantizedGraph };
  readonly onProgress?: (done: number, total: number) => void;
}

export const BIAS_CORRECTIONS = ['empirical', 'analytic', 'none'] as const;
export type BiasCorrection = (typeof BIAS_CORRECTIONS)[number];

/** The calibration method used when none is asked for (see docs/arithmetic.md, "Choosing ranges"). */
export const DEFAULT_CALIBRATION: CalibrationMethod = 'minmax';

/** `graph` is `onnx` imported (import/index.ts); `onnx` itself runs in ONNX Runtime for the ranges. */
export async function quantizeModel(onnx: OnnxModel, graph: LayerGraph, options: QuantizeModelOptions = {}): Promise<QuantizedGraph> {
  if (graph.quantized) {
    if (options.weightBits !== undefined || options.actBits !== undefined || options.wideActs !== undefined) {
      throw badInput(`${graph.source.file}: a QDQ model carries its own quantization; --weight-bits / --act-bits / --wide-acts apply to float models only`);
    }
    return quantizeQdq(graph, options.requantBits !== undefined ? { requantBits: options.requantBits } : {});
  }
  const tensorBits = options.wideActs !== undefined ? resolveWideActs(graph, options.wideActs) : new Map<string, number>();
  const images = options.calibImages ?? [];
  if (images.length === 0) throw badInput(`${graph.source.file}: a float model needs calibration inputs (--calib PATH: a folder of images or a .npy [N, C, H, W])`);
  const method = options.method ?? DEFAULT_CALIBRATION;
  if (method === 'auto' && images.length < 2) throw badInput(`--calib-method auto needs at least 2 calibration inputs (it fits on one part and measures on the other); got ${images.length}`);
  // auto: the first part of the images fits, the rest measures (see auto-ranges.ts).
  const fitCount = method === 'auto' ? Math.ceil(images.length / 2) : images.length;
  const stats = await collectRanges(onnx, graph, images, fitCount, options.onProgress);
  const bitsOf = (tensor: string): number => tensorBits.get(tensor) ?? options.actBits ?? 8;
  if (method !== 'auto') return quantizeWithRanges(graph, stats.all, images, () => method, method, options, tensorBits);
  const fitImages = images.slice(0, fitCount);
  const choice = chooseRangeMethods(graph, {
    fitted: stats.fitted, bits: bitsOf,
    scored: images.slice(fitCount).map((image, i) => ({ image, output: stats.outputs[i] ?? new Float32Array() })),
    quantize: (rule) => quantizeWithRanges(graph, stats.fitted, fitImages, rule, 'auto', options, tensorBits),
    excluded: new Set([graph.output, ...(options.fixedTensors?.keys() ?? [])]),
  });
  return quantizeWithRanges(graph, stats.all, images, (t) => choice.methods.get(t) ?? 'minmax', 'auto', options, tensorBits, { tensorMethods: Object.fromEntries(choice.methods), methodErrors: choice.errors });
}

/** Quantizes from the statistics of `images` with one range rule per tensor, then corrects the biases. */
function quantizeWithRanges(
  graph: LayerGraph, collector: RangeCollector, images: readonly Float32Array[], rule: (tensor: string) => RangeMethod, label: CalibrationMethod,
  options: QuantizeModelOptions, tensorBits: ReadonlyMap<string, number>, auto?: { tensorMethods: Record<string, string>; methodErrors: Record<string, number> },
): QuantizedGraph {
  const actBits = options.actBits ?? 8;
  const bitsOf = (tensor: string): number => tensorBits.get(tensor) ?? actBits;
  // The network's scores keep their full range: clipping the largest logit would change the top-1 class.
  const ranges = new Map(collector.ranges(rule, bitsOf, new Set([graph.output])));
  // The network input on a pixel grid keeps one q per pixel level (RangeCollector.gridRange), whatever the rule.
  const grid = collector.gridRange(graph.firstTensor, bitsOf(graph.firstTensor));
  if (grid) ranges.set(graph.firstTensor, grid);
  const means = collector.channelMeans();
  const biasCorrection = options.biasCorrection ?? 'empirical';
  const quantized = quantizeCalibrated(graph, {
    ranges, weightBits: options.weightBits ?? 8, actBits, images: images.length, method: label, biasCorrection,
    ...(tensorBits.size > 0 ? { tensorBits } : {}),
    ...(auto ?? {}),
    ...(options.requantBits !== undefined ? { requantBits: options.requantBits } : {}),
    ...(options.fixedTensors !== undefined ? { fixedTensors: options.fixedTensors } : {}),
    ...(biasCorrection === 'none' ? {} : { channelMeans: means }),
  });
  const spliced = options.frozenFront ? options.frozenFront.splice(quantized) : quantized;
  if (biasCorrection !== 'empirical') return spliced;
  return correctBiasesEmpirically(spliced, images.map((image) => quantizeInput(spliced, image)), means, options.frozenFront?.fromLayer ?? 0);
}

interface CalibrationStats {
  /** Every image's statistics. */
  readonly all: RangeCollector;
  /** The first `fitCount` images' statistics. */
  readonly fitted: RangeCollector;
  /** The float model's output on each image after the first `fitCount` (auto measures on them). */
  readonly outputs: Float32Array[];
}

async function collectRanges(onnx: OnnxModel, graph: LayerGraph, images: readonly Float32Array[], fitCount: number, onProgress?: (done: number, total: number) => void): Promise<CalibrationStats> {
  const outputs = graph.layers.map((l) => l.output);
  const runner = await openWithOutputs(onnx, outputs, graph.input.shape);
  const all = new RangeCollector(images.length);
  const fitted = fitCount < images.length ? new RangeCollector(fitCount) : all;
  const scores: Float32Array[] = [];
  try {
    for (const [i, image] of images.entries()) {
      const collectors = i < fitCount && fitted !== all ? [all, fitted] : [all];
      const first = preprocess(graph, image);
      for (const c of collectors) observe(c, graph.firstTensor, first, graph.input.shape[0]);
      for (const [name, values] of await runner.run(image)) {
        for (const c of collectors) observe(c, name, values, graph.tensors.get(name)?.shape[0] ?? 1);
        if (i >= fitCount && name === graph.output) scores.push(Float32Array.from(values));
      }
      onProgress?.(i + 1, images.length);
    }
  } finally {
    await runner.release();
  }
  return { all, fitted, outputs: scores };
}

function observe(collector: RangeCollector, name: string, values: ArrayLike<number>, channels: number): void {
  collector.observe(name, values);
  collector.observeChannels(name, values, channels);
}

/** What the first layer sees: x * scale[c] + offset[c], in float32 as the model computes it. */
export function preprocess(graph: LayerGraph, image: Float32Array): Float32Array {
  const [c, h, w] = graph.input.shape;
  const out = new Float32Array(image.length);
  for (let ch = 0; ch < c; ch++) {
    const scale = Math.fround(graph.input.preprocess.scale[ch] ?? 1);
    const offset = Math.fround(graph.input.preprocess.offset[ch] ?? 0);
    for (let i = ch * h * w; i < (ch + 1) * h * w; i++) out[i] = Math.fround((image[i] ?? 0) * scale) + offset;
  }
  return out;
}
