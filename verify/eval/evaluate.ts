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
   * Fraction of images where ORT and the integer model agree on the top-1 class. Where a quantized output
   * ties (several classes share the largest score) each of them is a valid top-1, so the two agree when
   * their sets of top-scoring classes share a class; a float output never ties and this is plain equality.
   */
  readonly top1Agreement: number;
  /** The same with ties broken by the lowest index on both sides (argmax's convention). */
  readonly top1AgreementStrict: number;
  /** Images whose top-1 agreement rests on a tie. */
  readonly tiedAgreements: number;
  /** Fractions correct, where labels were given. */
  readonly floatAccuracy?: number;
  readonly integerAccuracy?: number;
  /** Top-1 class per image, for callers that compare further. */
  readonly floatTop1: readonly number[];
  readonly integerTop1: readonly number[];
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluationReport> {
  const { graph, quantized: qg, images, labels } = options;
  const model = new IntegerModel(qg);
  const layers = qg.layers;
  const accumulators = layers.map((l) => new AgreementAccumulator(tensorOf(qg, l.output)));
  const isolated = options.isolated ? layers.map((l) => new AgreementAccumulator(tensorOf(qg, l.output))) : undefined;
  const runner = await openWithOutputs(options.onnx, layers.map((l) => l.output), graph.input.shape);
  // Top-1 comes from the model exactly as published (no extra outputs): exposing intermediate tensors
  // can stop ONNX Runtime from fusing a QDQ model's layers, and the class should be the one ORT gives.
  const pristine = await openWithOutputs(options.onnx, [graph.modelOutput], graph.input.shape);
  const floatTop1: number[] = [];
  const integerTop1: number[] = [];
  let agreeWithTies = 0;
  try {
    for (const [i, image] of images.entries()) {
      const reference = await runner.run(image);
      const ints = model.run(model.quantizeInput(image));
      layers.forEach((layer, k) => accumulators[k]?.add(ints.get(layer.output) ?? new Int32Array(), reference.get(layer.output) ?? new Float32Array()));
      if (isolated) runIsolated(model, qg, ints, reference, isolated);
      const scores = (await pristine.run(image)).get(graph.modelOutput) ?? new Float32Array();
      const intScores = ints.get(qg.output) ?? new Int32Array();
      floatTop1.push(argmax(scores));
      integerTop1.push(argmax(intScores));
      const floatTop = topClasses(scores);
      if (topClasses(intScores).some((c) => floatTop.includes(c))) agreeWithTies++;
      options.onProgress?.(i + 1, images.length);
    }
  } finally {
    await runner.release();
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
    top1Agreement: images.length ? agreeWithTies / images.length : 1,
    top1AgreementStrict: images.length ? agreeStrict / images.length : 1,
    tiedAgreements: agreeWithTies - agreeStrict,
    ...(labels ? { floatAccuracy: accuracy(floatTop1), integerAccuracy: accuracy(integerTop1) } : {}),
    floatTop1,
    integerTop1,
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
