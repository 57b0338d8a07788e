/**
 * The accelerator's AXI4-Lite control port (memory: 'axi'): the host starts runs, reads status, the error
 * with its faulting pc, the cycle and per-unit busy/stall counters, sets MEM's base address and interrupt
 * enables, and writes the program into the on-chip program RAM through a window. The register map is in
 * docs/accel-rtl.md ("AXI4-Lite registers"); CONTROL_REGS below is the one table both use.
 *
 * Built into the top module in two steps: `buildControlPort` first (its writes drive the program RAM,
 * start and the base address, which the units need), `connect` last (its reads need the status and the
 * counters the units produce).
 */
import { type Expr, type Module, type Reg, concat, constant, interval, mux, u } from '../../hdl/index.js';
import { PROGRAM_BASE, type RtlConfig } from './config.js';

/** Register byte offsets (32-bit registers). Documented in docs/accel-rtl.md. */
export const CONTROL_REGS = {
  /** W: bit 0 start (a run from pc 0 with PROG_LEN instructions); reads 0. */
  control: 0x00,
  /** R: bit 0 busy, bit 1 done, bit 2 error, bits 6:4 error cause (docs/accel-rtl.md "Faults"). */
  status: 0x04,
  /** R: the faulting program counter (valid with STATUS.error). */
  errorPc: 0x08,
  /** RW: bit 0 interrupt on done, bit 1 interrupt on error. */
  irqEnable: 0x0c,
  /** R/W1C: bit 0 done happened, bit 1 error happened; `irq` = |(IRQ_STATUS & IRQ_ENABLE). */
  irqStatus: 0x10,
  /** RW: instructions of the program (0 .. imemWords). */
  progLen: 0x14,
  /** RW: AXI4 address of MEM byte 0 (low log2(memPortBytes) bits read 0). */
  memBase: 0x18,
  /** R: clocks since start, while running (STATUS.busy). */
  cycles: 0x20,
  /** R: clocks the LD unit was busy with a LOAD / was stalled (busy and waiting for read data, or its head instruction waiting for a token). */
  ldBusy: 0x24,
  ldStall: 0x28,
  /** R: clocks the EX unit was busy / its head instruction waited for a token. */
  exBusy: 0x2c,
  exStall: 0x30,
  /** R: clocks the ST unit was busy / stalled (waiting for the write channel or responses, or a token). */
  stBusy: 0x34,
  stStall: 0x38,
  /** R: bits 7:0 array rows, 15:8 columns, 23:16 memPortBytes, 31:24 queue depth (for drivers). */
  config: 0x3c,
} as const;

/** Program word w, 32-bit part k, is written at PROGRAM_WINDOW + 16*w + 4*k (write only). */
export const PROGRAM_WINDOW = 0x1_0000;

/** Address bits of the AXI4-Lite port: the registers and the program window. */
export function controlAddrBits(c: RtlConfig): number {
  return Math.ceil(Math.log2(PROGRAM_WINDOW + 16 * c.imemWords));
}

export type CounterName = 'ldBusy' | 'ldStall' | 'exBusy' | 'exStall' | 'stBusy' | 'stStall';

export interface ControlStatus {
  readonly running: Expr;
  readonly done: Expr;
  readonly error: Expr;
  readonly errorPc: Expr;
  readonly errorCause: Expr;
  readonly cycles: Expr;
  /** One-clock events: the run finished / faulted (they set IRQ_STATUS). */
  readonly doneEvent: Expr;
  readonly errorEvent: Expr;
  /** Per clock while running: whether each counter counts. */
  readonly counters: Readonly<Record<CounterName, Expr>>;
}

export interface ControlPort {
  /** The program RAM's write port in the host-port address format (PROGRAM_BASE + 16*w + 4*k). */
  readonly hostWe: Expr;
  readonly hostAddr: Expr;
  readonly hostWdata: Expr;
  readonly start: Expr;
  readonly progLen: Expr;
  readonly memBase: Expr;
  connect(status: ControlStatus): void;
}

export function buildControlPort(m: Module, c: RtlConfig, rst: Expr): ControlPort {
  const A = controlAddrBits(c);
  const awvalid = m.input('s_axil_awvalid', u(1));
  const awaddr = m.input('s_axil_awaddr', u(A));
  const wvalid = m.input('s_axil_wvalid', u(1));
  const wdata = m.input('s_axil_wdata', u(32));
  const wstrb = m.input('s_axil_wstrb', u(4));
  const bready = m.input('s_axil_bready', u(1));
  const arvalid = m.input('s_axil_arvalid', u(1));
  const araddr = m.input('s_axil_araddr', u(A));
  const rready = m.input('s_axil_rready', u(1));

  // A write takes its address and data together (AWREADY = WREADY, both waiting for both valids) and
  // answers one clock later; a second write waits until the response is taken.
  const bvalid = m.reg('ctl_bvalid', u(1), { reset: rst });
  const wfire = m.wire('ctl_write', awvalid.and(wvalid).and(bvalid.not()));
  bvalid.next(mux(wfire, 1, mux(bready, 0, bvalid)));
  m.output('s_axil_awready', wfire);
  m.output('s_axil_wready', wfire);
  m.output('s_axil_bvalid', bvalid);
  m.output('s_axil_bresp', u(2), constant(0));
  // Registers take whole words only (every strobe set); the program window likewise.
  const full = wfire.and(wstrb.eq(15));
  const at = (offset: number): Expr => full.and(awaddr.eq(offset));
  const inProgram = full.and(awaddr.ge(PROGRAM_WINDOW));

  const beatShift = Math.log2(c.memPortBytes);
  const progLen = m.reg('ctl_prog_len', interval(0, c.imemWords), { reset: rst });
  progLen.next(mux(at(CONTROL_REGS.progLen), wdata.clamp(0, c.imemWords), progLen));
  const memBase = m.reg('ctl_mem_base', u(32 - beatShift), { reset: rst });
  memBase.next(mux(at(CONTROL_REGS.memBase), wdata.slice(31, beatShift), memBase));
  const irqEnable = m.reg('ctl_irq_enable', u(2), { reset: rst });
  irqEnable.next(mux(at(CONTROL_REGS.irqEnable), wdata.slice(1, 0), irqEnable));
  const irqStatus = m.reg('ctl_irq_status', u(2), { reset: rst });

  const memBaseBytes = m.wire('ctl_mem_base_bytes', memBase.shl(beatShift).resize(32, { wrap: true, signed: false }));
  const startPulse = m.wire('ctl_start', at(CONTROL_REGS.control).and(wdata.bit(0)));
  const programOffset = awaddr.sub(PROGRAM_WINDOW).assume(0, 2 ** A - 1 - PROGRAM_WINDOW);
  let connected = false;
  return {
    hostWe: m.wire('ctl_prog_we', inProgram),
    hostAddr: m.wire('ctl_prog_addr', constant(PROGRAM_BASE).add(programOffset).truncate(32)),
    hostWdata: wdata,
    start: startPulse,
    progLen,
    memBase: memBaseBytes,
    connect(s: ControlStatus): void {
      if (connected) throw new Error('control port connected twice');
      connected = true;
      // IRQ_STATUS: set by the events, cleared by writing ones (an event in the same clock wins).
      const clearBits = mux(at(CONTROL_REGS.irqStatus), wdata.slice(1, 0), 0);
      const events = concat(s.errorEvent, s.doneEvent);
      irqStatus.next(irqStatus.and(clearBits.not()).or(events));
      m.output('irq', irqStatus.and(irqEnable).ne(0));

      const counters = Object.fromEntries(
        (Object.keys(s.counters) as CounterName[]).map((k) => {
          const r: Reg = m.reg(`ctl_${k.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)}`, u(32), { reset: rst });
          r.next(mux(startPulse, 0, mux(s.running.and(s.counters[k]), r.add(1).truncate(32), r)));
          return [k, r];
        }),
      ) as Record<CounterName, Reg>;

      const word = (e: Expr): Expr => e.resize(32, { wrap: true, signed: false });
      const status = concat(s.errorCause.resize(3, { wrap: true, signed: false }), constant(0), s.error, s.done, s.running);
      const configWord = (c.rows & 0xff) | ((c.cols & 0xff) << 8) | ((c.memPortBytes & 0xff) << 16) | ((c.queueDepth & 0xff) << 24);
      const table: Array<[number, Expr]> = [
        [CONTROL_REGS.status, status],
        [CONTROL_REGS.errorPc, s.errorPc],
        [CONTROL_REGS.irqEnable, irqEnable],
        [CONTROL_REGS.irqStatus, irqStatus],
        [CONTROL_REGS.progLen, progLen],
        [CONTROL_REGS.memBase, memBaseBytes],
        [CONTROL_REGS.cycles, s.cycles],
        ...(Object.keys(counters) as CounterName[]).map((k): [number, Expr] => [CONTROL_REGS[k], counters[k]]),
        [CONTROL_REGS.config, constant(configWord >>> 0)],
      ];
      // One read in flight: ARREADY while no data waits; the word is the register at the address taken.
      const rvalid = m.reg('ctl_rvalid', u(1), { reset: rst });
      const arfire = m.wire('ctl_read', arvalid.and(rvalid.not()));
      rvalid.next(mux(arfire, 1, mux(rready, 0, rvalid)));
      let value: Expr = constant(0);
      for (const [offset, e] of table) value = mux(araddr.eq(offset), word(e), value);
      const rdata = m.reg('ctl_rdata', u(32), { enable: arfire }).next(value);
      m.output('s_axil_arready', arfire);
      m.output('s_axil_rvalid', rvalid);
      m.output('s_axil_rdata', rdata);
      m.output('s_axil_rresp', u(2), constant(0));
    },
  };
}
