/**
 * Independent references for the accelerator tests: the final layer's accumulators (acc + bias, before
 * requantization) from the integer model's values of its input, and the chip's answer over them
 * (docs/arithmetic.md / issue 8: argmax of acc[m] * M[m] * 2^(S - s[m]), lowest index on ties).
 */
import type { QLayer, QuantizedGraph } from '../../generator/quant/ir.js';

export function finalAccumulators(graph: QuantizedGraph, layer: QLayer, input: Int32Array): Int32Array {
  const inT = graph.tensors[layer.inputs[0] as string]!;
  const outT = graph.tensors[layer.output]!;
  const [outC, outH, outW] = outT.shape;
  const out = new Int32Array(outC * outH * outW);
  if (layer.kind === 'gemm') {
    const [m, n] = layer.weightShape;
    for (let i = 0; i < m; i++) {
      let acc = layer.bias[i] ?? 0;
      for (let k = 0; k < n; k++) acc += (layer.weights[i * n + k] ?? 0) * ((input[k] ?? 0) - layer.inputZeroPoint);
      out[i] = acc;
    }
    return out;
  }
  if (layer.kind !== 'conv') throw new Error('finalAccumulators: conv or gemm');
  const [, inH, inW] = inT.shape;
  const [, perGroup, kh, kw] = layer.weightShape;
  const outPerGroup = outC / layer.group;
  for (let m = 0; m < outC; m++) {
    const g = Math.floor(m / outPerGroup);
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let acc = layer.bias[m] ?? 0;
        for (let c = 0; c < perGroup; c++) {
          for (let i = 0; i < kh; i++) {
            for (let j = 0; j < kw; j++) {
              const y = oy * layer.stride[0] - layer.pads[0] + i;
              const x = ox * layer.stride[1] - layer.pads[1] + j;
              if (y < 0 || y >= inH || x < 0 || x >= inW) continue;
              const ch = g * perGroup + c;
              acc += (layer.weights[((m * perGroup + c) * kh + i) * kw + j] ?? 0) * ((input[(ch * inH + y) * inW + x] ?? 0) - layer.inputZeroPoint);
            }
          }
        }
        out[(m * outH + oy) * outW + ox] = acc;
      }
    }
  }
  return out;
}

export function chipAnswer(scores: ArrayLike<number>, multiplier: readonly number[], shift: readonly number[]): number {
  const top = Math.max(...shift);
  let best = 0;
  let bestValue: bigint | undefined;
  for (let i = 0; i < scores.length; i++) {
    const v = BigInt(scores[i] as number) * BigInt(multiplier[i] ?? 0) * (1n << BigInt(top - (shift[i] ?? 0)));
    if (bestValue === undefined || v > bestValue) { best = i; bestValue = v; }
  }
  return best;
}
