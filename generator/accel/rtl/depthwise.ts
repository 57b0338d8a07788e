/**
 * The depthwise engine (DWE): N channel lanes, a kmax x kmax window per lane behind kmax-1 line buffers,
 * one input pixel per clock. It is the fixed part's line buffer + register window (generator/ffe/window.ts),
 * rebuilt for geometry known only at run time: the FFE's window has its image size, padding and stride
 * folded in at generation time, the accelerator's comes from the instruction.
 *
 * The controller streams the *padded* input of one channel block in raster order, (Hin+pt+pb) x
 * (Win+pl+pr) pixels, with the padding already in the data (0 after zero-point subtraction, or
 * dwMaxPad = one below every real operand for max pooling). The engine counts rows and columns itself and emits the window
 * whose bottom-right pixel is the current one when it is an output position: row >= kh-1 and column >=
 * kw-1 on the stride grid (down-counters `row_wait` / `col_wait`, no division).
 *
 * A kernel smaller than kmax uses the window's bottom-right kh x kw corner: in `mac` mode the other taps
 * hold weight 0 (the controller loads zeros there), in `max` mode they are masked out.
 *
 * Line buffer i (0..kmax-2) holds row r-1-i: on a pixel every buffer is read at its column, and on the
 * next clock buffer 0 takes the pixel and buffer i takes what buffer i-1 gave (the cascade). A padded
 * row of one pixel reads the column written in the same clock: that case is forwarded.
 *
 * Pipeline (DW_LATENCY = 3): read line buffers | window column + products | sum (or max) per lane.
 */
import { type Expr, Module, interval, mux, sum, u } from '../../hdl/index.js';
import { packChannels, unpackChannels } from '../../ffe/stream.js';
import { type RtlConfig, operandRange, weightRange } from './config.js';

export const DW_LATENCY = 3;
/** Largest stride the engine steps (a field of the instruction). */
export const DW_MAX_STRIDE = 15;
/** DWCONV modes (docs/isa.md): the engine's `mode` input. */
export const DW_MODE = { mac: 0, max: 1, sum: 2 } as const;

/** The padding value for max pooling: one below every operand val(x) - zp. */
export function dwMaxPad(c: RtlConfig): number {
  return operandRange(c).min - 1;
}

/** The lane value entering the engine: an operand, or the max-pool pad. */
export function dwInputType(c: RtlConfig): { bits: number; signed: true } {
  return { bits: (-dwMaxPad(c) - 1).toString(2).length + 1, signed: true };
}

export function dwOutputBits(c: RtlConfig): number {
  const w = weightRange(c);
  const maxAbs = BigInt(c.dwKernel * c.dwKernel) * BigInt(-dwMaxPad(c)) * BigInt(Math.max(w.max, 1));
  return maxAbs.toString(2).length + 1;
}

export function buildDepthwiseEngine(c: RtlConfig, name = 'accel_dw_engine'): Module {
  const n = c.rows;
  const k = c.dwKernel;
  const m = new Module(name, {
    description: `Depthwise engine: ${n} lanes, ${k}x${k} window, line buffers ${c.dwMaxWidth} pixels wide; modes mac (depthwise conv, average pool) and max (max pool).`,
  });
  m.addClock();
  const start = m.input('start', u(1));
  const inValid = m.input('in_valid', u(1));
  const inData = m.input('in_data', u(n * dwInputType(c).bits));
  const PAD = dwMaxPad(c);
  const TOP = operandRange(c).max;
  const width = m.input('width', interval(1, c.dwMaxWidth)); // padded row length
  const kh = m.input('kh', interval(1, k));
  const kw = m.input('kw', interval(1, k));
  const sy = m.input('sy', interval(1, DW_MAX_STRIDE));
  const sx = m.input('sx', interval(1, DW_MAX_STRIDE));
  const mode = m.input('mode', interval(0, 2));
  const wClear = m.input('w_clear', u(1));
  const wLoad = m.input('w_load', u(1));
  const wPos = m.input('w_pos', interval(0, k * k - 1));
  const wData = m.input('w_data', u(n * c.weightBits));

  // ---- stage A: position counters, line buffer reads ----
  const wr = weightRange(c);
  const pixels = unpackChannels(inData, n, dwInputType(c)).map((x) => x.assume(PAD, TOP));
  const col = m.reg('col', interval(0, c.dwMaxWidth - 1));
  const rowWait = m.reg('row_wait', interval(0, Math.max(k - 1, DW_MAX_STRIDE - 1)));
  const colWait = m.reg('col_wait', interval(0, Math.max(k - 1, DW_MAX_STRIDE - 1)));
  const endOfRow = col.eq(width.sub(1));
  // A pixel arriving with `start` still belongs to the block that is ending: it is processed with the
  // old counters, and the counters restart for the next pixel (so blocks stream back to back).
  const step = inValid;
  col.next(mux(start, 0, mux(step, mux(endOfRow, 0, col.add(1)), col)).assume(0, c.dwMaxWidth - 1));
  const nextColWait = mux(endOfRow, kw.sub(1), mux(colWait.eq(0), sx.sub(1), colWait.sub(1)));
  const nextRowWait = mux(endOfRow, mux(rowWait.eq(0), sy.sub(1), rowWait.sub(1)), rowWait);
  colWait.next(mux(start, kw.sub(1), mux(step, nextColWait, colWait)).assume(0, Math.max(k - 1, DW_MAX_STRIDE - 1)));
  rowWait.next(mux(start, kh.sub(1), mux(step, nextRowWait, rowWait)).assume(0, Math.max(k - 1, DW_MAX_STRIDE - 1)));
  const emit = step.and(rowWait.eq(0)).and(colWait.eq(0));

  const validB = m.pipe('valid_b', step);
  const emitB = m.pipe('emit_b', emit);
  const colB = m.pipe('col_b', col);
  const pixelB = pixels.map((p, lane) => m.reg(`pixel_b_l${lane}`, interval(PAD, TOP), { enable: step }).next(p));
  // Forward when the next pixel reads the column being written (a padded row one pixel wide).
  const forward = m.pipe('forward_b', step.and(validB).and(width.eq(1)));

  // Line buffers per lane: buffer i holds row r-1-i. Read in stage A, written (cascade) in stage B.
  const bufferOut: Expr[][] = Array.from({ length: k - 1 }, () => []); // [buffer][lane], after forwarding
  for (let lane = 0; lane < n; lane++) {
    for (let i = 0; i < k - 1; i++) {
      const mem = m.memory(`line_l${lane}_r${i}`, { depth: c.dwMaxWidth, type: interval(PAD, TOP) });
      const raw = mem.read(`line_l${lane}_r${i}_q`, { addr: col, enable: step });
      // In the forwarding case the word this buffer received one clock earlier replaces the stale read.
      const received = i === 0 ? pixelB[lane]! : bufferOut[i - 1]![lane]!;
      const fwd = m.reg(`fwd_l${lane}_r${i}`, interval(PAD, TOP), { enable: step }).next(received);
      const effective = mux(forward, fwd, raw);
      mem.setWrite({ addr: colB, data: received, enable: validB });
      bufferOut[i]![lane] = effective;
    }
  }

  // ---- stage B: window (kmax rows x kmax-1 registered columns + the current column), products ----
  const inKernel = (i: number, j: number): Expr => kh.ge(k - i).and(kw.ge(k - j)); // bottom-right kh x kw corner
  const weights = unpackChannels(wData, n, { bits: c.weightBits, signed: true }).map((x) => x.assume(wr.min, wr.max));
  const sums: Expr[] = [];
  const sumMode = mode.eq(DW_MODE.sum);
  const maxModeC = m.pipe('max_mode_c', mode.eq(DW_MODE.max));
  for (let lane = 0; lane < n; lane++) {
    // Column value of window row i: the oldest row at the top, the current pixel at the bottom.
    const column = Array.from({ length: k }, (_, i) => (i === k - 1 ? pixelB[lane]! : bufferOut[k - 2 - i]![lane]!));
    const window: Expr[][] = [];
    for (let i = 0; i < k; i++) {
      const row: Expr[] = [];
      const regs = Array.from({ length: k - 1 }, (_, j) => m.reg(`win_l${lane}_r${i}_c${j}`, interval(PAD, TOP), { enable: validB }));
      regs.forEach((reg, j) => reg.next(j + 1 < k - 1 ? regs[j + 1]! : column[i]!));
      for (let j = 0; j < k; j++) row.push(j === k - 1 ? column[i]! : regs[j]!);
      window.push(row);
    }
    const taps: Expr[] = [];
    const candidates: Expr[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const pos = i * k + j;
        // Cleared at a block's start (a tap loading in that clock keeps its weight), so taps outside a
        // smaller kernel hold 0.
        const loadHere = wLoad.and(wPos.eq(pos));
        const w = m.reg(`w_l${lane}_p${pos}`, interval(wr.min, wr.max), { enable: wClear.or(loadHere) }).next(mux(loadHere, weights[lane]!, 0));
        const v = window[i]![j]!;
        // mac: v * w; sum (average pooling): v inside the kernel. The max-pool pad never reaches these.
        // Taps outside the kernel read 0, not whatever an unused line buffer holds (unknown in 4-state
        // simulators before its first write: X * 0 is X).
        const inside = mux(inKernel(i, j), v, 0);
        taps.push(m.pipe(`prod_l${lane}_p${pos}`, mux(sumMode, inside, inside.mul(w))));
        candidates.push(m.pipe(`cand_l${lane}_p${pos}`, mux(inKernel(i, j), v, PAD)));
      }
    }
    const maxOf = candidates.reduce((best, x) => mux(x.gt(best), x, best));
    sums.push(m.pipe(`out_l${lane}`, mux(maxModeC, maxOf, sum(taps))));
  }
  const validC = m.pipe('valid_c', emitB);
  m.output('out_valid', m.pipe('valid_d', validC));
  m.output('out_sum', packChannels(sums, { bits: dwOutputBits(c), signed: true }));
  return m;
}
