/**
 * Global average pooling: one accumulator per channel sums a whole frame (no line buffer); the frame's
 * last pixel sends sum + that pixel down the pipeline and restarts the sums, so back-to-back frames
 * need no extra clock. acc = sum - H*W*zp_in; 1/(H*W) is folded into the requantization multiplier.
 * The output stream is one 1x1 beat per frame.
 */
import { badInput } from '../common/errors.js';
import { type Expr, constant, mux } from '../hdl/index.js';
import type { QGlobalAvgPoolLayer } from '../quant/ir.js';
import type { Stream } from '../contract/stream.js';
import { Stages, finishLayer, layerShell } from './layer-module.js';
import { requantize } from './requant.js';
import { counter, unpackChannels } from './stream.js';
import type { BuiltLayer } from './types.js';

export function buildGlobalPoolModule(name: string, layer: QGlobalAvgPoolLayer, input: Stream, output: Stream): BuiltLayer {
  const where = `layer ${layer.index} '${layer.name}'`;
  if (output.height !== 1 || output.width !== 1 || output.channels !== input.channels) throw badInput(`${where}: global pooling gives ${input.channels}x1x1, the graph says ${output.channels}x${output.height}x${output.width}`);
  const shell = layerShell(name, input);
  const m = shell.module;
  const frame = input.height * input.width;
  const accept = m.wire('accept', shell.sValid.and(shell.ce));
  const position = counter(m, 'position', frame - 1, { step: accept, reset: shell.rst });
  const first = position.eq(0);
  const lastPixel = position.eq(frame - 1);
  const pixels = unpackChannels(shell.sData, input.channels, input.type);
  const totals = pixels.map((x, c) => {
    if (frame === 1) return x;
    const acc = m.reg(`sum${c}`, { min: x.range.min * BigInt(frame - 1), max: x.range.max * BigInt(frame - 1) }, { enable: accept.and(lastPixel.not()) });
    acc.next(mux(first, x, acc.add(x)).assume(acc.range.min, acc.range.max));
    return mux(first, x, acc.add(x)) as Expr;
  });
  const stages = new Stages(m, 'st_', shell.ce, shell.rst, { valid: accept.and(lastPixel), user: constant(1), last: constant(1) });
  const sums = stages.register('sum', totals);
  const r = layer.requant;
  const accOffset = -BigInt(layer.inputZeroPoint) * BigInt(frame);
  const outputs = stages.register(
    'y',
    sums.map((v, c) => requantize(v, { multiplier: r.multiplier[c]!, shift: r.shift[c]!, accOffset, outputZeroPoint: r.outputZeroPoint, clampMin: r.clampMin, clampMax: r.clampMax }, { module: m, name: `rq${c}` })),
  );
  finishLayer(shell, stages, outputs, output.type, shell.ce);
  return { module: m, input, output, stages: stages.count + 1, lagBeats: 0, tailBeats: 0, delay: stages.count + 1 };
}
