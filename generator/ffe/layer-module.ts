/**
 * The shell every layer module shares: AXI4-Stream ports, the output skid buffer that makes the clock
 * enable, and a pipeline of ce-enabled stages whose valid/user/last bits travel with the data.
 *
 * Ports (names fixed; the top connects them): clk, rst (synchronous, active high), s_tvalid, s_tready,
 * s_tdata (C_in channels packed), m_tvalid, m_tready, m_tdata, m_tuser (first pixel of a frame),
 * m_tlast (last pixel of a row). Layers count positions themselves: a frame is H x W beats.
 */
import { type Expr, Module, type Wire, concat, mux, u } from '../hdl/index.js';
import type { Stream } from '../contract/stream.js';
import { type PixelType, type SkidBuffer, type SkidOutput, counter, packChannels, skidBuffer } from './stream.js';

/**
 * How a layer's pipeline stalls.
 *  - `skid` (default): every register after the window loads only on ce = "the two-slot output skid
 *    buffer has a free slot"; a stall freezes the whole layer in place.
 *  - `credit` (with --pipeline N): the constant products are pipelined inside the arith CMVM block,
 *    whose registers run every clock. Everything after the window then runs freely and lands in an
 *    output FIFO in inferred RAM; the window advances (ce) only while the beats in flight plus those in
 *    the FIFO are fewer than its capacity, so no beat is ever dropped. The capacity exceeds the beats
 *    in flight at full rate, which keeps ce high, and one pixel per clock, while the consumer keeps up.
 */
export type FlowMode = 'skid' | 'credit';

export interface LayerShell {
  readonly module: Module;
  readonly rst: Expr;
  readonly ce: Expr;
  readonly sValid: Expr;
  readonly sData: Expr;
  readonly mReady: Expr;
  readonly mode: FlowMode;
  /** Skid mode: the output buffer. Credit mode: ce is a wire driven by finishLayer. */
  readonly skid?: SkidBuffer;
  readonly ceWire?: Wire;
}

export function layerShell(name: string, input: Stream, mode: FlowMode = 'skid'): LayerShell {
  const m = new Module(name);
  m.addClock();
  const rst = m.input('rst', u(1));
  const sValid = m.input('s_tvalid', u(1));
  const sData = m.input('s_tdata', u(input.channels * input.type.bits));
  const mReady = m.input('m_tready', u(1));
  if (mode === 'credit') {
    const ceWire = m.wire('ce', u(1));
    return { module: m, rst, ce: ceWire, sValid, sData, mReady, mode, ceWire };
  }
  const skid = skidBuffer(m, 'out_', rst);
  return { module: m, rst, ce: skid.ce, sValid, sData, mReady, mode, skid };
}

/**
 * Pipeline stages after the window; the valid bit is reset, the data is not (it only matters when
 * valid). In skid mode the flags load on ce and the data only on ce with a valid beat (`<stage>_load`),
 * its logic computed on those clocks only (RegOptions.computeOnEnable: a simulator skips the idle
 * clocks of a layer after a stride or a pool); in credit mode they run every clock and the first
 * stage takes a beat only when ce lets the window advance (the window holds its beat while ce is 0).
 */
export class Stages {
  valid: Expr;
  user: Expr;
  last: Expr;
  count = 0;
  registerBits = 0;
  /** Credit mode: 1 when a beat enters the free-running pipeline (set by the first stage). */
  entered: Expr | undefined;
  private gated = false;

  constructor(
    private readonly m: Module,
    private readonly prefix: string,
    private readonly ce: Expr,
    private readonly rst: Expr,
    head: { valid: Expr; user: Expr; last: Expr },
    readonly freeRunning = false,
  ) {
    this.valid = head.valid;
    this.user = head.user;
    this.last = head.last;
  }

  private enableOpts(): { enable?: Expr } {
    return this.freeRunning ? {} : { enable: this.ce };
  }

  private advanceFlags(tag: string): void {
    const opts = this.enableOpts();
    let valid = this.valid;
    if (this.freeRunning && !this.gated) {
      valid = valid.and(this.ce);
      this.entered = valid;
      this.gated = true;
    }
    const flag = (what: string, v: Expr): Expr => this.m.reg(`${tag}_${what}`, { min: 0n, max: 1n }, { reset: this.rst, ...opts }).next(v);
    this.valid = flag('valid', valid);
    this.user = flag('user', this.user);
    this.last = flag('last', this.last);
    this.registerBits += 3;
    this.count += 1;
  }

  /** Register `values` (and the flags) once: one more clock of latency. */
  register(name: string, values: readonly Expr[]): Expr[] {
    const tag = `${this.prefix}${name}`;
    const opts = this.freeRunning || values.every((v) => v.constValue !== undefined) ? this.enableOpts() : { enable: this.load(name), computeOnEnable: true };
    this.advanceFlags(tag);
    return values.map((v, i) => {
      this.registerBits += v.width;
      return v.constValue !== undefined ? v : this.m.pipe(`${tag}_${i}`, v, opts);
    });
  }

  /**
   * Skid mode: the enable of the next stage's data registers, ce with a valid beat (the wire
   * `<stage>_load`); a stage whose registers live in a child (a CMVM block with registered outputs)
   * connects it there and then calls `advance`.
   */
  load(name: string): Expr {
    if (this.freeRunning) throw new Error('internal: a free-running (credit mode) pipeline loads every clock');
    return this.m.wire(`${this.prefix}${name}_load`, this.ce.and(this.valid));
  }

  /** One stage whose data registers (`bits` of them) live in a child loading on `load(name)`: the flags advance. */
  advance(name: string, bits: number): void {
    this.advanceFlags(`${this.prefix}${name}`);
    this.registerBits += bits;
  }

  /** Delay only the flags by `cycles` (data delayed elsewhere, e.g. inside a pipelined CMVM block). */
  delayFlags(name: string, cycles: number): void {
    if (cycles > 0 && !this.freeRunning) throw new Error('a pipelined block needs a free-running (credit mode) pipeline');
    for (let k = 0; k < cycles; k++) this.advanceFlags(`${this.prefix}${name}${k}`);
  }
}

/** Ties the last stage to the output buffer and the output ports; `sReady` is the layer's s_tready. */
export function finishLayer(shell: LayerShell, stages: Stages, outputs: readonly Expr[], outType: PixelType, sReady: Expr): void {
  const m = shell.module;
  const data = packChannels(outputs, outType);
  const out =
    shell.mode === 'credit'
      ? creditFifo(shell, stages, data)
      : shell.skid!.finish(shell.mReady, { push: stages.valid.and(shell.ce), data, user: stages.user, last: stages.last });
  m.output('s_tready', sReady);
  m.output('m_tvalid', out.mValid);
  m.output('m_tdata', out.mData);
  m.output('m_tuser', out.mUser);
  m.output('m_tlast', out.mLast);
}

/** Credit mode's output FIFO (see FlowMode) and the ce it grants. */
function creditFifo(shell: LayerShell, stages: Stages, data: Expr): SkidOutput {
  const m = shell.module;
  const rst = shell.rst;
  // A beat needs count + 3 clocks from entering to leaving (stages, FIFO write, read, output slot):
  // with that many credits in use at full rate, two more keep ce high.
  const capacity = stages.count + 5;
  const size = Math.max(2, capacity);
  const word = concat(stages.user, stages.last, data.asBits());
  const fifo = m.memory('out_fifo', { depth: size, type: word.range });
  const stored = m.reg('out_count', { min: 0n, max: BigInt(size) }, { reset: rst });
  const skid = skidBuffer(m, 'out_', rst);
  const write = stages.valid;
  const issue = m.wire('out_issue', skid.ce.and(stored.gt(0)));
  const wp = counter(m, 'out_wp', size - 1, { step: write, reset: rst });
  const rp = counter(m, 'out_rp', size - 1, { step: issue, reset: rst });
  fifo.setWrite({ addr: wp, data: word, enable: write });
  const read = fifo.read('out_word', { addr: rp, enable: skid.ce });
  const readValid = m.reg('out_read_valid', { min: 0n, max: 1n }, { reset: rst, enable: skid.ce }).next(stored.gt(0));
  stored.next(mux(write, mux(issue, stored, stored.add(1)), mux(issue, stored.sub(1), stored)).assume(0, size));
  const width = data.width;
  const out = skid.finish(shell.mReady, { push: readValid.and(skid.ce), data: read.slice(width - 1, 0), user: read.bit(width + 1), last: read.bit(width) });
  // Credits: beats that entered the free pipeline and have not left the layer yet.
  const occupancy = m.reg('out_occupancy', { min: 0n, max: BigInt(capacity) }, { reset: rst });
  if (stages.entered === undefined) throw new Error('credit mode needs at least one pipeline stage');
  const enter = m.wire('out_enter', stages.entered);
  const leave = out.mValid.and(shell.mReady);
  occupancy.next(mux(enter, mux(leave, occupancy, occupancy.add(1)), mux(leave, occupancy.sub(1), occupancy)).assume(0, capacity));
  shell.ceWire!.drive(occupancy.lt(capacity));
  return out;
}
