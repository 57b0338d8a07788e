/**
 * The accelerator's top module: fetch and dispatch, the three instruction queues and their dependency
 * tokens, the load (LD), compute (EX) and store (ST) units, the scratchpads (ACT, WGT, QP, ACC), the
 * program memory and MEM with the host port. docs/isa.md is the contract; docs/accel-rtl.md describes
 * the microarchitecture and the cycles every instruction takes.
 *
 * Signal names start with their section: fetch_, q<unit>_, tok_, ld_, ex_ (gemm_, dw_, add_, gap_,
 * amax_ for the compute unit's instructions), ppu_, st_, host_, status_.
 */
import { type Expr, Module, type Reg, type Wire, concat, constant, interval, mux, select, u } from '../../hdl/index.js';
import { packChannels, unpackChannels } from '../../ffe/stream.js';
import { elementBytes, rowBytes } from '../config.js';
import { type OpName, WORD_BITS } from '../isa.js';
import { checkedAddress, loopCounter, max } from './build-helpers.js';
import { buildControlPort } from './axi-lite-regs.js';
import { AXI_ADDR_BITS, axiMasterPorts, burstSequencer, fullStrobe, outputConstantFields } from './axi-master.js';
import { DEFAULT_AXI, type RtlConfig, MAX_SHIFT, elementRange, operandRange } from './config.js';
import { QUEUE_CODE, decodeWord } from './decoder.js';
import { buildStreamPorts } from './stream-ports.js';
import { DW_LATENCY, DW_MODE, buildDepthwiseEngine, dwInputType, dwMaxPad, dwOutputBits } from './depthwise.js';
import { MAC_ARRAY_LATENCY, buildMacArray, columnSumType, operandType, weightType } from './mac-array.js';
import { OUT_RANGE, PPU_LATENCY, requantizeLane } from './ppu.js';

/** Fault causes (status_error_cause); docs/accel-rtl.md lists them. */
export const FAULT = {
  none: 0,
  illegalWord: 1,
  pastEnd: 2,
  address: 3,
  alignment: 4,
  geometry: 5,
  emptyWindow: 6,
  watchdog: 7,
} as const;

/** Cycles without progress before the watchdog stops a deadlocked program (docs/isa.md: 2^20). */
export const WATCHDOG_CYCLES = 2 ** 20;

export { PROGRAM_BASE } from './config.js';

const MEMS = ['act', 'wgt', 'qp', 'acc'] as const;

export function generateAccelerator(c: RtlConfig, name = 'fixynn_accel'): Module {
  const N = c.cols;
  const m = new Module(name, {
    description:
      `fixynn programmable accelerator: ${N}x${N} weight-stationary MAC array, ${N}-lane depthwise engine (${c.dwKernel}x${c.dwKernel}), ` +
      `post-processing unit; ACT ${c.actRows}, WGT ${c.wgtRows}, QP ${c.qpRows}, ACC ${c.accRows} rows of ${N} lanes; MEM ${c.memBytes} bytes, ` +
      `${c.memPortBytes} bytes per beat; program ${c.imemWords} instructions. Contract: docs/isa.md; microarchitecture: docs/accel-rtl.md.`,
  });
  m.addClock();
  const rst = m.input('rst', u(1));

  // ==== host port and status ==========================================================================
  // memory 'onchip': the simple host port of issue 11; 'axi': the AXI4-Lite register block
  // (axi-lite-regs.ts), whose program window drives the same program RAM write port.
  const axi = c.memory === 'axi';
  const ctl = axi ? buildControlPort(m, c, rst) : undefined;
  const hostWe = ctl?.hostWe ?? m.input('host_we', u(1));
  const hostAddr = ctl?.hostAddr ?? m.input('host_addr', u(32));
  const hostWdata = ctl?.hostWdata ?? m.input('host_wdata', u(32));
  const start = ctl?.start ?? m.input('start', u(1));
  const progLen = ctl?.progLen ?? m.input('prog_len', interval(0, c.imemWords));
  // A run starts on the host's pulse or (on-chip MEM only) on a complete streamed frame (auto-start, the
  // stream section).
  const runStart = m.wire('run_start', u(1));
  const autoStart = axi ? undefined : m.wire('run_auto_start', u(1));
  const autoLen = axi ? undefined : m.wire('run_auto_len', interval(0, c.imemWords));
  const runLen = m.reg('run_len', interval(0, c.imemWords), { reset: rst });
  runLen.next(mux(runStart, autoStart === undefined || autoLen === undefined ? progLen : mux(autoStart, autoLen, progLen), runLen));
  const running = m.reg('status_running', u(1), { reset: rst });
  const done = m.reg('status_done', u(1), { reset: rst });
  const error = m.reg('status_error', u(1), { reset: rst });
  const errorPc = m.reg('status_error_pc', interval(0, c.imemWords), { reset: rst });
  const errorCause = m.reg('status_error_cause', interval(0, 7), { reset: rst });
  const cycles = m.reg('status_cycles', u(32), { reset: rst });
  cycles.next(mux(runStart, 0, mux(running, cycles.add(1).truncate(32), cycles)));
  const clear = rst.or(runStart); // a run starts from empty queues and zero tokens

  // ==== program memory (4 banks of 32 bits per 128-bit instruction) ===================================
  const imemWordAddr = hostAddr.slice(30, 4);
  const hostProgram = hostAddr.bit(31).and(hostAddr.bit(30).not());
  const fetchPc = m.reg('fetch_pc', interval(0, c.imemWords), { reset: clear });
  const fetchAdvance = m.wire('fetch_advance', u(1));
  const fetchAddr = checkedAddress(mux(fetchAdvance, fetchPc.add(1), fetchPc), c.imemWords);
  // The banks read only when a new instruction is taken (a run's first, or the next after a dispatch): while
  // dispatch waits, the word of fetch_pc stays in the read registers.
  const fetchRead = m.wire('fetch_read', runStart.or(fetchAdvance));
  const imemBanks = [0, 1, 2, 3].map((k) => {
    const bank = m.memory(`imem_b${k}`, { depth: c.imemWords, type: u(32) });
    const wa = checkedAddress(imemWordAddr, c.imemWords);
    bank.setWrite({ addr: wa.addr, data: hostWdata, enable: hostWe.and(hostProgram).and(hostAddr.slice(3, 2).eq(k)).and(wa.ok) });
    return bank.read(`imem_b${k}_q`, { addr: mux(runStart, 0, fetchAddr.addr).assume(0, c.imemWords - 1), enable: fetchRead });
  });
  const fetchWord = m.wire('fetch_word', concat(imemBanks[3]!, imemBanks[2]!, imemBanks[1]!, imemBanks[0]!));

  // ==== fetch and dispatch =============================================================================
  const fetching = m.reg('fetch_active', u(1), { reset: rst });
  const dec = decodeWord(fetchWord);
  const queueNames = ['ld', 'ex', 'st'] as const;
  const qFull: Expr[] = [];
  const pushQ: Expr[] = [];
  const fetchValid = fetching.and(running).and(fetchPc.lt(runLen));
  const fetchPastEnd = fetching.and(running).and(fetchPc.ge(runLen));
  const fetchIllegal = fetchValid.and(dec.legal.not());
  // The queues' fill levels are known below; dispatch waits while the target is full.
  const fullWires = queueNames.map((q) => m.wire(`q${q}_full`, u(1)));
  const targetFull = select(dec.queue, fullWires);
  fetchAdvance.drive(fetchValid.and(dec.legal).and(targetFull.not()));
  queueNames.forEach((q, i) => {
    qFull.push(fullWires[i]!);
    pushQ.push(fetchAdvance.and(dec.queue.eq(QUEUE_CODE[q])));
  });
  fetchPc.next(mux(fetchAdvance, fetchPc.add(1), fetchPc).assume(0, c.imemWords));
  fetching.next(mux(runStart, 1, mux(fetchAdvance.and(dec.is.finish), 0, fetching)));

  // ==== instruction queues (circular buffers of words and their pcs) ==================================
  const depth = c.queueDepth;
  interface Queue {
    readonly valid: Expr;
    readonly word: Expr;
    readonly pc: Expr;
    pop: (e: Expr) => void;
  }
  const queues: Queue[] = queueNames.map((q, qi) => {
    const head = m.reg(`q${q}_head`, interval(0, depth - 1), { reset: clear });
    const tail = m.reg(`q${q}_tail`, interval(0, depth - 1), { reset: clear });
    const count = m.reg(`q${q}_count`, interval(0, depth), { reset: clear });
    const push = pushQ[qi]!;
    const words = Array.from({ length: depth }, (_, e) => m.reg(`q${q}_word${e}`, u(WORD_BITS), { enable: push.and(tail.eq(e)) }).next(fetchWord));
    const pcs = Array.from({ length: depth }, (_, e) => m.reg(`q${q}_pc${e}`, interval(0, c.imemWords), { enable: push.and(tail.eq(e)) }).next(fetchPc));
    const popWire = m.wire(`q${q}_pop`, u(1));
    const wrap = (p: Expr): Expr => mux(p.eq(depth - 1), 0, p.add(1)).assume(0, depth - 1);
    head.next(mux(popWire, wrap(head), head));
    tail.next(mux(push, wrap(tail), tail));
    count.next(count.add(push).sub(popWire).assume(0, depth));
    fullWires[qi]!.drive(count.eq(depth));
    return {
      valid: m.wire(`q${q}_valid`, count.ne(0)),
      word: m.wire(`q${q}_head_word`, select(head, words)),
      pc: m.wire(`q${q}_head_pc`, select(head, pcs)),
      pop: (e: Expr) => popWire.drive(e),
    };
  });
  const [qLd, qEx, qSt] = queues as [Queue, Queue, Queue];

  // ==== dependency tokens ===============================================================================
  // l2e: LD -> EX, e2l: EX -> LD, e2s: EX -> ST, s2e: ST -> EX. Popped at an instruction's start,
  // pushed at the end of its last cycle (visible on the next).
  const TOKENS = 65535;
  const tokenNames = ['l2e', 'e2l', 'e2s', 's2e'] as const;
  const tokenRegs = Object.fromEntries(tokenNames.map((t) => [t, m.reg(`tok_${t}`, interval(0, TOKENS), { reset: clear })])) as Record<(typeof tokenNames)[number], Reg>;
  const tokenPush = Object.fromEntries(tokenNames.map((t) => [t, m.wire(`tok_${t}_push`, u(1))])) as Record<string, Wire>;
  const tokenPop = Object.fromEntries(tokenNames.map((t) => [t, m.wire(`tok_${t}_pop`, u(1))])) as Record<string, Wire>;
  for (const t of tokenNames) tokenRegs[t].next(tokenRegs[t].add(tokenPush[t]!).sub(tokenPop[t]!).assume(0, TOKENS));

  /**
   * The issue logic every unit shares: the head instruction starts when the unit is free and every
   * counter it pops is nonzero; `prev`/`next` name the unit's neighbours' counters.
   */
  const unitIssue = (unit: string, q: Queue, free: Expr, popPrevTok: string | undefined, popNextTok: string | undefined) => {
    const d = decodeWord(q.word);
    const prevOk = popPrevTok === undefined ? constant(1) : d.popPrev.not().or(tokenRegs[popPrevTok as 'l2e'].ne(0));
    const nextOk = popNextTok === undefined ? constant(1) : d.popNext.not().or(tokenRegs[popNextTok as 'l2e'].ne(0));
    const startNow = m.wire(`${unit}_start`, q.valid.and(free).and(prevOk).and(nextOk).and(running).and(error.not()));
    q.pop(startNow);
    return { d, startNow };
  };

  // ==== scratchpads =====================================================================================
  const actBitsRow = N * c.actBits;
  const act = m.memory('act', { depth: c.actRows, type: u(actBitsRow) });
  const wgt = m.memory('wgt', { depth: c.wgtRows, type: u(N * c.weightBits) });
  const qp = m.memory('qp', { depth: c.qpRows, type: u(N * 32) });
  const acc = m.memory('acc', { depth: c.accRows, type: u(N * c.accBits) });

  // ==== MEM (banks of 32 bits; a beat is memPortBytes) or the AXI4 master's ports =========================
  const K = c.memPortBytes / 4;
  const memWords = c.memBytes / c.memPortBytes;
  const beatBits = c.memPortBytes * 8;
  const memBanks = axi ? [] : Array.from({ length: K }, (_, k) => m.memory(`mem_b${k}`, { depth: memWords, type: u(32) }));
  const bus = axi ? axiMasterPorts(m, beatBits) : undefined;
  const axiLimits = c.axi ?? DEFAULT_AXI;

  // ==== LD unit ===========================================================================================
  const ldBusy = m.reg('ld_busy', u(1), { reset: clear });
  const ld = unitIssue('ld', qLd, ldBusy.not(), undefined, 'e2l');
  const ldWord = m.reg('ld_word', u(WORD_BITS), { enable: ld.startNow }).next(qLd.word);
  const ldPc = m.reg('ld_pc', interval(0, c.imemWords), { enable: ld.startNow }).next(qLd.pc);
  const ldD = decodeWord(ldWord);
  const ldIsLoad = m.reg('ld_is_load', u(1), { enable: ld.startNow }).next(ld.d.is.load);
  const ldF = (f: string): Expr => ldD.field('load', f);
  const beatsOf = (mem: Expr): Expr => select(mem, MEMS.map((x) => rowBytes(c, x) / c.memPortBytes));
  const ldBeats = beatsOf(ldF('mem'));
  // Counters restart in the start clock; the first beat is read in the next, when the fields are latched.
  const ldBegin = ld.startNow.and(ld.d.is.load);
  const ldFirst = m.reg('ld_first', u(1), { reset: clear }).next(ldBegin);
  // Stalled while EX writes the same scratchpad this clock (EX has the write port's priority).
  const ldStall = m.wire('ld_stall', u(1));
  const ldFault = m.wire('ld_fault', u(1));
  const ldIssuing = m.reg('ld_issuing', u(1), { reset: clear });
  // With AXI, a beat moves when its read data is there (RREADY = issuing and not stalled).
  const ldGo = m.wire('ld_go', bus === undefined ? ldIssuing.and(ldStall.not()) : ldIssuing.and(ldStall.not()).and(bus.rvalid));
  const ldBeat = loopCounter(m, 'ld_beat', ldBeats, ldGo, ldBegin, clear);
  const ldX = loopCounter(m, 'ld_x', ldF('xSize'), ldGo.and(ldBeat.last), ldBegin, clear);
  const ldY = loopCounter(m, 'ld_y', ldF('ySize'), ldGo.and(ldBeat.last).and(ldX.last), ldBegin, clear);
  const ldLastBeat = ldBeat.last.and(ldX.last).and(ldY.last);
  const portShift = Math.log2(c.memPortBytes);
  const ldMemWord = ldF('memAddr').shr(portShift).add(ldY.value.mul(ldF('memStride').shr(portShift))).add(ldX.value.mul(ldBeats)).add(ldBeat.value);
  const ldMemAddr = checkedAddress(ldMemWord, memWords);
  const ldRow = ldF('sramAddr').add(ldY.value.mul(ldF('sramStride'))).add(ldX.value);
  ldIssuing.next(mux(ldBegin, 1, mux(ldGo.and(ldLastBeat).or(ldFault), 0, ldIssuing)));
  // Data stage (one clock after the read): beats collect into the row buffer; the last beat writes the row.
  const ldDataValid = m.reg('ld_data_valid', u(1), { reset: clear, enable: ldStall.not() }).next(ldGo);
  const ldDataBeat = m.reg('ld_data_beat', ldBeat.value.range, { enable: ldStall.not() }).next(ldBeat.value);
  const ldDataLastOfRow = m.reg('ld_data_row_end', u(1), { enable: ldStall.not() }).next(ldBeat.last);
  const ldDataLast = m.reg('ld_data_last', u(1), { reset: clear, enable: ldStall.not() }).next(ldGo.and(ldLastBeat));
  const ldDataRow = m.reg('ld_data_row', ldRow.range, { enable: ldStall.not() }).next(ldRow);
  // MEM is read only for a beat the LD unit takes (a stalled clock keeps the beat in the read registers).
  const ldBeatData = bus === undefined
    ? concat(...memBanks.map((b, k) => b.read(`mem_b${k}_ld_q`, { addr: ldMemAddr.addr, enable: ldGo })).reverse())
    : m.reg('ld_rdata', u(beatBits), { enable: ldStall.not() }).next(bus.rdata);
  const maxBeats = Math.max(...MEMS.map((x) => rowBytes(c, x) / c.memPortBytes));
  const ldSlots = Array.from({ length: maxBeats }, (_, k) =>
    m.reg(`ld_slot${k}`, u(c.memPortBytes * 8), { enable: ldDataValid.and(ldDataBeat.eq(k)).and(ldStall.not()) }).next(ldBeatData),
  );
  const ldRowBytes = concat(...Array.from({ length: maxBeats }, (_, k) => mux(ldDataBeat.eq(k), ldBeatData, ldSlots[k]!)).reverse());
  const ldWriteRow = ldDataValid.and(ldDataLastOfRow);
  /** A MEM row image (little-endian elements of elementBytes) as a scratchpad row of N lanes of `bits`. */
  const rowFromBytes = (bytes: Expr, mem: (typeof MEMS)[number], bits: number): Expr => {
    const eb = elementBytes(c, mem);
    const elems = Array.from({ length: N }, (_, l) => bytes.slice(l * eb * 8 + bits - 1, l * eb * 8));
    return concat(...elems.reverse());
  };
  const ldMemSel = ldF('mem');
  const ldToAct = ldWriteRow.and(ldMemSel.eq(0));
  const ldToWgt = ldWriteRow.and(ldMemSel.eq(1));
  const ldToQp = ldWriteRow.and(ldMemSel.eq(2));
  const ldToAcc = ldWriteRow.and(ldMemSel.eq(3));
  const ldRowAddr = (depth: number): { ok: Expr; addr: Expr } => checkedAddress(ldDataRow, depth);
  // Faults of a LOAD, checked in its first clock: MEM alignment and extent, scratchpad extent.
  const ldLastMemByte = ldF('memAddr').add(ldF('ySize').sub(1).mul(ldF('memStride'))).add(ldF('xSize').mul(ldBeats.mul(c.memPortBytes)));
  const ldDepth = select(ldMemSel, MEMS.map((x) => (x === 'act' ? c.actRows : x === 'wgt' ? c.wgtRows : x === 'qp' ? c.qpRows : c.accRows)));
  const ldLastRow = ldF('sramAddr').add(ldF('ySize').sub(1).mul(ldF('sramStride'))).add(ldF('xSize'));
  const ldMisaligned = ldF('memAddr').slice(portShift - 1, 0).ne(0).or(ldF('memStride').slice(portShift - 1, 0).ne(0));
  const ldEmpty = ldF('xSize').eq(0).or(ldF('ySize').eq(0));
  const ldOutside = ldLastMemByte.gt(c.memBytes).or(ldLastRow.gt(ldDepth));
  const ldCheckFault = ldFirst.and(ldMisaligned.or(ldOutside).or(ldEmpty));
  if (bus === undefined) ldFault.drive(ldCheckFault);
  else {
    // The block's bursts: lines of xSize rows (contiguous in MEM) at MEM_BASE + memAddr + y * memStride,
    // requested from the clock after the checks passed; RREADY while the beats are wanted.
    const rready = ldIssuing.and(ldStall.not());
    const rfire = bus.rvalid.and(rready);
    const seq = burstSequencer(m, 'ld_ar_bursts', c, {
      reset: clear,
      start: ldCheckFault.not().and(ldFirst),
      base: ctl!.memBase.add(ldF('memAddr')).truncate(AXI_ADDR_BITS),
      stride: ldF('memStride'),
      lines: ldF('ySize'),
      lineBeats: ldF('xSize').mul(ldBeats),
      ready: bus.arready,
      retire: rfire.and(bus.rlast),
    });
    m.output('m_axi_arvalid', seq.valid);
    m.output('m_axi_araddr', seq.addr);
    m.output('m_axi_arlen', seq.len);
    outputConstantFields(m, 'ar', c.memPortBytes);
    m.output('m_axi_rready', rready);
    // A SLVERR/DECERR read response stops the machine like an address fault, at the LOAD's pc.
    ldFault.drive(ldCheckFault.or(rfire.and(bus.rresp.ne(0))));
  }
  const ldFaultCause = mux(ldMisaligned, FAULT.alignment, mux(ldEmpty, FAULT.geometry, FAULT.address));
  // Completion: a LOAD with its last row written; a NOP completes in its start clock.
  const ldDone = m.wire('ld_done', ldDataLast.and(ldStall.not()));
  const ldInstant = ld.startNow.and(ld.d.is.load.not());
  ldBusy.next(mux(ld.startNow.and(ld.d.is.load), 1, mux(ldDone.or(ldFault), 0, ldBusy)));
  const ldPushNext = mux(ldInstant, ld.d.pushNext, ldDone.and(ldD.pushNext));

  // ==== EX unit: issue, SETG / SETQ registers ==============================================================
  const exBusy = m.reg('ex_busy', u(1), { reset: clear });
  const ex = unitIssue('ex', qEx, exBusy.not(), 'l2e', 's2e');
  const exWord = m.reg('ex_word', u(WORD_BITS), { enable: ex.startNow }).next(qEx.word);
  const exPc = m.reg('ex_pc', interval(0, c.imemWords), { enable: ex.startNow }).next(qEx.pc);
  const exD = decodeWord(exWord);
  const longOps: OpName[] = ['gemm', 'dwconv', 'add', 'gap', 'argmax'];
  const exIsLong = longOps.map((o) => ex.d.is[o]).reduce((a, b) => a.or(b));
  const exFirst = m.reg('ex_first', u(1), { reset: clear }).next(ex.startNow.and(exIsLong));
  // Sequencers restart in the start clock (from the queue head) and run from the next (latched fields);
  // fault checks of the latched fields happen in that next clock (ex_first).
  const begin = (op: OpName): Expr => ex.startNow.and(ex.d.is[op]);
  const headField = (op: OpName, f: string): Expr => ex.d.field(op, f);
  const exOp = Object.fromEntries(longOps.map((o) => [o, m.reg(`ex_is_${o}`, u(1), { enable: ex.startNow, reset: clear }).next(ex.d.is[o])])) as Record<string, Expr>;
  const setg = ex.startNow.and(ex.d.is.setg);
  const setq = ex.startNow.and(ex.d.is.setq);
  const gReg = (f: string): Expr => {
    const v = ex.d.field('setg', f);
    return m.reg(`g_${f}`, v.range, { enable: setg, reset: rst }).next(v);
  };
  const G = Object.fromEntries(['inH', 'inW', 'outW', 'kh', 'kw', 'strideY', 'strideX', 'padTop', 'padLeft', 'cbIn', 'cbOut'].map((f) => [f, gReg(f)])) as Record<string, Expr>;
  const el = elementRange(c);
  const qReg = (f: string, lo: number, hi: number): Expr => {
    // Zero points and bounds are held in their element range (a wider SETQ value is outside every type).
    const v = ex.d.field('setq', f);
    return m.reg(`q_${f}`, interval(lo, hi), { enable: setq, reset: rst }).next(v.clamp(lo, hi));
  };
  const Q = {
    zpA: qReg('zpA', el.min, el.max),
    zpB: qReg('zpB', el.min, el.max),
    zo: qReg('zo', OUT_RANGE.min, OUT_RANGE.max),
    lo: qReg('lo', OUT_RANGE.min, OUT_RANGE.max),
    hi: qReg('hi', OUT_RANGE.min, OUT_RANGE.max),
    aSigned: m.reg('q_aSigned', u(1), { enable: setq, reset: rst }).next(ex.d.field('setq', 'aSigned')),
    bSigned: m.reg('q_bSigned', u(1), { enable: setq, reset: rst }).next(ex.d.field('setq', 'bSigned')),
  };
  const setqOutside = (['zpA', 'zpB', 'zo', 'lo', 'hi'] as const).map((f) => {
    const v = ex.d.field('setq', f);
    const [lo, hi] = f === 'zpA' || f === 'zpB' ? [el.min, el.max] : [OUT_RANGE.min, OUT_RANGE.max];
    return v.lt(lo).or(v.gt(hi));
  }).reduce((a, b) => a.or(b));
  const setqFault = setq.and(setqOutside);

  /** An ACT element read as signed or unsigned, minus a zero point: the operand of every datapath. */
  const operand = (row: Expr, l: number, signed: Expr, zp: Expr): Expr => {
    const bits = row.slice(l * c.actBits + c.actBits - 1, l * c.actBits);
    const value = mux(signed, bits.resize(c.actBits, { wrap: true, signed: true }), bits);
    return value.sub(zp);
  };

  // ---- shared EX read ports ----
  // Each reads only in a clock whose row the next clock uses (`*_read`, driven with the addresses below);
  // between reads a port holds its row. A QP record (and ARGMAX's ACC score row) is read once and held
  // while the instruction (DWCONV, GAP: the block; ARGMAX: the row) uses it.
  const exActAddrA = m.wire('ex_act_addr_a', interval(0, c.actRows - 1));
  const exActAddrB = m.wire('ex_act_addr_b', interval(0, c.actRows - 1));
  const exWgtAddr = m.wire('ex_wgt_addr', interval(0, c.wgtRows - 1));
  const exQpAddr = [0, 1, 2].map((k) => m.wire(`ex_qp_addr${k}`, interval(0, c.qpRows - 1)));
  const exAccAddr = m.wire('ex_acc_addr', interval(0, c.accRows - 1));
  const exActReadA = m.wire('ex_act_read_a', u(1));
  const exActReadB = m.wire('ex_act_read_b', u(1));
  const exWgtRead = m.wire('ex_wgt_read', u(1));
  const exQpRead = m.wire('ex_qp_read', u(1));
  const exAccRead = m.wire('ex_acc_read', u(1));
  const actA = act.read('act_ex_a_q', { addr: exActAddrA, enable: exActReadA });
  const actB = act.read('act_ex_b_q', { addr: exActAddrB, enable: exActReadB });
  const wgtQ = wgt.read('wgt_ex_q', { addr: exWgtAddr, enable: exWgtRead });
  const qpQ = exQpAddr.map((a, k) => qp.read(`qp_ex_q${k}`, { addr: a, enable: exQpRead }));
  const accQ = acc.read('acc_ex_q', { addr: exAccAddr, enable: exAccRead });
  const qpLanes = (k: number, bits: number, signed: boolean): Expr[] => unpackChannels(qpQ[k]!.slice(N * 32 - 1, 0), N, { bits: 32, signed }).map((x) => (bits < 32 ? x.asBits().slice(bits - 1, 0) : x));

  // ==== GEMM ================================================================================================
  const gf = (f: string): Expr => exD.field('gemm', f);
  const R = c.rows;
  const gemmP = m.wire('gemm_pixels', gf('nOy').mul(G.outW!));
  const gemmF = m.wire('gemm_folds', G.kh!.mul(G.kw!).mul(G.cbIn!));
  const gemmT = m.wire('gemm_slot', max(gemmP, constant(R)));
  const gemmRun = m.reg('gemm_run', u(1), { reset: clear });
  const gemmDone = m.wire('gemm_done', u(1));
  const gemmStart = begin('gemm');
  const gemmCheck = exFirst.and(exOp.gemm!);
  // Phase "pre": fold 0's R weight rows; then per fold a slot of T clocks (P pixels; the next fold's R
  // weight rows in the slot's last R clocks).
  const gemmPre = m.reg('gemm_pre', u(1), { reset: clear });
  const gemmPreRow = loopCounter(m, 'gemm_pre_row', constant(R), gemmPre, gemmStart, clear);
  const gemmStream = m.reg('gemm_stream', u(1), { reset: clear });
  const gemmT_ = loopCounter(m, 'gemm_t', gemmT, gemmStream, gemmStart, clear);
  const gemmFold = loopCounter(m, 'gemm_fold', gemmF, gemmStream.and(gemmT_.last), gemmStart, clear);
  gemmPre.next(mux(gemmStart, 1, mux(gemmPreRow.last, 0, gemmPre)));
  gemmStream.next(mux(gemmPre.and(gemmPreRow.last), 1, mux(gemmStream.and(gemmT_.last).and(gemmFold.last), 0, gemmStream)));
  gemmRun.next(mux(gemmStart, 1, mux(gemmDone, 0, gemmRun)));
  // Fold f -> (ky, kx, b), block innermost.
  const gemmB = loopCounter(m, 'gemm_b', G.cbIn!, gemmStream.and(gemmT_.last), gemmStart, clear);
  const gemmKx = loopCounter(m, 'gemm_kx', G.kw!, gemmStream.and(gemmT_.last).and(gemmB.last), gemmStart, clear);
  const gemmKy = loopCounter(m, 'gemm_ky', G.kh!, gemmStream.and(gemmT_.last).and(gemmB.last).and(gemmKx.last), gemmStart, clear);
  // Pixel t of the slot -> (output row, column).
  const gemmPixel = gemmStream.and(gemmT_.value.lt(gemmP));
  const gemmOx = loopCounter(m, 'gemm_ox', G.outW!, gemmPixel, gemmStart.or(gemmStream.and(gemmT_.last)), clear);
  const gemmOyRel = loopCounter(m, 'gemm_oy', gf('nOy'), gemmPixel.and(gemmOx.last), gemmStart.or(gemmStream.and(gemmT_.last)), clear);
  const gemmIy = gf('oy0').add(gemmOyRel.value).mul(G.strideY!).sub(G.padTop!).add(gemmKy.value);
  const gemmIx = gemmOx.value.mul(G.strideX!).sub(G.padLeft!).add(gemmKx.value);
  const gemmInside = gemmIy.ge(0).and(gemmIy.lt(G.inH!)).and(gemmIx.ge(0)).and(gemmIx.lt(G.inW!));
  const gemmActRow = checkedAddress(gf('actBase').add(gemmIy.mul(G.inW!).add(gemmIx).mul(G.cbIn!)).add(gemmB.value), c.actRows);
  const gemmActRead = gemmPixel.and(gemmInside); // a padding position's operand is 0, not a row
  const gemmActFault = gemmActRead.and(gemmActRow.ok.not());
  // Weight rows: fold 0 in "pre", fold f+1 in the last R clocks of fold f's slot.
  const gemmPreload = gemmStream.and(gemmFold.last.not()).and(gemmT_.value.ge(gemmT.sub(R)));
  const gemmWgtRowIdx = mux(gemmPre, gemmPreRow.value, gemmT_.value.sub(gemmT.sub(R))).assume(0, R - 1);
  const gemmWgtFold = mux(gemmPre, 0, gemmFold.value.add(1));
  const gemmWgtRow = checkedAddress(gf('wgtBase').add(gemmWgtFold.mul(R)).add(gemmWgtRowIdx), c.wgtRows);
  const gemmWgtRead = gemmPre.or(gemmPreload);
  // Pipeline: +1 read data (array input), +1+MAC latency column sums, ACC read issued one clock before.
  const d1 = (name: string, e: Expr): Expr => m.pipe(name, e);
  const gemmWLoad = d1('gemm_w_load', gemmWgtRead);
  const gemmWRow = d1('gemm_w_row', gemmWgtRowIdx);
  const gemmWSwap = d1('gemm_w_swap', gemmWgtRead.and(gemmWgtRowIdx.eq(R - 1)));
  const gemmInValid = d1('gemm_in_valid', gemmPixel);
  const gemmInInside = d1('gemm_in_inside', gemmInside);
  const gemmOperands = Array.from({ length: N }, (_, l) => mux(gemmInInside, operand(actA, l, Q.aSigned, Q.zpA), 0));
  const array = m.instance('mac_array', buildMacArray(c), {
    in_valid: gemmInValid,
    in_act: packChannels(gemmOperands, operandType(c)),
    w_load: gemmWLoad,
    w_row: gemmWRow,
    w_data: wgtQ,
    w_swap: gemmWSwap,
  });
  // Tags travelling with a pixel: its index t, first fold, last fold.
  const gemmTagT = m.delay('gemm_tag_t', gemmT_.value, 1 + MAC_ARRAY_LATENCY);
  const gemmTagFirst = m.delay('gemm_tag_first', gemmFold.value.eq(0), 1 + MAC_ARRAY_LATENCY);
  const gemmTagLast = m.delay('gemm_tag_last', gemmFold.last, 1 + MAC_ARRAY_LATENCY);
  const gemmTagTm1 = m.delay('gemm_acc_t', gemmT_.value, MAC_ARRAY_LATENCY);
  // ACC's partial sums are read for the folds after the first, one clock before their column sums leave.
  const gemmAccRead = m.delay('gemm_acc_read', gemmPixel.and(gemmFold.value.ne(0)), MAC_ARRAY_LATENCY);
  const gemmOutValid = array.out('out_valid');
  const colSums = unpackChannels(array.out('out_sum'), N, columnSumType(c));
  const accPrev = unpackChannels(accQ, N, { bits: c.accBits, signed: true });
  const gemmSums = colSums.map((s, l) => mux(gemmTagFirst, 0, accPrev[l]!).add(s).resize(c.accBits, { wrap: true }));
  const gemmAccWriteAddr = checkedAddress(gf('accBase').add(gemmTagT), c.accRows);
  const gemmToAcc = gf('toAcc');
  const biasLanes = qpLanes(0, 32, true);
  const gemmPartialWrite = gemmOutValid.and(gemmTagLast.not());
  const gemmFinalToAcc = gemmOutValid.and(gemmTagLast).and(gemmToAcc);
  const gemmFinalToPpu = gemmOutValid.and(gemmTagLast).and(gemmToAcc.not());
  const gemmAccRowOut = packChannels(
    gemmSums.map((s, l) => mux(gemmTagLast, s.add(biasLanes[l]!).resize(c.accBits, { wrap: true }), s)),
    { bits: c.accBits, signed: true },
  );
  // The QP record (bias, M, s: constant over the instruction) is read once, in the clock after the start.
  const gemmQpRead = gemmCheck;
  const gemmFault = gemmCheck.and(
    gemmP.add(gf('accBase')).gt(c.accRows).or(gemmF.eq(0)).or(gemmP.eq(0)).or(G.strideX!.eq(0)).or(G.strideY!.eq(0)).or(G.cbOut!.eq(0))
      .or(gf('wgtBase').add(gemmF.mul(R)).gt(c.wgtRows)).or(gf('qpBase').add(3).gt(c.qpRows))
      .or(gf('toAcc').not().and(gf('outBase').add(gf('oy0').mul(G.outW!).add(gemmP).sub(1).mul(G.cbOut!)).ge(c.actRows))),
  );

  // ==== DWCONV =============================================================================================
  const df = (f: string): Expr => exD.field('dwconv', f);
  const KMAX = c.dwKernel;
  const dwStart = begin('dwconv');
  const dwCheck = exFirst.and(exOp.dwconv!);
  const dwMode = df('mode');
  const dwMac = dwMode.eq(DW_MODE.mac);
  const dwMacNow = mux(dwStart, headField('dwconv', 'mode').eq(DW_MODE.mac), dwMac);
  const dwHp = m.wire('dw_rows', df('nOy').sub(1).mul(G.strideY!).add(G.kh!));
  const dwWp = m.wire('dw_cols', G.outW!.sub(1).mul(G.strideX!).add(G.kw!));
  const dwTaps = m.wire('dw_taps', G.kh!.mul(G.kw!));
  // At stride x >= 2 the engine takes two pixels a beat (depthwise.ts): ceil(wp / 2) beats a row.
  const dwPair = G.strideX!.ge(2);
  const dwBeats = m.wire('dw_beats', mux(dwPair, dwWp.add(1).shr(1), dwWp));
  // Block 0's weights load first (mac: kh*kw clocks, into the engine's second weight set); block b+1's
  // load while block b streams its hp x beats; a block streams once the block before it has streamed
  // and its weights are in (so blocks follow each other every max(hp * beats, kh*kw) clocks).
  const dwLoad = m.reg('dw_weights', u(1), { reset: clear });
  const dwLoaded = m.reg('dw_weights_in', u(1), { reset: clear });
  const dwSPhase = m.reg('dw_stream', u(1), { reset: clear });
  const dwDue = m.reg('dw_due', u(1), { reset: clear }); // the next block waits for its weights
  const dwTap = loopCounter(m, 'dw_tap', dwTaps, dwLoad, dwStart, clear);
  const dwPx = loopCounter(m, 'dw_px', dwBeats, dwSPhase, dwStart, clear);
  const dwPy = loopCounter(m, 'dw_py', dwHp, dwSPhase.and(dwPx.last), dwStart, clear);
  const dwBlockEnd = dwSPhase.and(dwPx.last).and(dwPy.last);
  const dwBlock = loopCounter(m, 'dw_block', df('nCb'), dwBlockEnd, dwStart, clear);
  const dwBlockBegin = dwStart.or(dwBlockEnd.and(dwBlock.last.not()));
  const dwLoadEnd = dwLoad.and(dwTap.last);
  const dwNextDue = dwDue.or(dwBlockEnd.and(dwBlock.last.not()));
  const dwGo = m.wire('dw_go', mux(dwStart, dwMacNow.not(), dwNextDue.and(dwMac.not().or(dwLoaded).or(dwLoadEnd))));
  // The block whose weights loaded last (block 0's from the instruction's start; the next one's from each go).
  const dwLoadNext = m.wire('dw_load_next', u(1));
  const dwLoadBlock = loopCounter(m, 'dw_load_block', df('nCb'), dwLoadNext, dwStart, clear);
  dwLoadNext.drive(dwGo.and(dwStart.not()).and(dwMac).and(dwLoadBlock.last.not()));
  dwLoad.next(mux(dwStart, dwMacNow, mux(dwLoadNext, 1, mux(dwLoadEnd, 0, dwLoad))));
  dwLoaded.next(mux(dwStart.or(dwGo), 0, mux(dwLoadEnd, 1, dwLoaded)));
  dwDue.next(mux(dwStart, dwMacNow, mux(dwGo, 0, dwNextDue)));
  dwSPhase.next(mux(dwStart, dwMacNow.not(), mux(dwGo, 1, mux(dwBlockEnd, 0, dwSPhase))));
  const dwKy = loopCounter(m, 'dw_ky_tap', G.kw!, dwLoad, dwStart, clear);
  const dwKyRow = loopCounter(m, 'dw_ky_row', G.kh!, dwLoad.and(dwKy.last), dwStart, clear);
  const dwB = df('cb0').add(dwBlock.value);
  // WGT rows of the block loading: a running offset (kh*kw rows a block), no multiplier.
  const dwWgtOffsetMax = df('nCb').range.max * dwTaps.range.max;
  const dwWgtOffset = m.reg('dw_wgt_offset', interval(0, dwWgtOffsetMax), { reset: clear });
  dwWgtOffset.next(mux(dwStart, 0, mux(dwLoadNext, dwWgtOffset.add(dwTaps), dwWgtOffset)).assume(0, dwWgtOffsetMax));
  const dwWgtRow = checkedAddress(df('wgtBase').add(dwWgtOffset).add(dwTap.value), c.wgtRows);
  const dwPos = dwKyRow.value.add(KMAX).sub(G.kh!).mul(KMAX).add(dwKy.value.add(KMAX).sub(G.kw!));
  const dwIy = df('oy0').mul(G.strideY!).sub(G.padTop!).add(dwPy.value);
  const dwCol = mux(dwPair, dwPx.value.shl(1), dwPx.value); // the beat's first padded column
  const dwIx = dwCol.sub(G.padLeft!);
  const dwRowInside = dwIy.ge(0).and(dwIy.lt(G.inH!));
  const dwInside = dwRowInside.and(dwIx.ge(0)).and(dwIx.lt(G.inW!));
  // A pair's second pixel (the next ACT row: pixels are cbIn rows apart), read on the second port.
  const dwInsideOdd = dwPair.and(dwCol.add(1).lt(dwWp)).and(dwRowInside).and(dwIx.add(1).ge(0)).and(dwIx.add(1).lt(G.inW!));
  const dwActRowAt = df('actBase').add(dwIy.mul(G.inW!).add(dwIx).mul(G.cbIn!)).add(dwB);
  const dwActRow = checkedAddress(dwActRowAt, c.actRows);
  const dwActRowOdd = checkedAddress(dwActRowAt.add(G.cbIn!), c.actRows);
  const dwActRead = dwSPhase.and(dwInside);
  const dwActReadOdd = dwSPhase.and(dwInsideOdd);
  const dwActFault = dwActRead.and(dwActRow.ok.not()).or(dwActReadOdd.and(dwActRowOdd.ok.not()));
  const dwPadValue = mux(dwMode.eq(DW_MODE.max), dwMaxPad(c), 0);
  const dwInValid = d1('dw_in_valid', dwSPhase);
  const dwInInside = d1('dw_in_inside', dwInside);
  const dwInInsideOdd = d1('dw_in_inside_odd', dwInsideOdd);
  const dwPadD = d1('dw_in_pad', dwPadValue);
  const dwOperands = Array.from({ length: N }, (_, l) => mux(dwInInside, operand(actA, l, Q.aSigned, Q.zpA), dwPadD));
  const dwOperandsOdd = Array.from({ length: N }, (_, l) => mux(dwInInsideOdd, operand(actB, l, Q.aSigned, Q.zpA), dwPadD));
  const dwe = m.instance('dw_engine', buildDepthwiseEngine(c), {
    // The engine restarts with the previous block's last pixel (read one clock before it arrives).
    start: d1('dw_engine_start', dwBlockBegin),
    in_valid: dwInValid,
    in_data: packChannels(dwOperands, dwInputType(c)),
    in_data_odd: packChannels(dwOperandsOdd, dwInputType(c)),
    width: checkedWidth(m, dwWp, c.dwMaxWidth),
    kh: mux(G.kh!.ge(1).and(G.kh!.le(KMAX)), G.kh!, 1).assume(1, KMAX),
    kw: mux(G.kw!.ge(1).and(G.kw!.le(KMAX)), G.kw!, 1).assume(1, KMAX),
    sy: mux(G.strideY!.eq(0), 1, G.strideY!).assume(1, 15),
    sx: mux(G.strideX!.eq(0), 1, G.strideX!).assume(1, 15),
    mode: mux(dwMode.eq(3), 0, dwMode).assume(0, 2),
    // The engine's second weight set, cleared with the first tap's load (the block before copied it at
    // its first pixel, in the same clock at the latest).
    w_clear: d1('dw_w_clear', dwLoad.and(dwTap.value.eq(0))),
    w_load: d1('dw_w_load', dwLoad),
    w_pos: d1('dw_w_pos', mux(dwLoad, dwPos, 0).assume(0, KMAX * KMAX - 1)),
    w_data: wgtQ,
  });
  // Output side: outputs arrive in raster order per block; count them to address ACT and QP.
  const dwOutValid = dwe.out('out_valid');
  const dwOutCount = loopCounter(m, 'dw_out_t', gemmLikePixels(df('nOy'), G.outW!), dwOutValid, dwStart, clear);
  const dwOutBlock = loopCounter(m, 'dw_out_block', df('nCb'), dwOutValid.and(dwOutCount.last), dwStart, clear);
  const dwOutSums = unpackChannels(dwe.out('out_sum'), N, { bits: dwOutputBits(c), signed: true });
  // A block's QP record is read once: block 0's in the clock after the start, the next block's in the clock
  // after the block before gave its last output (its first output comes later: the engine's pipeline).
  const dwQpRead = dwCheck.or(m.pipe('dw_qp_next', dwOutValid.and(dwOutCount.last).and(dwOutBlock.last.not())));
  const dwEmpty = dwOutValid.and(dwMode.eq(DW_MODE.max)).and(dwOutSums[0]!.eq(dwMaxPad(c)));
  const dwFault = dwCheck.and(
    G.kh!.gt(KMAX).or(G.kw!.gt(KMAX)).or(G.kh!.eq(0)).or(G.kw!.eq(0)).or(G.strideX!.eq(0)).or(G.strideY!.eq(0)).or(G.cbIn!.eq(0)).or(G.cbOut!.eq(0))
      .or(dwWp.gt(c.dwMaxWidth)).or(dwMode.eq(3)).or(df('nCb').eq(0)).or(df('nOy').eq(0)).or(G.outW!.eq(0))
      .or(df('qpBase').add(df('nCb').mul(3)).gt(c.qpRows))
      .or(dwMac.and(df('wgtBase').add(df('nCb').mul(dwTaps)).gt(c.wgtRows))),
  );

  // ==== ADD ===============================================================================================
  const af = (f: string): Expr => exD.field('add', f);
  const addStart = begin('add');
  const addCheck = exFirst.and(exOp.add!);
  const addRun = m.reg('add_run', u(1), { reset: clear });
  const addI = loopCounter(m, 'add_i', af('count'), addRun, addStart, clear);
  const addJ = loopCounter(m, 'add_block', G.cbIn!, addRun, addStart, clear);
  addRun.next(mux(addStart, headField('add', 'count').ne(0), mux(addI.last, 0, addRun)));
  const addA = checkedAddress(af('aBase').add(addI.value), c.actRows);
  const addB = checkedAddress(af('bBase').add(addI.value), c.actRows);
  const addQp = af('qpBase').add(addJ.value.mul(3));
  // One QP record for the whole instruction with one channel block, else a record per element.
  const addQpRead = addRun.and(addI.value.eq(0).or(G.cbIn!.ne(1)));
  const addValid1 = d1('add_valid1', addRun);
  const addMA = qpLanes(0, c.multiplierBits, false);
  const addMB = qpLanes(1, c.multiplierBits, false);
  const addAcc = Array.from({ length: N }, (_, l) =>
    m.pipe(`add_acc_l${l}`, operand(actA, l, Q.aSigned, Q.zpA).mul(addMA[l]!).add(operand(actB, l, Q.bSigned, Q.zpB).mul(addMB[l]!))),
  );
  const addValid2 = d1('add_valid2', addValid1);
  const addShift = qpLanes(2, 6, false).map((s, l) => m.pipe(`add_shift_l${l}`, s));
  const addOutIndex = m.delay('add_out_i', addI.value, 2);
  const addFault = addCheck.and(af('aBase').add(af('count')).gt(c.actRows).or(af('bBase').add(af('count')).gt(c.actRows))
    .or(af('outBase').add(af('count')).gt(c.actRows)).or(af('qpBase').add(G.cbIn!.mul(3)).gt(c.qpRows)).or(G.cbIn!.eq(0)));

  // ==== GAP ===============================================================================================
  const pf = (f: string): Expr => exD.field('gap', f);
  const gapStart = begin('gap');
  const gapCheck = exFirst.and(exOp.gap!);
  const gapRun = m.reg('gap_run', u(1), { reset: clear });
  const gapP = loopCounter(m, 'gap_p', pf('count'), gapRun, gapStart, clear);
  const gapBlock = loopCounter(m, 'gap_block', pf('nCb'), gapRun.and(gapP.last), gapStart, clear);
  gapRun.next(mux(gapStart, headField('gap', 'count').ne(0).and(headField('gap', 'nCb').ne(0)), mux(gapP.last.and(gapBlock.last), 0, gapRun)));
  const gapRow = checkedAddress(pf('actBase').add(gapP.value.mul(G.cbIn!)).add(pf('cb0')).add(gapBlock.value), c.actRows);
  const gapQp = pf('qpBase').add(gapBlock.value.mul(3));
  const gapQpRead = gapRun.and(gapP.last); // the block's record, for its sum entering the PPU
  const gapValid1 = d1('gap_valid1', gapRun);
  const gapFirst1 = d1('gap_first1', gapP.value.eq(0));
  const gapLast1 = d1('gap_last1', gapP.last);
  const gapOutRow = d1('gap_out_row', pf('outBase').add(pf('cb0')).add(gapBlock.value));
  const gapBound = BigInt(65535) * BigInt(operandRange(c).max);
  const gapSums = Array.from({ length: N }, (_, l) => {
    const x = operand(actA, l, Q.aSigned, Q.zpA);
    const sumReg = m.reg(`gap_sum_l${l}`, interval(-gapBound, gapBound), { enable: gapValid1 });
    const total = mux(gapFirst1, 0, sumReg).add(x).assume(-gapBound, gapBound);
    sumReg.next(total);
    return total;
  });
  const gapFault = gapCheck.and(pf('actBase').add(pf('count').sub(1).mul(G.cbIn!)).add(pf('cb0')).add(pf('nCb')).gt(c.actRows)
    .or(pf('outBase').add(pf('cb0')).add(pf('nCb')).gt(c.actRows)).or(pf('qpBase').add(pf('nCb').mul(3)).gt(c.qpRows)).or(G.cbIn!.eq(0)));

  // ==== ARGMAX ============================================================================================
  const xf = (f: string): Expr => exD.field('argmax', f);
  const amaxStart = begin('argmax');
  const amaxCheck = exFirst.and(exOp.argmax!);
  const amaxRun = m.reg('amax_run', u(1), { reset: clear });
  const amaxLane = loopCounter(m, 'amax_lane', constant(N), amaxRun, amaxStart, clear);
  const amaxI = loopCounter(m, 'amax_i', xf('count'), amaxRun, amaxStart, clear);
  const amaxRowMax = Math.ceil(65535 / N);
  const amaxRow = m.reg('amax_row', interval(0, amaxRowMax), { reset: clear });
  amaxRow.next(mux(amaxStart, 0, mux(amaxRun.and(amaxLane.last), amaxRow.add(1), amaxRow)).assume(0, amaxRowMax));
  const amaxRowIdx = { value: amaxRow };
  amaxRun.next(mux(amaxStart, headField('argmax', 'count').ne(0), mux(amaxI.last, 0, amaxRun)));
  const amaxAccRow = checkedAddress(xf('accBase').add(amaxRowIdx.value), c.accRows);
  const amaxQp = xf('qpBase').add(amaxRowIdx.value.mul(3));
  const amaxRowRead = amaxRun.and(amaxLane.value.eq(0)); // a row of N scores and its QP record, held for its N lanes
  const amaxValid1 = d1('amax_valid1', amaxRun);
  const amaxLane1 = d1('amax_lane1', amaxLane.value);
  const amaxI1 = d1('amax_i1', amaxI.value);
  const amaxV = select(amaxLane1, unpackChannels(accQ, N, { bits: c.accBits, signed: true }));
  const amaxM = select(amaxLane1, unpackChannels(qpQ[1]!, N, { bits: 32, signed: false }));
  const amaxS = select(amaxLane1, qpLanes(2, 6, false));
  const amaxProd = m.pipe('amax_score', amaxV.mul(amaxM));
  const amaxS2 = m.pipe('amax_shift', amaxS);
  const amaxI2 = m.pipe('amax_index', amaxI1);
  const amaxValid2 = d1('amax_valid2', amaxValid1);
  const amaxFirst2 = m.pipe('amax_first2', amaxI1.eq(0));
  const amaxLast2 = m.pipe('amax_last2', amaxValid1.and(amaxI1.eq(xf('count').sub(1))));
  const amaxBestV = m.reg('amax_best_score', amaxProd.range, { enable: amaxValid2 });
  const amaxBestS = m.reg('amax_best_shift', amaxS2.range, { enable: amaxValid2 });
  const amaxBestI = m.reg('amax_best_index', amaxI2.range, { enable: amaxValid2 });
  // v*M*2^-s against the best so far: shift the side with the smaller s left by the difference.
  const shiftLeftBy = (v: Expr, by: Expr): Expr => {
    let out = v;
    for (let k = 0; 1 << k <= 63; k++) out = mux(by.bit(k), out.shl(1 << k), out);
    return out;
  };
  const diff = amaxS2.sub(amaxBestS);
  const candScaled = shiftLeftBy(amaxProd, mux(diff.lt(0), diff.neg(), 0).assume(0, 63));
  const bestScaled = shiftLeftBy(amaxBestV, mux(diff.gt(0), diff, 0).assume(0, 63));
  const better = amaxFirst2.or(candScaled.gt(bestScaled));
  amaxBestV.next(mux(better, amaxProd, amaxBestV));
  amaxBestS.next(mux(better, amaxS2, amaxBestS));
  amaxBestI.next(mux(better, amaxI2, amaxBestI));
  const amaxWrite = d1('amax_write', amaxValid2.and(amaxLast2));
  // Score rows and their QP records are checked as they are read (the row count is ceil(count / N)).
  const amaxFault = amaxCheck.and(xf('count').eq(0).or(xf('outAcc').ge(c.accRows)))
    .or(amaxRun.and(amaxAccRow.ok.not().or(checkedAddress(amaxQp.add(2), c.qpRows).ok.not())));

  // ==== EX read-port multiplexing ==========================================================================
  exActAddrA.drive(mux(exOp.gemm!, gemmActRow.addr, mux(exOp.dwconv!, dwActRow.addr, mux(exOp.add!, addA.addr, gapRow.addr))).assume(0, c.actRows - 1));
  exActAddrB.drive(mux(exOp.dwconv!, dwActRowOdd.addr, addB.addr).assume(0, c.actRows - 1));
  exWgtAddr.drive(mux(exOp.gemm!, gemmWgtRow.addr, dwWgtRow.addr).assume(0, c.wgtRows - 1));
  // QP: GEMM one record; DWCONV the block reaching the PPU; ADD/GAP/ARGMAX their row's record.
  const qpRecord = mux(exOp.gemm!, gf('qpBase'), mux(exOp.dwconv!, df('qpBase').add(dwOutBlock.value.mul(3)), mux(exOp.add!, addQp, mux(exOp.gap!, gapQp, amaxQp))));
  exQpAddr.forEach((w, k) => w.drive(checkedAddress(qpRecord.add(k), c.qpRows).addr));
  exAccAddr.drive(mux(exOp.gemm!, checkedAddress(gf('accBase').add(gemmTagTm1), c.accRows).addr, amaxAccRow.addr).assume(0, c.accRows - 1));
  // Read enables: the running instruction's sequencer says when it reads (one sequencer runs at a time).
  exActReadA.drive(gemmActRead.or(dwActRead).or(addRun).or(gapRun));
  exActReadB.drive(dwActReadOdd.or(addRun));
  exWgtRead.drive(gemmWgtRead.or(dwLoad));
  exQpRead.drive(gemmQpRead.or(dwQpRead).or(addQpRead).or(gapQpRead).or(amaxRowRead));
  exAccRead.drive(gemmAccRead.or(amaxRowRead));

  // ==== post-processing unit (one instance of the rule, shared by GEMM, DWCONV, ADD, GAP) ===================
  const ppuInValid = m.wire('ppu_in_valid', gemmFinalToPpu.or(dwOutValid).or(addValid2).or(gapValid1.and(gapLast1)));
  const ppuSum = Array.from({ length: N }, (_, l) =>
    mux(exOp.gemm!, gemmSums[l]!, mux(exOp.dwconv!, dwOutSums[l]!, mux(exOp.add!, addAcc[l]!, gapSums[l]!))),
  );
  const mLanes = qpLanes(1, c.multiplierBits, false);
  const sLanes = qpLanes(2, 6, false);
  const ppuY = ppuSum.map((s, l) =>
    requantizeLane(m, `ppu_l${l}`, c, {
      sum: s,
      bias: mux(exOp.add!, 0, biasLanes[l]!),
      multiplier: mux(exOp.add!, 1, mLanes[l]!),
      shift: mux(exOp.add!, addShift[l]!, sLanes[l]!).assume(0, MAX_SHIFT).clamp(1, MAX_SHIFT),
      zo: Q.zo,
      lo: Q.lo,
      hi: Q.hi,
    }),
  );
  const ppuOutValid = m.delay('ppu_valid', ppuInValid, PPU_LATENCY);
  // Output row address of each PPU result, computed at its input and carried along.
  const dwOutRowIn = df('outBase').add(df('oy0').mul(G.outW!).add(dwOutCount.value).mul(G.cbOut!)).add(df('cb0')).add(dwOutBlock.value);
  const gemmOutRowIn = gf('outBase').add(gf('oy0').mul(G.outW!).add(gemmTagT).mul(G.cbOut!));
  const addOutRowIn = af('outBase').add(addOutIndex);
  const ppuRowIn = mux(exOp.gemm!, gemmOutRowIn, mux(exOp.dwconv!, dwOutRowIn, mux(exOp.add!, addOutRowIn, gapOutRow)));
  const ppuRow = checkedAddress(m.delay('ppu_row', ppuRowIn, PPU_LATENCY), c.actRows);
  const ppuRowFault = ppuOutValid.and(ppuRow.ok.not());
  const ppuRowBits = packChannels(ppuY.map((y) => y.resize(c.actBits, { wrap: true, signed: false })), { bits: c.actBits, signed: false });

  // ==== EX writes and completion ============================================================================
  const exActWrite = ppuOutValid.and(ppuRow.ok);
  const amaxClassRow = packChannels([amaxBestI, ...Array.from({ length: N - 1 }, () => constant(0))], { bits: c.accBits, signed: true });
  const exAccWrite = gemmPartialWrite.or(gemmFinalToAcc).or(amaxWrite);
  const exAccRow = mux(amaxWrite, checkedAddress(xf('outAcc'), c.accRows).addr, gemmAccWriteAddr.addr).assume(0, c.accRows - 1);
  const exAccData = mux(amaxWrite, amaxClassRow, gemmAccRowOut);
  // The last write of each long instruction: its completion clock.
  const gemmLastOut = gemmOutValid.and(gemmTagLast).and(gemmTagT.eq(gemmP.sub(1)));
  const gemmDoneNow = mux(gemmToAcc, gemmLastOut, m.delay('gemm_last_ppu', gemmLastOut, PPU_LATENCY));
  gemmDone.drive(gemmRun.and(gemmDoneNow));
  const dwAllOut = dwOutValid.and(dwOutCount.last).and(dwOutBlock.last);
  const dwDoneNow = m.delay('dw_last_ppu', dwAllOut, PPU_LATENCY);
  const addDoneNow = m.delay('add_last_ppu', addValid1.and(m.pipe('add_last1', addI.last)), 1 + PPU_LATENCY);
  const gapDoneNow = m.delay('gap_last_ppu', gapValid1.and(gapLast1).and(m.pipe('gap_block_last1', gapBlock.last)), PPU_LATENCY);
  const exLongDone = m.wire('ex_long_done', exBusy.and(
    exOp.gemm!.and(gemmDoneNow).or(exOp.dwconv!.and(dwDoneNow)).or(exOp.add!.and(addDoneNow)).or(exOp.gap!.and(gapDoneNow)).or(exOp.argmax!.and(amaxWrite)),
  ));
  const exFaultNow = m.wire('ex_fault', gemmFault.or(dwFault).or(addFault).or(gapFault).or(amaxFault).or(setqFault)
    .or(exBusy.and(gemmActFault.or(dwActFault).or(dwEmpty).or(ppuRowFault))));
  const exFaultCause = mux(dwEmpty, FAULT.emptyWindow, mux(gemmFault.or(dwFault).or(setqFault), FAULT.geometry, FAULT.address));
  exBusy.next(mux(ex.startNow.and(exIsLong), 1, mux(exLongDone, 0, exBusy)));
  const exInstant = ex.startNow.and(exIsLong.not());
  const exPushPrev = mux(exInstant, ex.d.pushPrev, exLongDone.and(exD.pushPrev));
  const exPushNext = mux(exInstant, ex.d.pushNext, exLongDone.and(exD.pushNext));

  // ==== scratchpad write ports: EX first, LD waits for a free clock ========================================
  ldStall.drive(ldWriteRow.and(ldToAct.and(exActWrite).or(ldToAcc.and(exAccWrite))));
  const ldWriteAct = ldToAct.and(ldStall.not());
  act.setWrite({
    addr: mux(exActWrite, ppuRow.addr, ldRowAddr(c.actRows).addr).assume(0, c.actRows - 1),
    data: mux(exActWrite, ppuRowBits, rowFromBytes(ldRowBytes, 'act', c.actBits)),
    enable: exActWrite.or(ldWriteAct.and(ldRowAddr(c.actRows).ok)),
  });
  wgt.setWrite({ addr: ldRowAddr(c.wgtRows).addr, data: rowFromBytes(ldRowBytes, 'wgt', c.weightBits), enable: ldToWgt.and(ldRowAddr(c.wgtRows).ok) });
  qp.setWrite({ addr: ldRowAddr(c.qpRows).addr, data: rowFromBytes(ldRowBytes, 'qp', 32), enable: ldToQp.and(ldRowAddr(c.qpRows).ok) });
  acc.setWrite({
    addr: mux(exAccWrite, exAccRow, ldRowAddr(c.accRows).addr).assume(0, c.accRows - 1),
    data: mux(exAccWrite, exAccData, rowFromBytes(ldRowBytes, 'acc', c.accBits)),
    enable: exAccWrite.or(ldToAcc.and(ldStall.not()).and(ldRowAddr(c.accRows).ok)),
  });

  // ==== ST unit ==============================================================================================
  const stBusy = m.reg('st_busy', u(1), { reset: clear });
  const st = unitIssue('st', qSt, stBusy.not(), 'e2s', undefined);
  const stWord = m.reg('st_word', u(WORD_BITS), { enable: st.startNow }).next(qSt.word);
  const stPc = m.reg('st_pc', interval(0, c.imemWords), { enable: st.startNow }).next(qSt.pc);
  const stD = decodeWord(stWord);
  const sf = (f: string): Expr => stD.field('store', f);
  const stBegin = st.startNow.and(st.d.is.store);
  const stFirst = m.reg('st_first', u(1), { reset: clear }).next(stBegin);
  const stFromAcc = sf('mem').eq(3);
  const stBeats = beatsOf(sf('mem'));
  // Rows are read one clock before their first beat; beats then go out one per clock.
  const stReading = m.reg('st_reading', u(1), { reset: clear });
  const stWriting = m.reg('st_writing', u(1), { reset: clear });
  const stRowStepW = m.wire('st_row_step', u(1));
  // With AXI, a beat moves when the W channel takes it, and only after its burst's AW went out.
  const wPending = bus === undefined ? undefined : m.reg('st_w_pending', interval(0, axiLimits.maxOutstanding), { reset: clear });
  const wValid = wPending === undefined ? undefined : m.wire('st_wvalid', stWriting.and(wPending.ne(0)));
  const wAccept = wValid === undefined ? undefined : m.wire('st_w_accept', wValid.and(bus!.wready));
  const stAdvance = wAccept ?? stWriting;
  const stBeat = loopCounter(m, 'st_beat', stBeats, stAdvance, stBegin, clear);
  const stBeatEnd = wAccept === undefined ? stBeat.last : stBeat.last.and(wAccept);
  const stX = loopCounter(m, 'st_x', sf('xSize'), stRowStepW, stBegin, clear);
  const stY = loopCounter(m, 'st_y', sf('ySize'), stRowStepW.and(stX.last), stBegin, clear);
  const stRow = sf('sramAddr').add(stY.value.mul(sf('sramStride'))).add(stX.value);
  // A row is read when nothing is being written or in the last beat of the previous row.
  const stRowStep = stReading.and(stWriting.not().or(stBeatEnd));
  stRowStepW.drive(stRowStep);
  const stLastRowRead = stRowStep.and(stX.last).and(stY.last);
  stReading.next(mux(stBegin, 1, mux(stLastRowRead, 0, stReading)));
  stWriting.next(mux(stRowStep, 1, mux(stBeatEnd, 0, stWriting)));
  const stActRead = act.read('act_st_q', { addr: checkedAddress(stRow, c.actRows).addr, enable: stRowStep });
  const stAccRead = acc.read('acc_st_q', { addr: checkedAddress(stRow, c.accRows).addr, enable: stRowStep });
  const stRowY = m.reg('st_row_y', stY.value.range, { enable: stRowStep }).next(stY.value);
  const stRowX = m.reg('st_row_x', stX.value.range, { enable: stRowStep }).next(stX.value);
  const stLastRow = m.reg('st_last_row', u(1), { enable: stRowStep, reset: clear }).next(stX.last.and(stY.last));
  // The row as MEM bytes: ACT elements of elementBytes, ACC lanes sign-extended to 4 bytes.
  const actAsBytes = stActRead;
  const accAsBytes = concat(...unpackChannels(stAccRead, N, { bits: c.accBits, signed: true }).map((x) => x.resize(32, { wrap: true, signed: false })).reverse());
  const beatOf = (bytes: Expr, width: number): Expr => {
    const beats = Math.max(1, (width / beatBits) | 0);
    return select(stBeat.value, Array.from({ length: beats }, (_, k) => bytes.slice(k * beatBits + beatBits - 1, k * beatBits)));
  };
  const stBeatData = mux(stFromAcc, beatOf(accAsBytes, N * 32), beatOf(actAsBytes.asBits(), actBitsRow));
  const stMemWord = checkedAddress(
    sf('memAddr').shr(portShift).add(stRowY.mul(sf('memStride').shr(portShift))).add(stRowX.mul(stBeats)).add(stBeat.value),
    memWords,
  );
  const stLastMemByte = sf('memAddr').add(sf('ySize').sub(1).mul(sf('memStride'))).add(sf('xSize').mul(stBeats.mul(c.memPortBytes)));
  const stLastRowAddr = sf('sramAddr').add(sf('ySize').sub(1).mul(sf('sramStride'))).add(sf('xSize'));
  const stMisaligned = sf('memAddr').slice(portShift - 1, 0).ne(0).or(sf('memStride').slice(portShift - 1, 0).ne(0));
  const stBadMem = sf('mem').ne(0).and(sf('mem').ne(3));
  const stOutside = stLastMemByte.gt(c.memBytes).or(stLastRowAddr.gt(mux(stFromAcc, c.accRows, c.actRows))).or(sf('xSize').eq(0)).or(sf('ySize').eq(0));
  const stCheckFault = stFirst.and(stMisaligned.or(stBadMem).or(stOutside));
  const stBeatsDone = stWriting.and(stBeatEnd).and(stLastRow);
  let stFaultNow = stCheckFault;
  let stMemWait: Expr = constant(0);
  let stDoneNow = stBeatsDone;
  if (bus !== undefined) {
    // AW bursts of the block from the clock after the checks passed; a second sequencer replays the
    // same bursts on the W side to place WLAST. STORE completes once every write response arrived.
    const wBeat = m.reg('st_w_beat', interval(0, 255), { reset: clear });
    const wLen = m.wire('st_w_len', u(8));
    const wLast = m.wire('st_wlast', wBeat.eq(wLen));
    const wBurstEnd = wAccept!.and(wLast);
    wBeat.next(mux(wAccept!, mux(wLast, 0, wBeat.add(1)), wBeat).assume(0, 255));
    const bfire = bus.bvalid;
    const block = {
      reset: clear,
      start: stCheckFault.not().and(stFirst),
      base: ctl!.memBase.add(sf('memAddr')).truncate(AXI_ADDR_BITS),
      stride: sf('memStride'),
      lines: sf('ySize'),
      lineBeats: sf('xSize').mul(stBeats),
    };
    const aw = burstSequencer(m, 'st_aw_bursts', c, { ...block, ready: bus.awready, retire: bfire });
    const wSide = burstSequencer(m, 'st_w_bursts', c, { ...block, ready: wBurstEnd, retire: wBurstEnd });
    wLen.drive(wSide.len);
    const awFire = aw.valid.and(bus.awready);
    wPending!.next(wPending!.add(awFire).sub(wBurstEnd).assume(0, axiLimits.maxOutstanding));
    m.output('m_axi_awvalid', aw.valid);
    m.output('m_axi_awaddr', aw.addr);
    m.output('m_axi_awlen', aw.len);
    outputConstantFields(m, 'aw', c.memPortBytes);
    m.output('m_axi_wvalid', wValid!);
    m.output('m_axi_wdata', stBeatData);
    m.output('m_axi_wstrb', fullStrobe(c.memPortBytes));
    m.output('m_axi_wlast', wLast);
    m.output('m_axi_bready', constant(1));
    // After the last beat the STORE drains: done when no burst waits for its response.
    const draining = m.reg('st_draining', u(1), { reset: clear });
    stDoneNow = draining.and(aw.idle);
    draining.next(mux(stBeatsDone, 1, mux(stDoneNow, 0, draining)));
    stFaultNow = stCheckFault.or(bfire.and(bus.bresp.ne(0)));
    stMemWait = stWriting.and(wAccept!.not()).or(draining);
  }
  const stFault = m.wire('st_fault', stFaultNow);
  const stDone = m.wire('st_done', stDoneNow);
  const stInstant = st.startNow.and(st.d.is.store.not());
  stBusy.next(mux(st.startNow.and(st.d.is.store), 1, mux(stDone.or(stFault), 0, stBusy)));
  const stPushPrev = mux(stInstant, st.d.pushPrev, stDone.and(stD.pushPrev));
  const finishNow = stInstant.and(st.d.is.finish);

  // ==== MEM clients: the ST unit's beats, the host's words (machine idle), the pixel stream's beats ==========
  // The stream ports (stream-ports.ts) write the input region and read the results; the stream waits for
  // a clock where neither ST nor the host writes. With MEM off chip (memory 'axi') there are no stream
  // ports: the input is in MEM before start.
  const runEnd = axi ? undefined : m.wire('run_end', u(1));
  const runDone = axi ? undefined : m.wire('run_end_done', u(1));
  if (axi) runStart.drive(c.frameStart === true ? start.or(m.input('frame_start', u(1))) : start);
  if (axi && c.frameStart === true) m.output('mem_base', ctl!.memBase);
  if (!axi && runEnd !== undefined && runDone !== undefined && autoStart !== undefined && autoLen !== undefined) {
  const hostMemWord = checkedAddress(hostAddr.shr(Math.log2(c.memPortBytes)), memWords);
  const hostBank = K === 1 ? constant(0) : hostAddr.slice(Math.log2(c.memPortBytes) - 1, 2);
  const hostMemWrite = hostWe.and(hostAddr.bit(31).not()).and(running.not());
  const streams = buildStreamPorts(m, c, { rst, hostWe, hostAddr, hostWdata, memBanks, memWords, memBusy: stWriting.or(hostMemWrite), running, runStart, runEnd, runDone });
  autoStart.drive(streams.autoStart);
  autoLen.drive(streams.autoLen);
  runStart.drive(start.or(streams.autoStart));
  memBanks.forEach((bank, k) => {
    const hostHere = hostMemWrite.and(hostBank.eq(k)).and(hostMemWord.ok);
    bank.setWrite({
      addr: mux(stWriting, stMemWord.addr, mux(hostMemWrite, hostMemWord.addr, streams.memWrite.addr)).assume(0, memWords - 1),
      data: mux(stWriting, stBeatData.slice(32 * k + 31, 32 * k), mux(hostMemWrite, hostWdata, streams.memWrite.data.slice(32 * k + 31, 32 * k))),
      enable: stWriting.and(stMemWord.ok).or(hostHere).or(streams.memWrite.enable),
    });
  });
  // The host reads a MEM word in a clock it addresses one without writing, while the machine is idle.
  const hostMemRead = m.wire('host_mem_read', hostAddr.bit(31).not().and(hostWe.not()).and(running.not()));
  const hostReads = memBanks.map((bank, k) => bank.read(`mem_b${k}_host_q`, { addr: hostMemWord.addr, enable: hostMemRead }));
  const hostBankD = m.pipe('host_bank_d', hostBank);
  m.output('host_rdata', select(hostBankD, hostReads));
  }

  // ==== tokens, faults, status ================================================================================
  tokenPop.l2e!.drive(ex.startNow.and(ex.d.popPrev));
  tokenPop.s2e!.drive(ex.startNow.and(ex.d.popNext));
  tokenPop.e2l!.drive(ld.startNow.and(ld.d.popNext));
  tokenPop.e2s!.drive(st.startNow.and(st.d.popPrev));
  tokenPush.l2e!.drive(ldPushNext);
  tokenPush.e2l!.drive(exPushPrev);
  tokenPush.e2s!.drive(exPushNext);
  tokenPush.s2e!.drive(stPushPrev);

  // Watchdog: no start, completion or dispatch for WATCHDOG_CYCLES clocks.
  const progress = fetchAdvance.or(ld.startNow).or(ex.startNow).or(st.startNow).or(ldDone).or(exLongDone).or(stDone);
  const idleCount = m.reg('status_idle_cycles', interval(0, WATCHDOG_CYCLES), { reset: clear });
  idleCount.next(mux(progress.or(running.not()), 0, idleCount.add(1)).assume(0, WATCHDOG_CYCLES));
  const watchdog = running.and(idleCount.eq(WATCHDOG_CYCLES));
  const oldest = [qLd, qEx, qSt].reduce<Expr>((best, q) => mux(q.valid.and(q.pc.lt(best)), q.pc, best), fetchPc);

  // Priority of simultaneous faults: fetch, LD, EX, ST, watchdog (one pc is recorded).
  const faults: Array<[Expr, Expr, Expr]> = [
    [fetchIllegal, fetchPc, constant(FAULT.illegalWord)],
    [fetchPastEnd, fetchPc, constant(FAULT.pastEnd)],
    [ldFault, ldPc, ldFaultCause],
    [exFaultNow, mux(exFirst.or(exBusy), exPc, qEx.pc), exFaultCause],
    [stFault, stPc, mux(stMisaligned, FAULT.alignment, FAULT.address)],
    [watchdog, oldest, constant(FAULT.watchdog)],
  ];
  const anyFault = faults.map((f) => f[0]).reduce((a, b) => a.or(b));
  let faultPc: Expr = constant(0);
  let faultCause: Expr = constant(0);
  for (const [cond, pc, cause] of [...faults].reverse()) {
    faultPc = mux(cond, pc, faultPc);
    faultCause = mux(cond, cause, faultCause);
  }
  const faultNow = running.and(anyFault).and(error.not());
  runEnd?.drive(running.and(faultNow.or(finishNow)));
  runDone?.drive(running.and(finishNow).and(faultNow.not()));
  running.next(mux(runStart, 1, mux(faultNow.or(finishNow), 0, running)));
  done.next(mux(runStart, 0, mux(finishNow.and(faultNow.not()), 1, done)));
  error.next(mux(runStart, 0, mux(faultNow, 1, error)));
  errorPc.next(mux(faultNow, faultPc, errorPc).assume(0, c.imemWords));
  errorCause.next(mux(faultNow, faultCause, errorCause).assume(0, 7));

  // The AXI4-Lite block's status registers, interrupt and per-unit counters (busy: an instruction in
  // the unit; stall: waiting for memory, or the head instruction waiting for a token).
  ctl?.connect({
    running, done, error, errorPc, errorCause, cycles,
    doneEvent: finishNow.and(faultNow.not()),
    errorEvent: faultNow,
    counters: {
      ldBusy,
      ldStall: ldBusy.and(ldIssuing).and(ldGo.not()).or(qLd.valid.and(ldBusy.not()).and(ld.startNow.not())),
      exBusy,
      exStall: qEx.valid.and(exBusy.not()).and(ex.startNow.not()),
      stBusy,
      stStall: stBusy.and(stMemWait).or(qSt.valid.and(stBusy.not()).and(st.startNow.not())),
    },
  });
  m.output('busy', running);
  m.output('done', done);
  m.output('error', error);
  m.output('error_pc', errorPc);
  m.output('error_cause', errorCause);
  m.output('cycles', cycles);
  // Per-unit events for cycle accounting (the testbench logs them with the pc).
  m.output('ld_start_o', ld.startNow);
  m.output('ex_start_o', ex.startNow);
  m.output('st_start_o', st.startNow);
  m.output('ld_end_o', ldDone.or(ldInstant));
  m.output('ex_end_o', exLongDone.or(exInstant));
  m.output('st_end_o', stDone.or(stInstant));
  m.output('ld_pc_o', mux(ld.startNow, qLd.pc, ldPc));
  m.output('ex_pc_o', mux(ex.startNow, qEx.pc, exPc));
  m.output('st_pc_o', mux(st.startNow, qSt.pc, stPc));
  return m.describePorts({ ...PORT_MEANINGS, ...AXI_PORT_MEANINGS });
}

/** One line per port (docs/accel-rtl.md, "Host port"): the Verilog port block and the manifest's ports. */
const PORT_MEANINGS: Readonly<Record<string, string>> = {
  clk: 'clock; every register loads on its rising edge',
  rst: 'synchronous reset, active high',
  host_we: 'host port: write host_wdata to host_addr this clock',
  host_addr: 'host port: byte address; below 2^31 a MEM word (writes only while idle), 0x8000_0000 + 16*w + 4*k bits 32k+31:32k of program word w',
  host_wdata: 'host port: the word to write',
  start: 'one-clock pulse: clear the queues and tokens and run the program from pc 0',
  frame_start: 'one-clock pulse from the chip\'s frame buffer: run PROG_LEN instructions from pc 0 on the frame it completed (as CONTROL.start)',
  mem_base: 'the MEM_BASE register (AXI address of MEM byte 0), for the chip\'s frame buffer',
  prog_len: 'program length in instructions, taken with start',
  host_rdata: 'host port: the MEM word at the previous clock\'s host_addr (registered read)',
  busy: 'status: the program runs',
  done: 'status: the program reached FINISH without a fault (cleared by start)',
  error: 'status: a fault stopped the machine (cleared by start)',
  error_pc: 'status: pc of the faulting instruction',
  error_cause: 'status: the fault\'s cause code (docs/accel-rtl.md, Faults)',
  cycles: 'status: clocks since start',
  ld_start_o: 'cycle accounting: the load unit starts an instruction this clock',
  ex_start_o: 'cycle accounting: the execute unit starts an instruction this clock',
  st_start_o: 'cycle accounting: the store unit starts an instruction this clock',
  ld_end_o: 'cycle accounting: the load unit finishes an instruction this clock',
  ex_end_o: 'cycle accounting: the execute unit finishes an instruction this clock',
  st_end_o: 'cycle accounting: the store unit finishes an instruction this clock',
  ld_pc_o: 'cycle accounting: pc of the load unit\'s instruction',
  ex_pc_o: 'cycle accounting: pc of the execute unit\'s instruction',
  st_pc_o: 'cycle accounting: pc of the store unit\'s instruction',
  s_tvalid: 'pixel stream in (AXI4-Stream, the stream contract): a beat is offered',
  s_tdata: 'pixel stream in: one pixel, channel c in bits [c*actBits +: actBits]',
  s_tuser: 'pixel stream in: the first pixel of a frame',
  s_tlast: 'pixel stream in: the last pixel of a row',
  s_tready: 'pixel stream in: the accelerator takes the beat (low while the input region holds a frame not yet run)',
  m_tvalid: 'result stream out (AXI4-Stream): a beat is offered',
  m_tdata: 'result stream out: one 32-bit score (two\'s complement, accumulator precision), then the class',
  m_tuser: 'result stream out: the first beat of a frame\'s results',
  m_tlast: 'result stream out: the last beat of a frame\'s results',
  m_tready: 'result stream out: the receiver takes the beat',
  frame_error: 'pixel stream in: a frame arrived with tuser/tlast out of place (sticky until reset)',
  in_frame_ready: 'pixel stream in: a complete frame is in the input region',
  irq: 'interrupt: an enabled cause in the interrupt status register (AXI4-Lite map, docs/accel-rtl.md)',
};

/**
 * The AXI ports (memory 'axi'): the master's to MEM and the AXI4-Lite slave's, each named by its interface,
 * channel and AXI signal (the AXI4 specification's meaning; the subset in docs/accel-rtl.md).
 */
const AXI_PORT_MEANINGS: Readonly<Record<string, string>> = (() => {
  const interfaces = { m_axi_: 'MEM over AXI4 (master, docs/accel-rtl.md "AXI4 master")', s_axil_: 'control over AXI4-Lite (slave, register map in docs/accel-rtl.md)' };
  const channels = { ar: 'read address', r: 'read data', aw: 'write address', w: 'write data', b: 'write response' };
  const signals = ['valid', 'ready', 'addr', 'len', 'size', 'burst', 'id', 'cache', 'prot', 'lock', 'data', 'strb', 'last', 'resp'];
  const out: Record<string, string> = {};
  for (const [prefix, iface] of Object.entries(interfaces)) {
    for (const [ch, channel] of Object.entries(channels)) for (const sig of signals) out[`${prefix}${ch}${sig}`] = `${iface}, ${channel} channel: ${(ch + sig).toUpperCase()}`;
  }
  return out;
})();

/** nOy * outW, the output pixels of a window instruction. */
function gemmLikePixels(nOy: Expr, outW: Expr): Expr {
  return nOy.mul(outW);
}

/** The padded width handed to the engine, kept in its range (a wider one faults before it matters). */
function checkedWidth(m: Module, wp: Expr, maxWidth: number): Expr {
  return m.wire('dw_width', mux(wp.ge(1).and(wp.le(maxWidth)), wp, 1).assume(1, maxWidth));
}
