/**
 * The integer model against ONNX Runtime on the same inputs: per-layer agreement (SQNR, absolute
 * differences, LSBs), top-1 agreement of the network's scores, and accuracy of each where labels exist.
 * The engine of `fixynn eval` and of the acceptance tests.
 */
import type { LayerGraph } from '../../generator/graph/ir.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import type { OnnxModel } from '../../generator/onnx/decode.js';
import { openWithOutputs } from '../../generator/onnx/runtime.js';
import type { LayerAgreement } from './compare.js';
import { AgreementAccumulator, argmax, topClasses } from './compare.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { quantizeReal } from '../../generator/quant/fixed-point.js';

export interface EvaluateOptions {
  /** The decoded model (run in ONNX Runtime) and its import. */
  readonly onnx: OnnxModel;
  readonly graph: LayerGraph;
  readonly quantized: QuantizedGraph;
  readonly images: readonly Float32Array[];
  readonly labels?: readonly number[];
  /**
   * Also run every layer in isolation: on ORT's own input to that layer (quantized to the input tensor's
   * grid, as QuantizeLinear does), so that its agreement measures that layer's arithmetic alone, without
   * the differences that earlier layers pass on.
   */
  readonly isolated?: boolean;
  /**
   * Where a QDQ model's per-layer reference values come from: 'fused' (default), one ORT session per
   * layer exposing only that layer's tensor, so ORT keeps its fused integer kernels, as it runs the
   * model itself; 'unfused', one session exposing every layer, where ORT runs DQ -> float op -> Q (the
   * ONNX definition of the graph). They differ (docs/arithmetic.md §3).
   */
  readonly reference?: 'fused' | 'unfused';
  readonly onProgress?: (done: number, total: number) => void;
}

export interface LayerReport extends LayerAgreement {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  /** The layer run on ORT's input (when asked for). */
  readonly isolated?: LayerAgreement;
}

export interface EvaluationReport {
  readonly images: number;
  readonly layers: readonly LayerReport[];
  /**
   * Fraction of images where ORT's top-1 class and the integer model's are the same, both the lowest
   * index on ties (exact integers make them equal): one class, as a chip gives one.
   */
  readonly top1Agreement: number;
  /**
   * Diagnostic only: the same where a tie counts as agreement when the two sets of top-scoring classes
   * share a class.
   */
  readonly top1AgreementTieAware: number;
  /** Images where the tie-aware figure agrees and the strict one does not. */
  readonly tiedAgreements: number;
  /** Fraction of images where the chip's answer (IntegerModel.chipAnswer) equals ORT's top-1. */
  readonly chipAgreement: number;
  /** Fractions correct, where labels were given. */
  readonly floatAccuracy?: number;
  readonly integerAccuracy?: number;
  /** Top-1 class per image, for callers that compare further. */
  readonly floatTop1: readonly number[];
  readonly integerTop1: readonly number[];
  readonly chipTop1: readonly number[];
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluationReport> {
  const { graph, quantized: qg, images, labels } = options;
  const model = new IntegerModel(qg);
  const layers = qg.layers;
  const accumulators = layers.map((l) => new AgreementAccumulator(tensorOf(qg, l.output)));
  const isolated = options.isolated ? layers.map((l) => new AgreementAccumulator(tensorOf(qg, l.output))) : undefined;
  // A QDQ model's per-layer reference comes by default from one session per layer, each exposing only
  // that layer's tensor: with all of them exposed at once ONNX Runtime stops fusing DQ -> op -> Q into
  // its integer kernels and computes in float, and its final output then differs (measured on the
  // MobileNet: on every score). With one extra output the layer's values are those of the fused model.
  // A float model has no fusion to lose: one session gives every layer.
  const runners = qg.origin === 'qdq' && options.reference !== 'unfused'
    ? await Promise.all(layers.map((l) => openWithOutputs(options.onnx, [l.output], graph.input.shape)))
    : [await openWithOutputs(options.onnx, layers.map((l) => l.output), graph.input.shape)];
  // Top-1 comes from the model exactly as published (no extra outputs): the class should be the one ORT gives.
  const pristine = await openWithOutputs(options.onnx, [graph.modelOutput], graph.input.shape);
  const floatTop1: number[] = [];
  const integerTop1: number[] = [];
  const chipTop1: number[] = [];
  let agreeWithTies = 0;
  try {
    for (const [i, image] of images.entries()) {
      const reference = new Map<string, Float32Array>();
      for (const runner of runners) for (const [name, values] of await runner.run(image)) reference.set(name, values);
      const ints = model.run(model.quantizeInput(image));
      layers.forEach((layer, k) => accumulators[k]?.add(ints.get(layer.output) ?? new Int32Array(), reference.get(layer.output) ?? new Float32Array()));
      if (isolated) runIsolated(model, qg, ints, reference, isolated);
      const scores = (await pristine.run(image)).get(graph.modelOutput) ?? new Float32Array();
      const intScores = ints.get(qg.output) ?? new Int32Array();
      floatTop1.push(argmax(scores));
      integerTop1.push(argmax(intScores));
      chipTop1.push(model.chipAnswer(ints));
      const floatTop = topClasses(scores);
      if (topClasses(intScores).some((c) => floatTop.includes(c))) agreeWithTies++;
      options.onProgress?.(i + 1, images.length);
    }
  } finally {
    for (const runner of runners) await runner.release();
    await pristine.release();
  }
  const agreeStrict = floatTop1.filter((c, i) => c === integerTop1[i]).length;
  const accuracy = (top1: number[]): number => top1.filter((c, i) => c === labels?.[i]).length / top1.length;
  return {
    images: images.length,
    layers: layers.map((l, k) => ({
      index: l.index, name: l.name, kind: l.kind, ...(accumulators[k] as AgreementAccumulator).result(),
      ...(isolated ? { isolated: (isolated[k] as AgreementAccumulator).result() } : {}),
    })),
    top1Agreement: images.length ? agreeStrict / images.length : 1,
    top1AgreementTieAware: images.length ? agreeWithTies / images.length : 1,
    chipAgreement: images.length ? floatTop1.filter((c, i) => c === chipTop1[i]).length / images.length : 1,
    tiedAgreements: agreeWithTies - agreeStrict,
    ...(labels ? { floatAccuracy: accuracy(floatTop1), integerAccuracy: accuracy(integerTop1) } : {}),
    floatTop1,
    integerTop1,
    chipTop1,
  };
}

/** Each layer on ORT's values of its inputs (the network input: the integer model's own quantization). */
function runIsolated(model: IntegerModel, qg: QuantizedGraph, ints: Map<string, Int32Array>, reference: Map<string, Float32Array>, into: AgreementAccumulator[]): void {
  const onGrid = (name: string): Int32Array => {
    const values = reference.get(name);
    if (!values) return ints.get(name) ?? new Int32Array();
    const quant = tensorOf(qg, name).quant;
    return Int32Array.from(values, (v) => quantizeReal(v, quant));
  };
  qg.layers.forEach((layer, k) => {
    const out = model.runLayer(layer.index, layer.inputs.map(onGrid));
    into[k]?.add(out, reference.get(layer.output) ?? new Float32Array());
  });
}

function tensorOf(qg: QuantizedGraph, name: string) {
  const t = qg.tensors[name];
  if (!t) throw new Error(`quantized graph has no tensor '${name}' (the checker should have caught this)`);
  return t;
}
