/**
 * Line buffer and sliding window: the front of every windowed layer (conv, depthwise, pooling).
 *
 * Per beat (an accepted input pixel, or a phantom beat, below) the layer
 *  - reads the kh-1 previous rows at this column from kh-1 memories (inferred RAM, one word = all
 *    channels of a pixel) and cascades them one row down, so memory i holds row r-1-i;
 *  - on the next enabled clock shifts the column (those rows plus the new pixel) into a register window
 *    of kw-1 columns; the newest column is read straight from the stage register, so the window costs
 *    kh*(kw-1) pixel registers;
 *  - for a dilated window (taps d pixels apart) kh and kw above are the span (k - 1) * d + 1: the line
 *    buffer keeps every row of the span (the rows between taps must wait their turn somewhere), but only
 *    the tap rows i * dy get a register window, and only its columns j * dx are read;
 *  - knows from its position counters which output, if any, this window belongs to (geometry.ts) and
 *    which window rows/columns lie outside the image; those are replaced by the padding value.
 *
 * The frame tail: outputs whose windows reach below the last row are carried by the next frame's first
 * beats. If the input stays idle at a frame boundary for more than `idleBeforeFlush` clocks, the layer
 * makes "phantom" beats (padding data, no input consumed) until the tail is out, then restarts its
 * counters at the frame start; a real pixel arriving meanwhile waits (at most `tailBeats` clocks, once
 * per frame, and only when the input paused at the frame boundary). After the restart the new frame
 * reads only rows it wrote itself (the rows above it are masked as top padding), so what the phantoms
 * left in the memories never matters. Back-to-back frames never make phantoms: the stream sustains one
 * pixel per clock. A unit after one that shrinks the frame sees its input pause at every frame
 * boundary; a flush started on that pause would refuse the next frame's first pixels for the tail's
 * length and stall the whole design (it did: 72 clocks per 65-pixel frame instead of 65). So
 * `idleBeforeFlush` (timing.ts's flushPatience) is that pause's length at full rate, or 0 when the
 * whole tail fits in it (the flush is then free and brings the frame's last outputs out early), or 0
 * at the design's input, which makes no pause.
 */
import { type Expr, type Module, type Reg, type Wire, constant, mux } from '../hdl/index.js';
import type { WindowGeometry } from './geometry.js';
import { type PixelType, packChannels, unpackChannels } from './stream.js';

/** What a unit's builder passes through to its window front. */
export interface FrontOptions {
  /**
   * Clocks the input may stay idle at a frame boundary before the phantom flush starts (default 0: at
   * once); the top sets it with timing.ts's flushPatience (see the file comment).
   */
  readonly idleBeforeFlush?: number;
}

export interface WindowOptions extends FrontOptions {
  readonly prefix: string;
  readonly geometry: WindowGeometry;
  readonly channels: number;
  readonly type: PixelType;
  /** The value outside the image: the input zero point (conv, average pool) or the type minimum (max pool). */
  readonly padValue: number;
  readonly ce: Expr;
  readonly rst: Expr;
  readonly sValid: Expr;
  readonly sData: Expr;
}

export interface WindowFront {
  readonly sReady: Expr;
  /** Stage-1 signals: the window below belongs to an output (held while ce is 0). */
  readonly valid: Expr;
  readonly user: Expr;
  readonly last: Expr;
  /** Channel c of window tap row i, column j (column kw-1 is the newest), padding already applied. */
  value(c: number, i: number, j: number): Expr;
  /**
   * Stage-1 flags: window tap row i (column j) lies outside the image, for the rows and columns that can;
   * an average pool without the pads in its divisor counts the real pixels with them.
   */
  readonly padRows: ReadonlyMap<number, Expr>;
  readonly padCols: ReadonlyMap<number, Expr>;
}

const bit = { min: 0n, max: 1n };

/** Position counters over the H x W grid of output positions q = p - lag (see geometry.ts). */
class PositionCounters {
  readonly col: Expr;
  readonly qc: Expr;
  readonly qr: Expr;
  readonly qcPhase: Expr;
  readonly qrPhase: Expr;
  /** 1 on a beat (accepted pixel or phantom): the counters' enable; driven by the caller. */
  readonly beat: Wire;

  constructor(
    private readonly m: Module,
    private readonly prefix: string,
    private readonly g: WindowGeometry,
    private readonly rst: Expr,
  ) {
    const w = g.width;
    const q0 = { r: Math.floor(g.startQ / w), c: g.startQ % w };
    this.beat = m.wire(`${prefix}beat`, bit);
    this.col = this.make('col', w - 1, 0);
    this.qc = this.make('qc', w - 1, q0.c);
    this.qr = this.make('qr', g.height - 1, q0.r);
    this.qcPhase = this.make('qc_phase', g.stride[1] - 1, q0.c % g.stride[1]);
    this.qrPhase = this.make('qr_phase', g.stride[0] - 1, q0.r % g.stride[0]);
  }

  private make(name: string, max: number, init: number): Expr {
    if (max === 0) return constant(0);
    return this.m.reg(`${this.prefix}${name}`, { min: 0n, max: BigInt(max) }, { reset: this.rst, init, enable: this.beat });
  }

  /** 1 when the counters point at flat position q of the grid. */
  at(q: number): Expr {
    const w = this.g.width;
    return this.qr.eq(Math.floor(q / w)).and(this.qc.eq(q % w));
  }

  /** Set next values: step by one position, or go back to the frame start when `restart` is 1. */
  connect(restart: Expr): void {
    const g = this.g;
    const [sy, sx] = g.stride;
    const q0 = { r: Math.floor(g.startQ / g.width), c: g.startQ % g.width };
    const rowWraps = this.qc.eq(g.width - 1);
    const frameWraps = rowWraps.and(this.qr.eq(g.height - 1));
    const step = (v: Expr, max: number, wraps: Expr): Expr => mux(wraps, 0, v.add(1)).assume(0, max);
    const hold = (v: Expr, cond: Expr, next: Expr, max: number): Expr => mux(cond, next, v).assume(0, max);
    const nextOf = new Map<Expr, { value: Expr; start: number; max: number }>([
      [this.col, { value: step(this.col, g.width - 1, this.col.eq(g.width - 1)), start: 0, max: g.width - 1 }],
      [this.qc, { value: step(this.qc, g.width - 1, rowWraps), start: q0.c, max: g.width - 1 }],
      [this.qr, { value: hold(this.qr, rowWraps, step(this.qr, g.height - 1, frameWraps), g.height - 1), start: q0.r, max: g.height - 1 }],
      [this.qcPhase, { value: step(this.qcPhase, sx - 1, rowWraps.or(this.qcPhase.eq(sx - 1))), start: q0.c % sx, max: sx - 1 }],
      [this.qrPhase, { value: hold(this.qrPhase, rowWraps, step(this.qrPhase, sy - 1, frameWraps.or(this.qrPhase.eq(sy - 1))), sy - 1), start: q0.r % sy, max: sy - 1 }],
    ]);
    for (const [reg, n] of nextOf) {
      if (n.max === 0) continue;
      (reg as Reg).next(mux(restart, n.start, n.value).assume(0, n.max));
    }
  }
}

/** Maps this narrow keep their rows in registers (a RAM of 1-2 words would not pay, and W = 1 would read a word in the clock it is cascaded). */
const REGISTER_LINE_MAX = 2;

/** Line buffer in RAM: memory i holds row r-1-i; rows move down one memory on the clock after their read. */
function memoryLines(m: Module, o: WindowOptions, col: Expr, inWord: Expr, beat: Expr, s1Beat: Expr): Expr[] {
  const p = o.prefix;
  const [kh] = o.geometry.span;
  const reads: Expr[] = [];
  if (kh === 1) return reads;
  const col1 = m.reg(`${p}s1_col`, { min: 0n, max: BigInt(o.geometry.width - 1) }, { enable: beat }).next(col);
  for (let i = 0; i < kh - 1; i++) {
    const mem = m.memory(`${p}line${i}`, { depth: o.geometry.width, type: o.sData.range });
    reads.push(mem.read(`${p}line${i}_rd`, { addr: col, enable: beat }));
    if (i === 0) mem.setWrite({ addr: col, data: inWord, enable: beat });
    else mem.setWrite({ addr: col1, data: reads[i - 1]!, enable: s1Beat.and(o.ce) });
  }
  return reads;
}

/**
 * Line buffer in registers: one shift chain of (kh-1)*W pixels moving on every beat; the pixel W beats
 * back is the row above. Sampled on the beat, like the RAM's registered read.
 */
function registerLines(m: Module, o: WindowOptions, inWord: Expr, beat: Expr): Expr[] {
  const p = o.prefix;
  const [kh] = o.geometry.span;
  const w = o.geometry.width;
  const chain: Reg[] = [];
  for (let k = 0; k < (kh - 1) * w; k++) chain.push(m.reg(`${p}line_sr${k}`, o.sData.range, { enable: beat }));
  chain.forEach((r, k) => r.next(k === 0 ? inWord : chain[k - 1]!));
  return Array.from({ length: kh - 1 }, (_, i) => m.reg(`${p}line${i}_rd`, o.sData.range, { enable: beat }).next(chain[(i + 1) * w - 1]!));
}

export function buildWindowFront(m: Module, o: WindowOptions): WindowFront {
  const g = o.geometry;
  const p = o.prefix;
  const [kh, kw] = g.span;
  const [dy, dx] = g.dilation;
  const [sy, sx] = g.stride;
  const [pt, pl] = g.pads;
  const frame = g.height * g.width;
  const pos = new PositionCounters(m, p, g, o.rst);

  // Frame bookkeeping (geometry.ts): the tail, phantom beats, and outputs that belong to no frame.
  const atFrameEnd = pos.at((g.startQ + frame - 1) % frame);
  const atTailEnd = pos.at(g.lastOutputQ);
  const beat = pos.beat;
  let sReady: Expr = o.ce;
  let phantom: Expr = constant(0);
  let restart: Expr = constant(0);
  // Frames the lag spans: an output rides `framesBack` frames after its own (plus one in the region
  // before q wraps); 0 except on maps smaller than the window.
  const framesBack = Math.floor(g.lag / frame);
  const wrapOffset = g.lag % frame;
  if (g.tailBeats > 0) {
    const owed = m.reg(`${p}tail_owed`, bit, { reset: o.rst });
    const inPhantom = m.reg(`${p}in_phantom`, bit, { reset: o.rst });
    const count = m.reg(`${p}phantom_count`, { min: 0n, max: BigInt(g.tailBeats - 1) }, { reset: o.rst, enable: pos.beat });
    const waiting = owed.and(pos.at(g.startQ)).and(o.sValid.not());
    const patience = o.idleBeforeFlush ?? 0;
    let idleLong: Expr = constant(1);
    if (patience > 0) {
      const idle = m.reg(`${p}idle_count`, { min: 0n, max: BigInt(patience) }, { reset: o.rst });
      idle.next(mux(waiting.and(idle.lt(patience)), idle.add(1), mux(waiting, idle, 0)).assume(0, patience));
      idleLong = idle.eq(patience);
    }
    phantom = m.wire(`${p}phantom`, o.ce.and(inPhantom.or(waiting.and(idleLong))));
    sReady = o.ce.and(inPhantom.not());
    restart = phantom.and(count.eq(g.tailBeats - 1));
    count.next(mux(phantom.and(restart.not()), count.add(1), 0).assume(0, g.tailBeats - 1));
    // Within one frame of lag, the real beats that carry the tail also settle it; a longer lag always
    // leaves outputs pending, so only a flush settles them.
    const settledByBeat = framesBack === 0 ? beat.and(atTailEnd) : constant(0);
    owed.next(mux(restart, 0, mux(o.sValid.and(sReady).and(atFrameEnd), 1, mux(settledByBeat, 0, owed))));
    inPhantom.next(mux(restart, 0, mux(phantom, 1, inPhantom)));
  }
  beat.drive(o.sValid.and(sReady).or(phantom));
  pos.connect(restart);

  // An output is real when the frame it belongs to was streamed since the last (re)start: that frame is
  // framesBack frames back, one more in the region before q wraps (`prev`).
  let prev: Expr = constant(0);
  if (wrapOffset > 0) {
    const reg = m.reg(`${p}prev_frame`, bit, { reset: o.rst, init: 1 });
    reg.next(mux(restart.or(beat.and(atFrameEnd)), 1, mux(beat.and(pos.at(frame - 1)), 0, reg)));
    prev = reg;
  }
  let frameOk: Expr = constant(1);
  if (g.lag > 0) {
    const most = framesBack + 1;
    const frames = m.reg(`${p}frames_seen`, { min: 0n, max: BigInt(most) }, { reset: o.rst, enable: beat });
    frames.next(mux(restart, 0, mux(atFrameEnd.and(frames.lt(most)), frames.add(1), frames)).assume(0, most));
    frameOk = frames.ge(prev.add(framesBack));
  }
  const geometric = pos.qcPhase.eq(0).and(pos.qc.le((g.outWidth - 1) * sx)).and(pos.qrPhase.eq(0)).and(pos.qr.le((g.outHeight - 1) * sy));
  const outHere = geometric.and(frameOk);

  // Stage 1: the column read from the line buffer plus the new pixel, and the output's flags.
  const s1Beat = m.reg(`${p}s1_beat`, bit, { reset: o.rst, enable: o.ce }).next(beat);
  const s1Out = m.reg(`${p}s1_out`, bit, { reset: o.rst, enable: o.ce }).next(beat.and(outHere));
  const padWord = packChannels(Array.from({ length: o.channels }, () => constant(o.padValue)), o.type);
  const inWord = mux(phantom, padWord, o.sData);
  const x1 = m.reg(`${p}s1_pixel`, o.sData.range, { enable: beat }).next(inWord);
  const flag = (name: string, value: Expr): Expr => m.reg(`${p}s1_${name}`, bit, { reset: o.rst, enable: beat }).next(value);
  const rowPad = new Map(g.maskedRows.map((i) => [i, flag(`row${i}_pad`, pos.qr.lt(pt - i * dy).or(pos.qr.gt(g.height - 1 + pt - i * dy)))]));
  const colPad = new Map(g.maskedCols.map((j) => [j, flag(`col${j}_pad`, pos.qc.lt(pl - j * dx).or(pos.qc.gt(g.width - 1 + pl - j * dx)))]));
  const user = flag('user', pos.qr.eq(0).and(pos.qc.eq(0)));
  const last = flag('last', pos.qc.eq((g.outWidth - 1) * sx));

  const reads = g.width <= REGISTER_LINE_MAX ? registerLines(m, o, inWord, beat) : memoryLines(m, o, pos.col, inWord, beat, s1Beat);
  // Span row r (0 = oldest) of the newest column; the register window holds the tap rows r = i * dy only.
  const column = Array.from({ length: kh }, (_, r) => (r === kh - 1 ? x1 : reads[kh - 2 - r]!));
  const shift = s1Beat.and(o.ce);
  const regs: Expr[][] = Array.from({ length: g.kernel[0] }, (_, i) => {
    const c = column[i * dy]!;
    const row: Expr[] = [];
    for (let j = 0; j < kw - 1; j++) row.push(m.reg(`${p}win_r${i}_c${j}`, o.sData.range, { enable: shift }));
    row.forEach((r, j) => (r as Reg).next(j === kw - 2 ? c : row[j + 1]!));
    return row;
  });
  const words = new Map<string, Expr[]>();
  const valueOf = (c: number, i: number, j: number): Expr => {
    const key = `${i},${j}`;
    let channels = words.get(key);
    if (channels === undefined) {
      const raw = j * dx === kw - 1 ? column[i * dy]! : regs[i]![j * dx]!;
      const pads = [rowPad.get(i), colPad.get(j)].filter((e): e is Expr => e !== undefined);
      const masked = pads.length === 0 ? raw : mux(pads.reduce((a, b) => a.or(b)), padWord, raw);
      const word = pads.length === 0 ? raw : m.wire(`${p}w_r${i}_c${j}`, masked);
      channels = unpackChannels(word, o.channels, o.type);
      words.set(key, channels);
    }
    return channels[c]!;
  };
  return { sReady, valid: s1Out, user, last, value: valueOf, padRows: rowPad, padCols: colPad };
}
