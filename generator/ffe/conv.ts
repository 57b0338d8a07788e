/**
 * Convolution engines: dense, grouped and depthwise convolutions are one engine — the window
 * (window.ts) feeds every (channel, row, column) value to one constant matrix-vector product whose
 * matrix is block-diagonal by group (a depthwise layer: one 1 x kh*kw row per channel). Zero weights,
 * and so the other groups' inputs, cost nothing in the adder graph.
 */
import type { QConvLayer } from '../quant/ir.js';
import { badInput } from '../common/errors.js';
import type { Expr, Module } from '../hdl/index.js';
import { windowGeometry } from './geometry.js';
import type { Stream } from '../contract/stream.js';
import { Stages, finishLayer, layerShell } from './layer-module.js';
import { type ProductOptions, type WeightedSpec, weightedStage } from './products.js';
import { type FrontOptions, buildWindowFront } from './window.js';
import { packChannels } from './stream.js';
import type { BuiltLayer } from './types.js';

/** The conv weights as W[m][c*kh*kw + i*kw + j] over all input channels (zeros outside m's group). */
export function convMatrix(layer: QConvLayer, inChannels: number): number[][] {
  const [outC, perGroup, kh, kw] = layer.weightShape;
  const outPerGroup = outC / layer.group;
  const taps = kh * kw;
  return Array.from({ length: outC }, (_, m) => {
    const row = new Array<number>(inChannels * taps).fill(0);
    const first = Math.floor(m / outPerGroup) * perGroup;
    for (let c = 0; c < perGroup; c++) {
      for (let t = 0; t < taps; t++) row[(first + c) * taps + t] = layer.weights[(m * perGroup + c) * taps + t]!;
    }
    return row;
  });
}

export function convSpec(layer: QConvLayer, inChannels: number): WeightedSpec {
  return { what: describeConv(layer, inChannels), matrix: convMatrix(layer, inChannels), bias: layer.bias, inputZeroPoint: layer.inputZeroPoint, requant: layer.requant };
}

/** Which weight meets which input: the comment above a layer's product (see convMatrix). */
function describeConv(layer: QConvLayer, inChannels: number): string {
  const [outC, perGroup, kh, kw] = layer.weightShape;
  const outPerGroup = outC / layer.group;
  const group = outPerGroup === 1 ? 'o' : `(o div ${outPerGroup})`;
  const channel = layer.group === 1 ? 'c' : perGroup === 1 ? group : `${group}*${perGroup} + c`;
  const index = kh * kw === 1 ? channel : `${layer.group === 1 || perGroup === 1 ? channel : `(${channel})`}*${kh * kw} + ky*${kw} + kx`;
  // The layer's index, not its model name: no model string reaches the Verilog (the manifest maps them).
  return `layer ${layer.index}: conv ${kh}x${kw}, ${inChannels} -> ${outC} channels, group ${layer.group}\nw[o][c][ky][kx] multiplies x<i>, i = ${index}`;
}

/** Window values in the matrix's input order: channel-major, then row, then column. */
export function windowInputs(value: (c: number, i: number, j: number) => Expr, channels: number, kh: number, kw: number): Expr[] {
  const out: Expr[] = [];
  for (let c = 0; c < channels; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) out.push(value(c, i, j));
  return out;
}

export function checkConvShapes(layer: QConvLayer, input: Stream, output: Stream, where: string): void {
  const [outC, perGroup] = layer.weightShape;
  if (perGroup * layer.group !== input.channels || outC !== output.channels || outC % layer.group !== 0) {
    throw badInput(`${where}: weights [${layer.weightShape.join(', ')}] with group ${layer.group} do not fit ${input.channels} input and ${output.channels} output channels`);
  }
}

/** A pipeline continuation inside the same module (the pointwise half of a fused block). */
export type FusedStage = (m: Module, stages: Stages, values: Expr[]) => { outputs: Expr[]; output: Stream };

/**
 * Depthwise + pointwise fusion: the pointwise products take the depthwise layer's requantized outputs
 * straight from its pipeline register, with no line buffer, stream or skid buffer between them (the
 * depthwise requantization and activation stay, as the integer model computes them).
 */
export function fusedPointwise(pw: QConvLayer, mid: Stream, output: Stream, options: ProductOptions): FusedStage {
  checkConvShapes(pw, mid, output, `layer ${pw.index} '${pw.name}'`);
  return (m, stages, values) => {
    const r = weightedStage(m, stages, 'pw_', values, convSpec(pw, mid.channels), options);
    return { outputs: r.outputs, output };
  };
}

/**
 * A conv layer module. `after` (optional) continues the pipeline inside the same module — the fused
 * pointwise layer of a depthwise-separable block.
 */
export function buildConvModule(
  name: string,
  layer: QConvLayer,
  input: Stream,
  output: Stream,
  options: ProductOptions,
  after?: FusedStage,
  front: FrontOptions = {},
): BuiltLayer {
  const where = `layer ${layer.index} '${layer.name}'`;
  checkConvShapes(layer, input, output, where);
  const pipelined = (options.pipeline ?? 0) > 0;
  const shell = layerShell(name, input, pipelined ? 'credit' : 'skid');
  const m = shell.module;
  const g = windowGeometry({ height: input.height, width: input.width, kernel: layer.kernel, stride: layer.stride, pads: layer.pads, dilation: layer.dilation }, where);
  if (g.outHeight !== output.height || g.outWidth !== output.width) {
    throw badInput(`${where}: output ${output.height}x${output.width} does not match the window geometry ${g.outHeight}x${g.outWidth}`);
  }
  const window = buildWindowFront(m, { prefix: 'lb_', geometry: g, channels: input.channels, type: input.type, padValue: layer.inputZeroPoint, ce: shell.ce, rst: shell.rst, sValid: shell.sValid, sData: shell.sData, ...front });
  const stages = new Stages(m, 'st_', shell.ce, shell.rst, window, pipelined);
  const inputs = windowInputs(window.value, input.channels, layer.kernel[0], layer.kernel[1]);
  const conv = weightedStage(m, stages, 'conv_', inputs, convSpec(layer, input.channels), options);
  let outputs = conv.outputs;
  let outShape = output;
  if (after !== undefined) {
    // The depthwise layer's own output, as it enters the pointwise products: a tap for diagnosis
    // (a beat moves on when the stage advances: every clock in credit mode, on ce in skid mode).
    m.output('inner_tap_valid', pipelined ? stages.valid : stages.valid.and(shell.ce));
    m.output('inner_tap_data', packChannels(outputs, output.type));
    const next = after(m, stages, outputs);
    outputs = next.outputs;
    outShape = next.output;
  }
  finishLayer(shell, stages, outputs, outShape.type, window.sReady);
  // Stage-1 register, the stages, then the output buffer: the skid's head (skid mode), or FIFO write,
  // read and the skid's head (credit mode).
  const delay = pipelined ? stages.count + 4 : stages.count + 2;
  return { module: m, input, output: outShape, stages: stages.count + 1, lagBeats: g.lag, tailBeats: g.tailBeats, delay };
}
