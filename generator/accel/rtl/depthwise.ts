/**
 * The depthwise engine (DWE): N channel lanes, a kmax x kmax window per lane behind kmax-1 line buffers.
 * It is the fixed part's line buffer + register window (generator/ffe/window.ts), rebuilt for geometry
 * known only at run time: the FFE's window has its image size, padding and stride folded in at generation
 * time, the accelerator's comes from the instruction.
 *
 * The controller streams the *padded* input of one channel block in raster order, (Hin+pt+pb) x
 * (Win+pl+pr) pixels, with the padding already in the data (0 after zero-point subtraction, or
 * dwMaxPad = one below every real operand for max pooling), in beats: one pixel a beat at stride x 1
 * (`in_data`), two at stride x >= 2 (`in_data` the even column, `in_data_odd` the next; a row of odd width
 * ends with a beat of one). A window at stride x >= 2 then advances one output per beat: two input
 * columns are at most one output column, and the engine, like the PPU behind it, emits one window a clock.
 * The engine counts rows and columns itself and emits the window whose bottom-right pixel is the even or
 * the odd pixel of the beat when that pixel is an output position: row >= kh-1 and column >= kw-1 on the
 * stride grid (down-counters `row_wait` / `col_wait`, no division).
 *
 * A kernel smaller than kmax uses the window's bottom-right kh x kw corner: in `mac` mode the other taps
 * hold weight 0 (the controller loads zeros there), in `max` mode they are masked out.
 *
 * Weights load (`w_clear`, `w_load`) into a second set of registers while the block before still streams;
 * a block's first pixel copies them into the working set, so blocks stream back to back.
 *
 * Line buffer i (0..kmax-2) holds row r-1-i, in two banks (even and odd columns, a word per column pair):
 * on a beat every bank is read at the beat's pair, and on the next clock buffer 0 takes the beat's pixels
 * and buffer i takes what buffer i-1 gave (the cascade). A read of the pair written in the same clock (a
 * padded row of one beat, or of two pixels at stride 1) is forwarded.
 *
 * Pipeline (DW_LATENCY = 3): read line buffers | window column + products | sum (or max, a balanced tree) per lane.
 */
import { type Expr, Module, interval, maxTree, mux, sum, u } from '../../hdl/index.js';
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
    description: `Depthwise engine: ${n} lanes, ${k}x${k} window, line buffers ${c.dwMaxWidth} pixels wide; one pixel a clock at stride x 1, two at stride x >= 2; modes mac (depthwise conv, average pool) and max (max pool).`,
  });
  m.addClock();
  const start = m.input('start', u(1));
  const inValid = m.input('in_valid', u(1));
  const inData = m.input('in_data', u(n * dwInputType(c).bits));
  const inDataOdd = m.input('in_data_odd', u(n * dwInputType(c).bits));
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
  const lanePixels = (data: Expr): Expr[] => unpackChannels(data, n, dwInputType(c)).map((x) => x.assume(PAD, TOP));
  const pixels = lanePixels(inData);
  const pixelsOdd = lanePixels(inDataOdd);
  const pair = m.wire('pair', sx.ge(2)); // two pixels a beat
  const beatCols = mux(pair, 2, 1);
  const waitMax = Math.max(k - 1, DW_MAX_STRIDE - 1);
  const col = m.reg('col', interval(0, c.dwMaxWidth - 1)); // the beat's (first) column
  const rowWait = m.reg('row_wait', interval(0, waitMax));
  const colWait = m.reg('col_wait', interval(0, waitMax)); // columns from the beat's first to the next output column
  const endOfRow = col.add(beatCols).ge(width);
  // A pixel arriving with `start` still belongs to the block that is ending: it is processed with the
  // old counters, and the counters restart for the next pixel (so blocks stream back to back).
  const step = inValid;
  col.next(mux(start, 0, mux(step, mux(endOfRow, 0, col.add(beatCols)), col)).assume(0, c.dwMaxWidth - 1));
  const nextColWait = mux(endOfRow, kw.sub(1), mux(colWait.ge(beatCols), colWait.sub(beatCols), colWait.add(sx).sub(beatCols)));
  const nextRowWait = mux(endOfRow, mux(rowWait.eq(0), sy.sub(1), rowWait.sub(1)), rowWait);
  colWait.next(mux(start, kw.sub(1), mux(step, nextColWait, colWait)).assume(0, waitMax));
  rowWait.next(mux(start, kh.sub(1), mux(step, nextRowWait, rowWait)).assume(0, waitMax));
  const outputRow = step.and(rowWait.eq(0));
  // At stride x >= 2 at most one of the beat's two columns is an output column; the odd one exists unless
  // the beat is the one-pixel end of an odd row.
  const emitOdd = outputRow.and(pair).and(colWait.eq(1)).and(col.ne(width.sub(1)));
  const emit = outputRow.and(colWait.eq(0)).or(emitOdd);
  // A block's first pixel moves the weights loaded for it into the working set.
  const fresh = m.reg('fresh', u(1));
  fresh.next(mux(start, 1, mux(step, 0, fresh)));
  const swap = m.wire('w_swap', step.and(fresh).and(start.not()));

  const validB = m.pipe('valid_b', step);
  const emitB = m.pipe('emit_b', emit);
  const oddB = m.pipe('odd_b', emitOdd); // the window ends at the beat's odd pixel
  const colB = m.pipe('col_b', col);
  const pixelB = pixels.map((p, lane) => m.reg(`pixel_b_l${lane}`, interval(PAD, TOP), { enable: step }).next(p));
  const pixelOddB = pixelsOdd.map((p, lane) => m.reg(`pixel_odd_b_l${lane}`, interval(PAD, TOP), { enable: step.and(pair) }).next(p));
  // Banks: 0 even columns, 1 odd; word = column / 2. At stride x 1 a pixel goes to its column's bank.
  const pairWord = col.shr(1);
  const pairWordB = colB.shr(1);
  const oddColB = colB.bit(0);
  const bankWrite = [validB.and(pair.or(oddColB.not())), validB.and(pair.or(oddColB))];
  // Forward when this beat reads the pair the beat before is writing (a padded row of one beat).
  const samePair = step.and(pairWord.eq(pairWordB));
  const forward = bankWrite.map((we, bank) => m.pipe(`forward_b${bank}`, samePair.and(we)));
  const pairDepth = Math.ceil(c.dwMaxWidth / 2);

  // Line buffers per lane: buffer i holds row r-1-i. Read in stage A, written (cascade) in stage B.
  // lineOut[i][lane] = [even, odd] column of row r-1-i at the beat in stage B, after forwarding.
  const lineOut: Expr[][][] = Array.from({ length: k - 1 }, () => []);
  for (let lane = 0; lane < n; lane++) {
    for (let i = 0; i < k - 1; i++) {
      const fromAbove = i === 0 ? [pixelB[lane]!, mux(pair, pixelOddB[lane]!, pixelB[lane]!)] : lineOut[i - 1]![lane]!;
      lineOut[i]![lane] = [0, 1].map((bank) => {
        const tag = `line_l${lane}_r${i}_${bank === 0 ? 'even' : 'odd'}`;
        const mem = m.memory(tag, { depth: pairDepth, type: interval(PAD, TOP) });
        const raw = mem.read(`${tag}_q`, { addr: pairWord, enable: step });
        const received = fromAbove[bank]!;
        // In the forwarding case the word this bank received one clock earlier replaces the stale read.
        const fwd = m.reg(`fwd_l${lane}_r${i}_b${bank}`, interval(PAD, TOP), { enable: step }).next(received);
        mem.setWrite({ addr: pairWordB, data: received, enable: bankWrite[bank]! });
        return mux(forward[bank]!, fwd, raw);
      });
    }
  }

  // ---- stage B: window (kmax rows x kmax-1 registered columns + the beat's columns), products ----
  const inKernel = (i: number, j: number): Expr => kh.ge(k - i).and(kw.ge(k - j)); // bottom-right kh x kw corner
  const weights = unpackChannels(wData, n, { bits: c.weightBits, signed: true }).map((x) => x.assume(wr.min, wr.max));
  const sums: Expr[] = [];
  const sumMode = mode.eq(DW_MODE.sum);
  const maxModeC = m.pipe('max_mode_c', mode.eq(DW_MODE.max));
  for (let lane = 0; lane < n; lane++) {
    // Window row i: the oldest row at the top, the beat's pixels at the bottom; registered columns, then
    // the beat's even (or only) column and its odd column.
    const beatColumns = Array.from({ length: k }, (_, i) => {
      if (i === k - 1) return [pixelB[lane]!, pixelOddB[lane]!];
      const [even, odd] = lineOut[k - 2 - i]![lane]!;
      // At stride x 1 the pixel is in its column's bank; a pair's first column is even.
      return [mux(oddColB, odd!, even!), odd!];
    });
    const window: Expr[][] = [];
    for (let i = 0; i < k; i++) {
      const regs = Array.from({ length: k - 1 }, (_, j) => m.reg(`win_l${lane}_r${i}_c${j}`, interval(PAD, TOP), { enable: validB }));
      const row = [...regs, ...beatColumns[i]!]; // k + 1 columns
      regs.forEach((reg, j) => reg.next(mux(pair, row[j + 2]!, row[j + 1]!)));
      window.push(Array.from({ length: k }, (_, j) => mux(oddB, row[j + 1]!, row[j]!)));
    }
    const taps: Expr[] = [];
    const candidates: Expr[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const pos = i * k + j;
        // Loaded into the next block's set, cleared with its first tap (so taps outside a smaller kernel
        // hold 0); the working set takes it at the block's first pixel.
        const loadHere = wLoad.and(wPos.eq(pos));
        const next = m.reg(`w_next_l${lane}_p${pos}`, interval(wr.min, wr.max), { enable: wClear.or(loadHere) }).next(mux(loadHere, weights[lane]!, 0));
        const w = m.reg(`w_l${lane}_p${pos}`, interval(wr.min, wr.max), { enable: swap }).next(next);
        const v = window[i]![j]!;
        // mac: v * w; sum (average pooling): v inside the kernel. The max-pool pad never reaches these.
        // Taps outside the kernel read 0, not whatever an unused line buffer holds (unknown in 4-state
        // simulators before its first write: X * 0 is X).
        const inside = mux(inKernel(i, j), v, 0);
        taps.push(m.pipe(`prod_l${lane}_p${pos}`, mux(sumMode, inside, inside.mul(w))));
        candidates.push(m.pipe(`cand_l${lane}_p${pos}`, mux(inKernel(i, j), v, PAD)));
      }
    }
    sums.push(m.pipe(`out_l${lane}`, mux(maxModeC, maxTree(candidates), sum(taps))));
  }
  const validC = m.pipe('valid_c', emitB);
  m.output('out_valid', m.pipe('valid_d', validC));
  m.output('out_sum', packChannels(sums, { bits: dwOutputBits(c), signed: true }));
  return m;
}
