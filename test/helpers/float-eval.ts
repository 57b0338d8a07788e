/**
 * The tests' one float executor of a LayerGraph, in float64, written from the ONNX operator definitions:
 * it shows that import and the passes preserve what the model computes (against ONNX Runtime on the
 * original model), and it stands in for ONNX Runtime where no model file exists (the integer model's and
 * the quantizer's tests). Activations are [C, H, W] arrays, row-major.
 */
import type { Activation, Layer, LayerGraph } from '../../generator/graph/ir.js';

export interface Activations {
  readonly shape: readonly [number, number, number];
  readonly data: Float64Array;
}

function activate(v: number, a: Activation, channel = 0): number {
  if (a.kind === 'relu') return Math.max(0, v);
  if (a.kind === 'leaky') return v < 0 ? v * (a.slope[channel] ?? 0) : v;
  if (a.kind === 'clip') return Math.min(a.max, Math.max(a.min, v));
  return v;
}

function conv(layer: Extract<Layer, { kind: 'conv' }>, x: Activations, out: readonly [number, number, number]): Float64Array {
  const [c, h, w] = x.shape;
  const [m, ho, wo] = out;
  const [kh, kw] = layer.kernel;
  const cg = c / layer.group;
  const mg = m / layer.group;
  const y = new Float64Array(m * ho * wo);
  for (let oc = 0; oc < m; oc++) {
    const g = Math.floor(oc / mg);
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let acc = layer.bias[oc] ?? 0;
        for (let ic = 0; ic < cg; ic++) {
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * layer.stride[0] - layer.pads[0] + ky * layer.dilation[0];
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * layer.stride[1] - layer.pads[1] + kx * layer.dilation[1];
              if (ix < 0 || ix >= w) continue;
              const wv = layer.weights.float[((oc * cg + ic) * kh + ky) * kw + kx] ?? 0;
              acc += wv * (x.data[((g * cg + ic) * h + iy) * w + ix] ?? 0);
            }
          }
        }
        y[(oc * ho + oy) * wo + ox] = activate(acc, layer.activation, oc);
      }
    }
  }
  return y;
}

function pool(layer: Extract<Layer, { kind: 'maxpool' | 'avgpool' }>, x: Activations, out: readonly [number, number, number]): Float64Array {
  const [c, h, w] = x.shape;
  const [, ho, wo] = out;
  const [kh, kw] = layer.kernel;
  const y = new Float64Array(c * ho * wo);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let best = -Infinity;
        let sum = 0;
        let inside = 0;
        let padded = 0;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const iy = oy * layer.stride[0] - layer.pads[0] + ky * layer.dilation[0];
            const ix = ox * layer.stride[1] - layer.pads[1] + kx * layer.dilation[1];
            const inPadded = iy >= -layer.pads[0] && iy < h + layer.pads[2] && ix >= -layer.pads[1] && ix < w + layer.pads[3];
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
              if (inPadded) padded++;
              continue;
            }
            const v = x.data[(ch * h + iy) * w + ix] ?? 0;
            best = Math.max(best, v);
            sum += v;
            inside++;
          }
        }
        y[(ch * ho + oy) * wo + ox] = layer.kind === 'maxpool' ? best : sum / (layer.countIncludePad ? inside + padded : inside);
      }
    }
  }
  return y;
}

function runLayer(graph: LayerGraph, layer: Layer, inputs: Activations[]): Float64Array {
  const out = graph.tensors.get(layer.output)?.shape ?? [0, 0, 0];
  const x = inputs[0] as Activations;
  switch (layer.kind) {
    case 'conv': return conv(layer, x, out);
    case 'maxpool':
    case 'avgpool': return pool(layer, x, out);
    case 'globalavgpool': {
      const [c, h, w] = x.shape;
      return Float64Array.from({ length: c }, (_, ch) => x.data.subarray(ch * h * w, (ch + 1) * h * w).reduce((s, v) => s + v, 0) / (h * w));
    }
    case 'gemm': {
      const [m = 0, n = 0] = layer.weights.shape;
      return Float64Array.from({ length: m }, (_, i) => {
        let acc = layer.bias[i] ?? 0;
        for (let j = 0; j < n; j++) acc += (layer.weights.float[i * n + j] ?? 0) * (x.data[j] ?? 0);
        return activate(acc, layer.activation, i);
      });
    }
    case 'add': {
      const b = inputs[1] as Activations;
      return x.data.map((v, i) => activate(v + (b.data[i] ?? 0), layer.activation));
    }
  }
}

/** Run the graph on one image (the model's float input, [C, H, W]); returns every tensor by name. */
export function evaluateFloat(graph: LayerGraph, input: Float64Array | Float32Array): Map<string, Activations> {
  const [c, h, w] = graph.input.shape;
  const { scale, offset } = graph.input.preprocess;
  const first = Float64Array.from(input, (v, i) => v * (scale[Math.floor(i / (h * w))] ?? 1) + (offset[Math.floor(i / (h * w))] ?? 0));
  const values = new Map<string, Activations>([[graph.firstTensor, { shape: [c, h, w], data: first }]]);
  for (const layer of graph.layers) {
    const inputs = layer.inputs.map((n) => values.get(n) as Activations);
    const shape = graph.tensors.get(layer.output)?.shape ?? [0, 0, 0];
    values.set(layer.output, { shape, data: runLayer(graph, layer, inputs) });
  }
  return values;
}
