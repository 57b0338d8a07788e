/**
 * Max and average pooling on the same line buffer and window as the convolutions (window.ts).
 *
 * MaxPool pads with the input type's minimum (pad positions take no part: every window holds at least
 * one real pixel, docs/arithmetic.md §5) and compares in a balanced tree; acc = max - zp_in.
 * AveragePool pads with the zero point (count_include_pad) and sums in a balanced adder tree;
 * acc = sum - N*zp_in, with 1/N folded into the requantization multiplier. Both then take the one
 * requantization rule, its constant addend absorbing the zero-point term. Without the pads in the
 * divisor (count_include_pad 0), each border window size n has its own requantization (1/n folded in)
 * and the window front's padding flags choose it per position.
 */
import { badInput } from '../common/errors.js';
import { type Expr, constant, maxTree, mux, sum } from '../hdl/index.js';
import type { QPoolLayer } from '../quant/ir.js';
import { windowGeometry } from './geometry.js';
import type { Stream } from '../contract/stream.js';
import { Stages, finishLayer, layerShell } from './layer-module.js';
import { requantize } from './requant.js';
import { typeMin } from './stream.js';
import type { BuiltLayer } from './types.js';
import { type FrontOptions, type WindowFront, buildWindowFront } from './window.js';

/**
 * 1 when the window holds `count` real pixels: (rows inside) * (columns inside) = count, the rows and
 * columns inside counted from the window front's padding flags.
 */
function windowHolds(count: number, front: WindowFront, kernel: readonly [number, number]): Expr {
  const [kh, kw] = kernel;
  const rowsOut = sum([constant(0), ...front.padRows.values()]);
  const colsOut = sum([constant(0), ...front.padCols.values()]);
  const cases: Expr[] = [];
  for (let rows = 1; rows <= kh; rows++) {
    if (count % rows !== 0 || count / rows > kw) continue;
    cases.push(rowsOut.eq(kh - rows).and(colsOut.eq(kw - count / rows)));
  }
  return cases.reduce((a, b) => a.or(b), constant(0));
}

export function buildPoolModule(name: string, layer: QPoolLayer, input: Stream, output: Stream, frontOptions: FrontOptions = {}): BuiltLayer {
  const where = `layer ${layer.index} '${layer.name}'`;
  if (input.channels !== output.channels) throw badInput(`${where}: pooling keeps the channel count (${input.channels} in, ${output.channels} out)`);
  const shell = layerShell(name, input);
  const m = shell.module;
  const g = windowGeometry({ height: input.height, width: input.width, kernel: layer.kernel, stride: layer.stride, pads: layer.pads, dilation: layer.dilation }, where);
  if (g.outHeight !== output.height || g.outWidth !== output.width) throw badInput(`${where}: output ${output.height}x${output.width} does not match ${g.outHeight}x${g.outWidth}`);
  const isMax = layer.kind === 'maxpool';
  const padValue = isMax ? typeMin(input.type) : layer.inputZeroPoint;
  const front = buildWindowFront(m, { prefix: 'lb_', geometry: g, channels: input.channels, type: input.type, padValue, ce: shell.ce, rst: shell.rst, sValid: shell.sValid, sData: shell.sData, ...frontOptions });
  const stages = new Stages(m, 'st_', shell.ce, shell.rst, front);
  const [kh, kw] = layer.kernel;
  const taps = kh * kw;
  const reduced = Array.from({ length: input.channels }, (_, c) => {
    const values: Expr[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) values.push(front.value(c, i, j));
    return isMax ? maxTree(values) : sum(values);
  });
  const border = layer.borderDivisors ?? [];
  const selects = border.map((d) => windowHolds(d.count, front, layer.kernel));
  const registered = stages.register('pool', [...reduced, ...selects]);
  const sums = registered.slice(0, input.channels);
  const selected = registered.slice(input.channels);
  const r = layer.requant;
  const accOffset = -BigInt(layer.inputZeroPoint) * BigInt(isMax ? 1 : taps);
  const rule = (multiplier: number, shift: number) => ({ multiplier, shift, accOffset, outputZeroPoint: r.outputZeroPoint, clampMin: r.clampMin, clampMax: r.clampMax });
  // count_include_pad 0: a border window's own 1/n, chosen by which of its rows and columns are padding.
  const outputs = stages.register(
    'y',
    sums.map((v, c) => border.reduce<Expr>(
      (other, d, k) => mux(selected[k]!, requantize(v, rule(d.multiplier, d.shift), { module: m, name: `rq${c}_n${d.count}` }), other),
      requantize(v, rule(r.multiplier[c]!, r.shift[c]!), { module: m, name: `rq${c}` }),
    )),
  );
  finishLayer(shell, stages, outputs, output.type, front.sReady);
  return { module: m, input, output, stages: stages.count + 1, lagBeats: g.lag, tailBeats: g.tailBeats, delay: stages.count + 2 };
}
