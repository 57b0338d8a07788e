/**
 * The accelerator's stream ports (docs/accel-rtl.md "Streams"): the chip's pixel stream in (AXI4-Stream
 * slave in the stream contract's format, generator/contract/stream.ts) written into the program's input
 * region of MEM, and the results out (AXI4-Stream master: the final scores, one 32-bit word per beat, then
 * the class) read from the program's output region of MEM. Both are MEM clients beside the ST unit and the
 * host; their geometry comes from host-written registers (the RTL does not depend on the model, the
 * program's layout says where its input and output live), so one build serves every program.
 *
 * Frames: the input region is one buffer. A frame's last pixel holds it (s_tready low for the next frame's
 * first pixel) until the run that reads it ends; the scores leave before the next run starts (auto-start
 * waits for the output stream to drain).
 */
import { type Expr, type Memory, type Module, type Reg, constant, interval, mux, select, u } from '../../hdl/index.js';
import { packChannels, unpackChannels } from '../../ffe/stream.js';
import { elementBytes, rowBytes } from '../config.js';
import { STREAM_LIMITS } from '../run.js';
import { checkedAddress, loopCounter } from './build-helpers.js';
import type { RtlConfig } from './config.js';

/** Host address of stream register k: STREAM_REGS_BASE + 4*k (write only). */
export const STREAM_REGS_BASE = 0xc000_0000;

/** The stream registers, by index (docs/accel-rtl.md). */
export const STREAM_REG = {
  /** MEM byte address of the program's input region (layout.input.addr). */
  inAddr: 0,
  /** Pixels per row and rows per frame of the input stream. */
  inWidth: 1,
  inHeight: 2,
  /** ACT rows per pixel in the input region (layout.input.blocks, 1..streamBlocks). */
  inBlocks: 3,
  /** MEM byte address of the output region and the number of 32-bit words streamed from it. */
  outAddr: 4,
  outWords: 5,
  /** MEM byte address of the class word and whether a class beat follows the scores (1) or not (0). */
  classAddr: 6,
  outClass: 7,
  /** Instructions of the program to start on every complete frame; 0: the host starts runs. */
  autoLen: 8,
} as const;

/** Largest stream geometry a register holds (12-bit widths and heights, 16-bit word counts; run.ts refuses more). */
const MAX_SIDE = STREAM_LIMITS.side;
export const MAX_WORDS = STREAM_LIMITS.outWords;

export interface StreamPortsIo {
  readonly rst: Expr;
  readonly hostWe: Expr;
  readonly hostAddr: Expr;
  readonly hostWdata: Expr;
  /** MEM banks (memPortBytes / 4 RAMs of 32-bit words) and their word count. */
  readonly memBanks: readonly Memory[];
  readonly memWords: number;
  /** 1 in a clock where another client writes MEM (the ST unit or the host): the stream waits. */
  readonly memBusy: Expr;
  readonly running: Reg;
  readonly runStart: Expr;
  /** A run ends this clock (FINISH or a fault), and whether it ended with FINISH. */
  readonly runEnd: Expr;
  readonly runDone: Expr;
}

export interface StreamPorts {
  /** The stream's MEM write this clock: all banks at one port word. */
  readonly memWrite: { readonly enable: Expr; readonly addr: Expr; readonly data: Expr };
  /** Start the auto-start program this clock (a complete frame is in MEM, the machine is free). */
  readonly autoStart: Expr;
  readonly autoLen: Expr;
}

export function buildStreamPorts(m: Module, c: RtlConfig, io: StreamPortsIo): StreamPorts {
  const N = c.cols;
  const portBits = c.memPortBytes * 8;
  const portShift = Math.log2(c.memPortBytes);
  const rowBeats = rowBytes(c, 'act') / c.memPortBytes;

  // ---- registers written by the host at STREAM_REGS_BASE + 4*k ----
  const ctlWrite = io.hostWe.and(io.hostAddr.slice(31, 30).eq(3));
  const ctlIndex = io.hostAddr.slice(7, 2);
  const ctlReg = (name: keyof typeof STREAM_REG, max: number): Reg => {
    const value = max >= 2 ** 32 - 1 ? io.hostWdata : mux(io.hostWdata.gt(max), max, io.hostWdata).assume(0, max);
    return m.reg(`stream_${name}`, interval(0, max), { reset: io.rst, enable: ctlWrite.and(ctlIndex.eq(STREAM_REG[name])) }).next(value);
  };
  const inAddr = ctlReg('inAddr', 2 ** 32 - 1);
  const inWidth = ctlReg('inWidth', MAX_SIDE);
  const inHeight = ctlReg('inHeight', MAX_SIDE);
  const inBlocks = ctlReg('inBlocks', c.streamBlocks);
  const outAddr = ctlReg('outAddr', 2 ** 32 - 1);
  const outWords = ctlReg('outWords', MAX_WORDS);
  const classAddr = ctlReg('classAddr', 2 ** 32 - 1);
  const outClass = ctlReg('outClass', 1);
  const autoLen = ctlReg('autoLen', c.imemWords);
  const atLeastOne = (r: Expr): Expr => mux(r.eq(0), 1, r);

  // ==== pixel input: AXI4-Stream slave ===================================================================
  const beatBits = c.streamBlocks * N * c.actBits;
  const sValid = m.input('s_tvalid', u(1));
  const sData = m.input('s_tdata', u(beatBits));
  const sUser = m.input('s_tuser', u(1));
  const sLast = m.input('s_tlast', u(1));
  const sReady = m.wire('s_tready_w', u(1));
  const accept = m.wire('in_accept', sValid.and(sReady));
  // Position in the frame (restarts when the host writes a register: a new geometry).
  const restart = io.rst.or(ctlWrite);
  const col = loopCounter(m, 'in_col', atLeastOne(inWidth), accept, restart, io.rst);
  const row = loopCounter(m, 'in_row', atLeastOne(inHeight), accept.and(col.last), restart, io.rst);
  const framePixelLast = col.last.and(row.last);
  const frameError = m.reg('in_frame_error_flag', u(1), { reset: io.rst });
  frameError.next(frameError.or(accept.and(sUser.ne(col.value.eq(0).and(row.value.eq(0))).or(sLast.ne(col.last)))));

  // The pixel register: one accepted pixel, written as inBlocks rows of port beats, one beat per clock.
  const pixFull = m.reg('in_pix_full', u(1), { reset: io.rst });
  const pix = m.reg('in_pix', u(beatBits), { enable: accept }).next(sData);
  const write = m.wire('in_write', pixFull.and(io.memBusy.not()));
  const beat = loopCounter(m, 'in_beat', atLeastOne(inBlocks).mul(rowBeats), write, io.rst, io.rst);
  const pixDone = write.and(beat.last);
  pixFull.next(mux(accept, 1, mux(pixDone, 0, pixFull)));
  // The pixel as MEM bytes: every lane zero-extended to its element bytes (docs/isa.md §2), lane 0 first.
  const pixBytes = packChannels(unpackChannels(pix, c.streamBlocks * N, { bits: c.actBits, signed: false }), { bits: elementBytes(c, 'act') * 8, signed: false });
  const beatData = select(beat.value, Array.from({ length: c.streamBlocks * rowBeats }, (_, k) => pixBytes.slice(k * portBits + portBits - 1, k * portBits)));
  // The next MEM port word: from the region's start at a frame's first pixel, then consecutive.
  const inWord = m.reg('in_word', interval(0, 2 ** 32 - 1), { reset: io.rst });
  const firstPixel = m.reg('in_pix_first', u(1), { enable: accept }).next(col.value.eq(0).and(row.value.eq(0)));
  const frameBase = inAddr.shr(portShift);
  const wordNow = mux(firstPixel.and(beat.value.eq(0)), frameBase, inWord);
  inWord.next(mux(write, wordNow.add(1).truncate(32), inWord));
  const memAddr = checkedAddress(wordNow, io.memWords);

  // The input region is one buffer: a frame's last pixel holds it until the run that reads it ends.
  const held = m.reg('in_frame_held', u(1), { reset: io.rst });
  const consumed = m.reg('in_frame_consumed', u(1), { reset: io.rst });
  const lastAccepted = accept.and(framePixelLast);
  const release = io.runEnd.and(consumed);
  held.next(mux(lastAccepted, 1, mux(release, 0, held)));
  consumed.next(mux(io.runStart.and(held), 1, mux(release, 0, consumed)));
  sReady.drive(held.not().and(pixFull.not().or(pixDone)));
  const frameReady = held.and(consumed.not()).and(pixFull.not());

  // ==== results: AXI4-Stream master ======================================================================
  // After a run ends with FINISH: outWords words from outAddr, then (outClass) the class word.
  const outActive = m.reg('out_active', u(1), { reset: io.rst });
  const outBeats = outWords.add(outClass);
  const trigger = io.runDone.and(outBeats.ne(0));
  const outIdx = m.reg('out_index', interval(0, MAX_WORDS), { reset: io.rst });
  const isClass = outIdx.ge(outWords);
  const byteAddr = mux(isClass, classAddr, outAddr.add(outIdx.mul(4))).truncate(32);
  const readWord = checkedAddress(byteAddr.shr(portShift), io.memWords);
  const bank = io.memBanks.length === 1 ? constant(0) : byteAddr.slice(portShift - 1, 2);
  // `fresh`: the read port holds the word of outIdx (read in the previous clock, at the same address). The
  // port reads once per beat, in the clock after the index moved; a beat waiting for m_tready keeps its word.
  const fresh = m.reg('out_fresh', u(1), { reset: io.rst });
  const outRead = m.wire('out_read', outActive.and(fresh.not()));
  const q = io.memBanks.map((b, k) => b.read(`mem_b${k}_out_q`, { addr: readWord.addr, enable: outRead }));
  const bankD = m.reg('out_bank_d', bank.range).next(bank);
  const mReady = m.input('m_tready', u(1));
  const mValid = outActive.and(fresh);
  const advance = mValid.and(mReady);
  const lastBeat = outIdx.eq(outBeats.sub(1));
  outActive.next(mux(trigger, 1, mux(advance.and(lastBeat), 0, outActive)));
  outIdx.next(mux(trigger, 0, mux(advance, outIdx.add(1), outIdx)).assume(0, MAX_WORDS));
  fresh.next(outActive.and(advance.not()).and(trigger.not()));

  m.output('s_tready', sReady);
  m.output('m_tvalid', mValid);
  m.output('m_tdata', select(bankD, q));
  m.output('m_tuser', outIdx.eq(0));
  m.output('m_tlast', lastBeat);
  m.output('frame_error', frameError);
  m.output('in_frame_ready', frameReady);

  const autoStart = frameReady.and(autoLen.ne(0)).and(io.running.not()).and(outActive.not()).and(trigger.not());
  return { memWrite: { enable: write.and(memAddr.ok), addr: memAddr.addr, data: beatData }, autoStart, autoLen };
}
