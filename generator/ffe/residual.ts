/**
 * Residual Add and the delayed skip path.
 *
 * The skip tensor is broadcast to the main path and to a FIFO (`skipFifoModule`); a beat leaves the
 * fork only when both take it. The FIFO holds the skip beats while the main path's line buffers fill:
 * its depth is the main path's lead (the sum of the units' window lags, pipeline stages and skid slots,
 * see `skipDepth`), so the fork never waits on a full FIFO in steady state and the stream keeps one
 * pixel per clock. The Add joins the main stream (s_*) and the skip stream (k_*) and fires when both
 * have a beat:
 *     acc = (a - zp_a) * M_a + (b - zp_b) * M_b,  y = clamp(((acc + 2^(s-1)) >> s) + zo)
 * computed as a*M_a + b*M_b + K (CSD shift-add products; K holds the zero points, the rounding
 * constant and zo*2^s).
 */
import { badInput } from '../common/errors.js';
import { type Expr, Module, mux, u } from '../hdl/index.js';
import type { QAddLayer } from '../quant/ir.js';
import type { Stream } from '../contract/stream.js';
import { Stages, finishLayer } from './layer-module.js';
import { timesConstant } from './requant.js';
import { counter, skidBuffer, unpackChannels } from './stream.js';
import type { BuiltLayer } from './types.js';

/** A stream FIFO in inferred RAM with a two-slot output buffer. Ports as a layer: s_* in, m_* out. */
export function skipFifoModule(name: string, shape: Stream, depth: number): BuiltLayer {
  const m = new Module(name);
  m.addClock();
  const rst = m.input('rst', u(1));
  const sValid = m.input('s_tvalid', u(1));
  const wordBits = shape.channels * shape.type.bits;
  const sData = m.input('s_tdata', u(wordBits));
  const mReady = m.input('m_tready', u(1));
  const size = Math.max(2, depth);
  const count = m.reg('count', { min: 0n, max: BigInt(size) }, { reset: rst });
  const sReady = count.lt(size);
  const write = sValid.and(sReady);
  const skid = skidBuffer(m, 'out_', rst);
  const issue = m.wire('issue', skid.ce.and(count.gt(0)));
  const wp = counter(m, 'wp', size - 1, { step: write, reset: rst });
  const rp = counter(m, 'rp', size - 1, { step: issue, reset: rst });
  const mem = m.memory('buffer', { depth: size, type: u(wordBits) });
  mem.setWrite({ addr: wp, data: sData, enable: write });
  const word = mem.read('word', { addr: rp, enable: skid.ce });
  const readValid = m.reg('read_valid', { min: 0n, max: 1n }, { reset: rst, enable: skid.ce }).next(count.gt(0));
  count.next(mux(write, mux(issue, count, count.add(1)), mux(issue, count.sub(1), count)).assume(0, size));
  const out = skid.finish(mReady, { push: readValid.and(skid.ce), data: word, user: readValid, last: readValid });
  m.output('s_tready', sReady);
  m.output('m_tvalid', out.mValid);
  m.output('m_tdata', out.mData);
  m.output('m_tuser', out.mUser);
  m.output('m_tlast', out.mLast);
  return { module: m, input: shape, output: shape, stages: 2, lagBeats: 0, tailBeats: 0, delay: 3 };
}

/** FIFO depth for a skip path whose main path consists of these units (in beats of the skip stream). */
export function skipDepth(mainPath: readonly BuiltLayer[]): number {
  return mainPath.reduce((n, u) => n + u.lagBeats + u.stages + 3, 0) + 4;
}

/**
 * The Add unit: main stream on s_* (inputs[0] of the layer), skip stream on k_* (inputs[1]); `swap`
 * when the skip is the layer's first input.
 */
export function buildAddModule(name: string, layer: QAddLayer, main: Stream, skip: Stream, output: Stream, skipIsFirst: boolean): BuiltLayer {
  const where = `layer ${layer.index} '${layer.name}'`;
  if (main.channels !== skip.channels || main.height !== skip.height || main.width !== skip.width || output.channels !== main.channels) {
    throw badInput(`${where}: Add of ${main.channels}x${main.height}x${main.width} and ${skip.channels}x${skip.height}x${skip.width} (same shapes supported, no broadcasting)`);
  }
  const m = new Module(name);
  m.addClock();
  const rst = m.input('rst', u(1));
  const sValid = m.input('s_tvalid', u(1));
  const sData = m.input('s_tdata', u(main.channels * main.type.bits));
  const kValid = m.input('k_tvalid', u(1));
  const kData = m.input('k_tdata', u(skip.channels * skip.type.bits));
  const mReady = m.input('m_tready', u(1));
  const skid = skidBuffer(m, 'out_', rst);
  const fire = m.wire('fire', skid.ce.and(sValid).and(kValid));
  const col = counter(m, 'col', output.width - 1, { step: fire, reset: rst });
  const endOfRow = col.eq(output.width - 1);
  const row = counter(m, 'row', output.height - 1, { step: fire.and(endOfRow), reset: rst });
  const stages = new Stages(m, 'st_', skid.ce, rst, { valid: fire, user: row.eq(0).and(col.eq(0)), last: endOfRow });
  const [mainIdx, skipIdx] = skipIsFirst ? [1, 0] : [0, 1];
  const a = unpackChannels(sData, main.channels, main.type);
  const b = unpackChannels(kData, skip.channels, skip.type);
  const products = a.map((x, c) => timesConstant(x, layer.inputMultipliers[mainIdx]!).add(timesConstant(b[c]!, layer.inputMultipliers[skipIdx]!)));
  const sums = stages.register('sum', products);
  const r = layer.requant;
  const outputs = stages.register(
    'y',
    sums.map((v, c) => {
      const s = BigInt(r.shift[c]!);
      const k = -BigInt(layer.inputZeroPoints[mainIdx]!) * BigInt(layer.inputMultipliers[mainIdx]!) - BigInt(layer.inputZeroPoints[skipIdx]!) * BigInt(layer.inputMultipliers[skipIdx]!) + (1n << (s - 1n)) + BigInt(r.outputZeroPoint) * (1n << s);
      return v.add(k).shr(r.shift[c]!).clamp(r.clampMin, r.clampMax) as Expr;
    }),
  );
  finishLayer({ module: m, rst, ce: skid.ce, sValid, sData, mReady, skid, mode: 'skid' }, stages, outputs, output.type, skid.ce.and(kValid));
  m.output('k_tready', skid.ce.and(sValid));
  return { module: m, input: main, output, stages: stages.count + 1, lagBeats: 0, tailBeats: 0, delay: stages.count + 1 };
}
