/**
 * The pixel stream between layers (AXI4-Stream): one beat carries all channels of one pixel, packed in
 * `tdata` with channel 0 in the least significant bits, each channel `bits` wide (two's complement when
 * signed). `tuser` marks a frame's first pixel, `tlast` a row's last pixel.
 *
 * Flow control inside a layer: every pipeline register loads only when the layer's clock enable `ce` is
 * 1, and `ce` is "the output skid buffer has a free slot" (a register, so m_tready never reaches
 * s_tready combinationally). The skid buffer holds two beats: when the consumer stops, the beat already
 * leaving the pipeline lands in the second slot and `ce` falls on the next clock, so nothing is lost or
 * repeated; when the consumer takes every beat, one slot stays free and the layer runs every clock.
 */
import type { PixelType } from '../contract/stream.js';
import { type Expr, type Module, concat, constant, mux } from '../hdl/index.js';

export type { PixelType } from '../contract/stream.js';

export function typeMin(t: PixelType): number {
  return t.signed ? -(2 ** (t.bits - 1)) : 0;
}
export function typeMax(t: PixelType): number {
  return t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
}

/** Two's complement bits of a constant, most significant first, each a 1-bit constant. */
function constantBits(value: bigint, bits: number): Expr[] {
  const word = value < 0n ? value + (1n << BigInt(bits)) : value;
  return Array.from({ length: bits }, (_, k) => constant((word >> BigInt(bits - 1 - k)) & 1n));
}

/**
 * All channels of a pixel as one word, channel 0 in the low bits. The DSL folds an all-constant
 * expression to a point interval, whose type is narrower than the pixel type (a slice of the constant
 * 40 has 6 bits, not 8), so a constant channel enters the concatenation as single 1-bit constants;
 * a variable one is assume()d to the full type range so that its bits are exactly `bits` wide.
 */
export function packChannels(values: readonly Expr[], type: PixelType): Expr {
  const parts = [...values].reverse().flatMap((v) => (v.constValue !== undefined ? constantBits(v.constValue, type.bits) : [v.assume(typeMin(type), typeMax(type)).asBits()]));
  return parts.length === 1 ? parts[0]! : concat(...parts);
}

/** The channels of a packed word, each read in the pixel type. */
export function unpackChannels(word: Expr, channels: number, type: PixelType): Expr[] {
  const known = word.constValue;
  return Array.from({ length: channels }, (_, c) => {
    if (known !== undefined) {
      const raw = (known >> BigInt(c * type.bits)) & ((1n << BigInt(type.bits)) - 1n);
      return constant(type.signed && raw >= 1n << BigInt(type.bits - 1) ? raw - (1n << BigInt(type.bits)) : raw);
    }
    const bits = word.slice(c * type.bits + type.bits - 1, c * type.bits);
    return type.signed ? bits.resize(type.bits, { wrap: true, signed: true }) : bits;
  });
}

/** A counter 0..max that steps when `step` is 1 and loads `restartValue` when `restart` is 1. Constant 0 when max is 0. */
export function counter(m: Module, name: string, max: number, opts: { step: Expr; wrapWhen?: Expr; restart?: Expr; restartValue?: number; reset: Expr; init?: number }): Expr {
  if (max === 0) return constant(0);
  const reg = m.reg(name, { min: 0n, max: BigInt(max) }, { reset: opts.reset, init: opts.init ?? 0, enable: opts.step });
  const wraps = opts.wrapWhen ?? reg.eq(max);
  const stepped = mux(wraps, 0, reg.add(1)).assume(0, max);
  reg.next(opts.restart === undefined ? stepped : mux(opts.restart, opts.restartValue ?? 0, stepped).assume(0, max));
  return reg;
}

export interface SkidOutput {
  readonly mValid: Expr;
  readonly mData: Expr;
  readonly mUser: Expr;
  readonly mLast: Expr;
}

export interface SkidBuffer {
  /** 1 when the pipeline may advance (a slot is free). Known before the pipeline is built. */
  readonly ce: Expr;
  /** Attach the pipeline's last stage; `push` must imply `ce` (the pipeline only moves when ce is 1). */
  finish(mReady: Expr, payload: { push: Expr; data: Expr; user: Expr; last: Expr }): SkidOutput;
}

/** Two-slot output buffer (see the file comment). */
export function skidBuffer(m: Module, prefix: string, rst: Expr): SkidBuffer {
  const spareValid = m.reg(`${prefix}spare_valid`, { min: 0n, max: 1n }, { reset: rst });
  return {
    ce: spareValid.not(),
    finish(mReady, payload) {
      const word = concat(payload.user, payload.last, payload.data.asBits());
      const headValid = m.reg(`${prefix}head_valid`, { min: 0n, max: 1n }, { reset: rst });
      const head = m.reg(`${prefix}head`, word.range);
      const spare = m.reg(`${prefix}spare`, word.range);
      const pop = headValid.and(mReady);
      const push = payload.push;
      // With the spare slot full there is no push (ce = 0): the spare moves to the head when the head leaves.
      headValid.next(mux(spareValid, 1, push.or(headValid.and(pop.not()))));
      spareValid.next(mux(spareValid, pop.not(), push.and(headValid).and(pop.not())));
      head.next(mux(spareValid.and(pop), spare, mux(push.and(headValid.not().or(pop)), word, head)));
      spare.next(mux(push.and(headValid).and(pop.not()), word, spare));
      const dataWidth = payload.data.width;
      return { mValid: headValid, mData: head.slice(dataWidth - 1, 0), mLast: head.bit(dataWidth), mUser: head.bit(dataWidth + 1) };
    },
  };
}
