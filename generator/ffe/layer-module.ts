/**
 * The shell every layer module shares: AXI4-Stream ports, the output skid buffer that makes the clock
 * enable, and a pipeline of ce-enabled stages whose valid/user/last bits travel with the data.
 *
 * Ports (names fixed; the top connects them): clk, rst (synchronous, active high), s_tvalid, s_tready,
 * s_tdata (C_in channels packed), m_tvalid, m_tready, m_tdata, m_tuser (first pixel of a frame),
 * m_tlast (last pixel of a row). Layers count positions themselves: a frame is H x W beats.
 */
import { type Expr, Module, u } from '../hdl/index.js';
import { type PixelType, type SkidBuffer, packChannels, skidBuffer } from './stream.js';

export interface StreamShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly type: PixelType;
}

export interface LayerCost {
  /** Adders of the constant weight products (the CMVM adder graphs; for `multiply`, their CSD equivalent). */
  readonly productAdders: number;
  /** Adders of requantization (CSD of M plus the addend), pooling trees and accumulators. */
  readonly otherAdders: number;
  /** Nonzero fixed weights (productAdders / nonzeroWeights is the figure bench:ffe reports). */
  readonly nonzeroWeights: number;
  readonly adderBits: number;
  readonly registerBits: number;
  readonly memoryBits: number;
  /** Adder levels of the deepest combinational path through the constant products. */
  readonly depth: number;
  /** Register stages from an accepted input beat to the output skid buffer. */
  readonly stages: number;
}

export interface LayerShell {
  readonly module: Module;
  readonly rst: Expr;
  readonly ce: Expr;
  readonly sValid: Expr;
  readonly sData: Expr;
  readonly mReady: Expr;
  readonly skid: SkidBuffer;
}

export function layerShell(name: string, input: StreamShape): LayerShell {
  const m = new Module(name);
  m.addClock();
  const rst = m.input('rst', u(1));
  const sValid = m.input('s_tvalid', u(1));
  const sData = m.input('s_tdata', u(input.channels * input.type.bits));
  const mReady = m.input('m_tready', u(1));
  const skid = skidBuffer(m, 'out_', rst);
  return { module: m, rst, ce: skid.ce, sValid, sData, mReady, skid };
}

/** ce-enabled pipeline stages; the valid bit is reset, the data is not (it only matters when valid). */
export class Stages {
  valid: Expr;
  user: Expr;
  last: Expr;
  count = 0;
  registerBits = 0;

  constructor(
    private readonly m: Module,
    private readonly prefix: string,
    private readonly ce: Expr,
    private readonly rst: Expr,
    head: { valid: Expr; user: Expr; last: Expr },
  ) {
    this.valid = head.valid;
    this.user = head.user;
    this.last = head.last;
  }

  /** Register `values` (and the flags) once: one more clock of latency. */
  register(name: string, values: readonly Expr[]): Expr[] {
    this.count += 1;
    const tag = `${this.prefix}${name}`;
    const flag = (what: string, v: Expr): Expr => this.m.reg(`${tag}_${what}`, { min: 0n, max: 1n }, { reset: this.rst, enable: this.ce }).next(v);
    this.valid = flag('valid', this.valid);
    this.user = flag('user', this.user);
    this.last = flag('last', this.last);
    this.registerBits += 3;
    return values.map((v, i) => {
      this.registerBits += v.width;
      return v.constValue !== undefined ? v : this.m.pipe(`${tag}_${i}`, v, { enable: this.ce });
    });
  }
}

/** Ties the last stage to the skid buffer and the output ports; returns the s_tready the caller computed. */
export function finishLayer(shell: LayerShell, stages: Stages, outputs: readonly Expr[], outType: PixelType, sReady: Expr): void {
  const m = shell.module;
  const data = packChannels(outputs, outType);
  const out = shell.skid.finish(shell.mReady, { push: stages.valid.and(shell.ce), data, user: stages.user, last: stages.last });
  m.output('s_tready', sReady);
  m.output('m_tvalid', out.mValid);
  m.output('m_tdata', out.mData);
  m.output('m_tuser', out.mUser);
  m.output('m_tlast', out.mLast);
}
