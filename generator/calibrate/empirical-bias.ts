/**
 * Empirical bias correction: after quantization, walk the layers in order over the calibration images,
 * running the integer model one layer at a time, and move each conv/gemm channel's bias by the mean
 * difference between its dequantized integer output and the float output (ONNX Runtime's channel means).
 * The analytic correction (quantize.ts) removes the offset the layer's own weights cause; this one also
 * removes what rounding of the activations upstream has shifted. Means are taken after the activation, so
 * a channel that is often clamped gets a partial correction, never an overshoot.
 */
import { IntegerModel } from '../golden/integer-model.js';
import { checkQuantizedGraph } from '../quant/check.js';
import type { QLayer, QuantizedGraph } from '../quant/ir.js';

export function correctBiasesEmpirically(
  qg: QuantizedGraph, calibInputs: readonly Int32Array[], floatMeans: ReadonlyMap<string, ArrayLike<number>>, fromLayer = 0,
): QuantizedGraph {
  let graph = qg;
  // Values of every tensor still needed, per image; a tensor is dropped after its last reader.
  const values = calibInputs.map((q) => new Map<string, Int32Array>([[qg.input.tensor, q]]));
  const lastUse = lastReaders(qg);
  for (const layer of qg.layers) {
    let model = new IntegerModel(graph);
    const run = (): Int32Array[] => values.map((v) => model.runLayer(layer.index, layer.inputs.map((n) => v.get(n) ?? new Int32Array())));
    let outputs = run();
    const target = floatMeans.get(layer.output);
    // Layers before fromLayer are a chip's frozen front end: run, never corrected.
    if ((layer.kind === 'conv' || layer.kind === 'gemm') && target && layer.index >= fromLayer) {
      graph = withBias(graph, layer.index, correctedBias(graph, layer.index, outputs, target));
      model = new IntegerModel(graph);
      outputs = run();
    }
    values.forEach((v, i) => {
      v.set(layer.output, outputs[i] as Int32Array);
      for (const name of layer.inputs) if (lastUse.get(name) === layer.index && name !== graph.output) v.delete(name);
    });
  }
  checkQuantizedGraph(graph);
  return graph;
}

function lastReaders(qg: QuantizedGraph): Map<string, number> {
  const last = new Map<string, number>();
  for (const layer of qg.layers) for (const name of layer.inputs) last.set(name, layer.index);
  return last;
}

function correctedBias(qg: QuantizedGraph, index: number, outputs: readonly Int32Array[], target: ArrayLike<number>): number[] {
  const layer = qg.layers[index] as Extract<QLayer, { kind: 'conv' | 'gemm' }>;
  const out = qg.tensors[layer.output];
  const input = qg.tensors[layer.inputs[0] ?? ''];
  if (!out || !input) return [...layer.bias];
  const [channels, h, w] = out.shape;
  const plane = h * w;
  return layer.bias.map((b, m) => {
    let sum = 0;
    for (const o of outputs) for (let i = m * plane; i < (m + 1) * plane; i++) sum += (o[i] as number) - out.quant.zeroPoint;
    const meanInt = (out.quant.scale * sum) / (plane * outputs.length);
    const accScale = input.quant.scale * (layer.weightScale[m] ?? 1);
    const shift = Math.round((meanInt - (target[m] ?? 0)) / accScale);
    return m < channels && Number.isSafeInteger(b - shift) ? b - shift : b;
  });
}

function withBias(qg: QuantizedGraph, index: number, bias: number[]): QuantizedGraph {
  return { ...qg, layers: qg.layers.map((l) => (l.index === index && (l.kind === 'conv' || l.kind === 'gemm') ? { ...l, bias } : l)) };
}
