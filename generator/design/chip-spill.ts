/**
 * The chip's frame buffer spilled over AXI (frame buffer 'axi'): where the tensor crossing the cut does not
 * fit the on-chip frame FIFO (chip.ts FRAME_FIFO_MAX_BITS), or on request (`--accel-mem axi` with K > 0),
 * the accelerator keeps MEM off chip behind its AXI4 master, and the fixed part's output stream is written
 * into DRAM through that same master port, into two frame slots:
 *
 *   slot 0 = MEM_BASE + inAddr            (the program's own input region)
 *   slot 1 = slot 0 + SLOT_STRIDE         (the same bytes one MEM size further: outside MEM)
 *
 * Frame n goes to slot n mod 2 while the accelerator runs frame n-1 from the other slot, so the chip's
 * frame period stays the slower side's. The program is the one the compiler emits for the input region:
 * while a run reads slot 1, this block moves the run's AXI reads that fall in the input region (the
 * program's input LOADs) by SLOT_STRIDE. A 4 KB-aligned SLOT_STRIDE keeps every moved burst inside its page.
 *
 * Inside (`fixynn_chip_spill`):
 * - the pixel (streamBlocks x C lanes of 8 bits: the ACT rows the program's input holds per pixel) cut
 *   into MEM port beats, into a beat FIFO of two bursts; the framing (tuser, tlast) checked per pixel;
 * - a writer: one frame = `frameBeats` beats from its slot's base, split into INCR bursts by the
 *   accelerator's burst sequencer (never across 4 KB, at most maxOutstanding awaiting B); an AW is offered
 *   only when the FIFO holds all of its beats, so the write channel is never held waiting for pixels;
 * - the write arbiter: the accelerator's STORE bursts and the writer's share AW/W, one burst at a time
 *   (AW, then its W beats, then the next grant, alternating when both wait); a tag FIFO routes each B
 *   (in order: one AXI ID) to its master; reads are the accelerator's alone;
 * - the slots: a slot is written only when it holds no frame waiting and no run reads it; a frame is
 *   complete when its last write response arrived; a run starts (the accelerator's `frame_start`, PROG_LEN
 *   instructions) on the oldest complete frame once the accelerator is idle. The fixed part stalls
 *   (its m_tready low) while the FIFO is full, so no frame is lost or overwritten.
 */
import type { CompiledProgram } from '../accel/index.js';
import { rowBytes } from '../accel/config.js';
import { badInput } from '../common/errors.js';
import { AXI_ADDR_BITS, burstSequencer } from '../accel/rtl/axi-master.js';
import { DEFAULT_AXI, type RtlConfig } from '../accel/rtl/config.js';
import { skipFifoModule } from '../ffe/residual.js';
import { type Expr, Module, concat, constant, interval, mux, select, u } from '../hdl/index.js';

export const SPILL_MODULE = 'fixynn_chip_spill';
/** Bytes between the two frame slots: MEM's size rounded up to 4 KB (slot 1 lies past MEM, page-aligned with slot 0). */
export function slotStride(memBytes: number): number {
  return Math.ceil(memBytes / 4096) * 4096;
}

/**
 * What the address move relies on, checked on a program (at generate and before a run of another task's
 * program): no STORE writes the input region (the writer fills the other slot meanwhile), and every line of a
 * LOAD lies wholly inside the input region or wholly outside it (a burst is moved whole). The compiler's MEM
 * image is a bump allocator, so the input region is the input's alone; this says so for every program.
 */
export function checkSpillProgram(compiled: CompiledProgram, frameBytes: number, streamBlocks: number): void {
  // The writer's frame is the RTL's (streamBlocks ACT rows per pixel); the program's input region must be that frame.
  if (compiled.layout.input.blocks !== streamBlocks) throw badInput(`the program's input has ${compiled.layout.input.blocks} ACT row(s) per pixel, the chip's frame buffer over AXI writes ${streamBlocks}: not a program for this chip's cut`);
  const lo = compiled.layout.input.addr;
  const hi = lo + frameBytes;
  compiled.program.forEach((ins, pc) => {
    if (ins.op !== 'load' && ins.op !== 'store') return;
    const lineBytes = ins.xSize * rowBytes(compiled.config, (['act', 'wgt', 'qp', 'acc'] as const)[ins.mem] ?? 'act');
    for (let y = 0; y < ins.ySize; y++) {
      const a = ins.memAddr + y * ins.memStride;
      const overlaps = a < hi && a + lineBytes > lo;
      const inside = a >= lo && a + lineBytes <= hi;
      if (overlaps && (ins.op === 'store' || !inside)) {
        throw new Error(`internal: the frame buffer over AXI needs the input region [${lo}, ${hi}) read whole by LOADs and never stored to; pc ${pc} (${ins.op}) touches bytes ${a}..${a + lineBytes - 1}`);
      }
    }
  });
}

export interface SpillGeometry {
  readonly width: number;
  readonly height: number;
  /** MEM port beats per pixel (the pixel's ACT rows). */
  readonly beatsPerPixel: number;
}

/** The write channel of one AXI4 master (as the accelerator drives it). */
interface WriteMaster {
  readonly awvalid: Expr;
  readonly awaddr: Expr;
  readonly awlen: Expr;
  readonly wvalid: Expr;
  readonly wdata: Expr;
  readonly wlast: Expr;
}

export function buildSpillModule(c: RtlConfig, g: SpillGeometry): Module {
  const axi = c.axi ?? DEFAULT_AXI;
  const beatBits = 8 * c.memPortBytes;
  const pixelBits = g.beatsPerPixel * beatBits;
  const frameBeats = g.width * g.height * g.beatsPerPixel;
  const stride = slotStride(c.memBytes);
  const m = new Module(SPILL_MODULE, {
    description: `the chip's frame buffer over AXI: ${g.height}x${g.width} pixels of ${g.beatsPerPixel} beat(s) written into two DRAM frame slots ${stride} bytes apart through the accelerator's AXI4 master (write arbiter, B routing, the input region's reads moved to the slot a run reads), runs started per complete frame`,
  });
  m.addClock();
  const rst = m.input('rst', u(1));
  const sValid = m.input('s_tvalid', u(1));
  const sData = m.input('s_tdata', u(pixelBits));
  const sUser = m.input('s_tuser', u(1));
  const sLast = m.input('s_tlast', u(1));
  const inAddr = m.input('in_addr', u(AXI_ADDR_BITS));
  const memBase = m.input('mem_base', u(AXI_ADDR_BITS));
  const busy = m.input('accel_busy', u(1));
  const accelError = m.input('accel_error', u(1));
  // The accelerator's AXI4 master (its write channel is arbitrated, its reads moved per slot).
  const a: WriteMaster & { araddr: Expr } = {
    araddr: m.input('a_araddr', u(AXI_ADDR_BITS)),
    awvalid: m.input('a_awvalid', u(1)), awaddr: m.input('a_awaddr', u(AXI_ADDR_BITS)), awlen: m.input('a_awlen', u(8)),
    wvalid: m.input('a_wvalid', u(1)), wdata: m.input('a_wdata', u(beatBits)), wlast: m.input('a_wlast', u(1)),
  };
  // The memory's side.
  const awready = m.input('m_axi_awready', u(1));
  const wready = m.input('m_axi_wready', u(1));
  const bvalid = m.input('m_axi_bvalid', u(1));
  const bresp = m.input('m_axi_bresp', u(2));

  // ==== pixels into beats, framing ===========================================================================
  const fifo = skipFifoModule(`${SPILL_MODULE}_beats`, { channels: 1, height: 1, width: 1, type: { bits: beatBits, signed: false } }, 2 * axi.maxBurst);
  const fifoReady = m.wire('fifo_s_tready', u(1));
  const beatOfPixel = m.reg('pixel_beat', interval(0, g.beatsPerPixel - 1), { reset: rst });
  const lastBeat = beatOfPixel.eq(g.beatsPerPixel - 1);
  const push = m.wire('fifo_push', sValid.and(fifoReady));
  beatOfPixel.next(mux(push, mux(lastBeat, 0, beatOfPixel.add(1)), beatOfPixel).assume(0, g.beatsPerPixel - 1));
  const pixelTaken = push.and(lastBeat);
  const beatData = g.beatsPerPixel === 1 ? sData : select(beatOfPixel, Array.from({ length: g.beatsPerPixel }, (_, k) => sData.slice((k + 1) * beatBits - 1, k * beatBits)));
  const column = m.reg('pixel_x', interval(0, g.width - 1), { reset: rst });
  const rowIndex = m.reg('pixel_y', interval(0, g.height - 1), { reset: rst });
  const rowEnd = column.eq(g.width - 1);
  const frameEnd = rowEnd.and(rowIndex.eq(g.height - 1));
  column.next(mux(pixelTaken, mux(rowEnd, 0, column.add(1)), column).assume(0, g.width - 1));
  rowIndex.next(mux(pixelTaken.and(rowEnd), mux(frameEnd, 0, rowIndex.add(1)), rowIndex).assume(0, g.height - 1));
  const misframed = pixelTaken.and(sUser.ne(column.eq(0).and(rowIndex.eq(0))).or(sLast.ne(rowEnd)));
  const frameError = m.reg('framing_error', u(1), { reset: rst });
  frameError.next(frameError.or(misframed));

  // ==== slots and runs ======================================================================================
  const wrSlot = m.reg('wr_slot', u(1), { reset: rst });
  const wrActive = m.reg('wr_active', u(1), { reset: rst });
  const full = [m.reg('slot0_full', u(1), { reset: rst }), m.reg('slot1_full', u(1), { reset: rst })] as const;
  const runActive = m.reg('run_active', u(1), { reset: rst });
  const runSlot = m.reg('run_slot', u(1), { reset: rst });
  const rdSlot = m.reg('rd_slot', u(1), { reset: rst });
  const readBy = (s: number): Expr => runActive.and(runSlot.eq(s));
  const slotFree = mux(wrSlot, full[1].not().and(readBy(1).not()), full[0].not().and(readBy(0).not()));
  // A frame's slot address is taken with its first beat (the host sets MEM_BASE and in_addr before pixels flow).
  const fifoBeats = m.reg('fifo_beats', interval(0, 2 * axi.maxBurst + 2), { reset: rst });
  const wrBegin = m.wire('wr_begin', wrActive.not().and(slotFree).and(fifoBeats.ne(0)));
  const wrBeginD = m.pipe('wr_begin_d', wrBegin, { reset: rst });
  const slot0 = m.wire('slot0_addr', memBase.add(inAddr).truncate(AXI_ADDR_BITS));
  const slotBase = mux(wrSlot, slot0.add(stride).truncate(AXI_ADDR_BITS), slot0);

  // ==== the writer: AW bursts of the frame, W beats from the FIFO ==========================================
  const sGrantAw = m.wire('s_awready', u(1));
  const sGrantW = m.wire('s_wready', u(1));
  const sB = m.wire('s_bvalid', u(1));
  const sWLen = m.wire('s_wlen', u(8));
  const sWBeat = m.reg('s_w_beat', interval(0, 255), { reset: rst });
  const sWLast = m.wire('s_wlast', sWBeat.eq(sWLen));
  const fifoOut = m.instance('u_beats', fifo.module, { rst, s_tvalid: push, s_tdata: beatData, m_tready: sGrantW });
  fifoReady.drive(fifoOut.out('s_tready'));
  const sWFire = fifoOut.out('m_tvalid').and(sGrantW);
  const sWBurstEnd = sWFire.and(sWLast);
  sWBeat.next(mux(sWFire, mux(sWLast, 0, sWBeat.add(1)), sWBeat).assume(0, 255));
  const block = { reset: rst, start: wrBegin, base: slotBase, stride: constant(0), lines: constant(1), lineBeats: constant(frameBeats) };
  const aw = burstSequencer(m, 'wr_aw_bursts', c, { ...block, ready: sGrantAw, retire: sB });
  const wSide = burstSequencer(m, 'wr_w_bursts', c, { ...block, ready: sWBurstEnd, retire: sWBurstEnd });
  sWLen.drive(wSide.len);
  // Beats in the FIFO not yet promised to an accepted AW: an AW is offered only when they cover its burst.
  const owed = m.reg('w_owed', interval(0, 2 * axi.maxBurst + 2), { reset: rst });
  const sAwFire = aw.valid.and(sGrantAw);
  const burstBeats = aw.len.add(1);
  const covered = fifoBeats.sub(owed).ge(burstBeats);
  fifoBeats.next(fifoBeats.add(push).sub(sWFire).assume(0, 2 * axi.maxBurst + 2));
  owed.next(owed.add(mux(sAwFire, burstBeats, 0)).sub(sWFire).assume(0, 2 * axi.maxBurst + 2));
  const s: WriteMaster = { awvalid: m.wire('s_awvalid', aw.valid.and(covered)), awaddr: aw.addr, awlen: aw.len, wvalid: fifoOut.out('m_tvalid'), wdata: fifoOut.out('m_tdata'), wlast: sWLast };

  const wrComplete = m.wire('wr_complete', wrActive.and(wrBeginD.not()).and(aw.idle));
  wrActive.next(mux(wrBegin, 1, mux(wrComplete, 0, wrActive)));
  wrSlot.next(mux(wrComplete, wrSlot.not(), wrSlot));
  const runGo = m.wire('run_go', runActive.not().and(accelError.not()).and(mux(rdSlot, full[1], full[0])));
  const runGoD = m.pipe('run_go_d', runGo, { reset: rst });
  const runEnd = runActive.and(runGoD.not()).and(busy.not());
  full.forEach((f, k) => f.next(mux(wrComplete.and(wrSlot.eq(k)), 1, mux(runGo.and(rdSlot.eq(k)), 0, f))));
  runActive.next(mux(runGo, 1, mux(runEnd, 0, runActive)));
  runSlot.next(mux(runGo, rdSlot, runSlot));
  rdSlot.next(mux(runGo, rdSlot.not(), rdSlot));

  // ==== the write arbiter: one burst (AW, then its W beats) at a time ======================================
  const granted = m.reg('wa_busy', u(1), { reset: rst });
  const owner = m.reg('wa_owner', u(1), { reset: rst }); // 0: the accelerator, 1: the writer
  const awDone = m.reg('wa_aw_done', u(1), { reset: rst });
  const lastOwner = m.reg('wa_last_owner', u(1), { reset: rst });
  // Both waiting: the one not served last (so neither waits more than one burst of the other).
  const pick = mux(a.awvalid.and(s.awvalid), lastOwner.not(), s.awvalid);
  const grant = granted.not().and(a.awvalid.or(s.awvalid));
  const of = (e: (x: WriteMaster) => Expr): Expr => mux(owner, e(s), e(a));
  const mAwValid = granted.and(awDone.not()).and(of((x) => x.awvalid));
  const mWValid = granted.and(awDone).and(of((x) => x.wvalid));
  const awFire = mAwValid.and(awready);
  const wFire = mWValid.and(wready);
  const burstDone = wFire.and(of((x) => x.wlast));
  granted.next(mux(grant, 1, mux(burstDone, 0, granted)));
  owner.next(mux(grant, pick, owner));
  lastOwner.next(mux(grant, pick, lastOwner));
  awDone.next(mux(awFire, 1, mux(burstDone, 0, awDone)));
  sGrantAw.drive(awFire.and(owner));
  sGrantW.drive(granted.and(awDone).and(owner).and(wready));
  // B in order (one ID): the owner of each accepted AW, oldest first.
  const tagDepth = 2 * axi.maxOutstanding;
  const tagBits = Math.log2(tagDepth);
  const tags = m.reg('b_tags', u(tagDepth), { reset: rst });
  const tagIn = m.reg('b_tag_wp', u(tagBits), { reset: rst });
  const tagOut = m.reg('b_tag_rp', u(tagBits), { reset: rst });
  tags.next(concat(...Array.from({ length: tagDepth }, (_, i) => mux(awFire.and(tagIn.eq(i)), owner, tags.bit(i))).reverse()));
  tagIn.next(mux(awFire, tagIn.add(1).truncate(tagBits), tagIn));
  tagOut.next(mux(bvalid, tagOut.add(1).truncate(tagBits), tagOut));
  const bOwner = select(tagOut, Array.from({ length: tagDepth }, (_, i) => tags.bit(i)));
  sB.drive(bvalid.and(bOwner));
  const writeError = m.reg('b_error', u(1), { reset: rst });
  writeError.next(writeError.or(sB.and(bresp.ne(0))));

  // ==== reads: the input region moved to slot 1 while a run reads it ==========================================
  const inRegion = a.araddr.ge(slot0).and(a.araddr.lt(slot0.add(frameBeats * c.memPortBytes)));
  const moved = a.araddr.add(stride).truncate(AXI_ADDR_BITS);

  m.output('s_tready', fifoReady.and(lastBeat));
  m.output('frame_start', runGo);
  m.output('a_awready', awFire.and(owner.not()));
  m.output('a_wready', granted.and(awDone).and(owner.not()).and(wready));
  m.output('a_bvalid', bvalid.and(bOwner.not()));
  m.output('m_axi_araddr', mux(runSlot.and(inRegion), moved, a.araddr));
  m.output('m_axi_awvalid', mAwValid);
  m.output('m_axi_awaddr', of((x) => x.awaddr));
  m.output('m_axi_awlen', u(8), of((x) => x.awlen));
  m.output('m_axi_wvalid', mWValid);
  m.output('m_axi_wdata', of((x) => x.wdata));
  m.output('m_axi_wlast', of((x) => x.wlast));
  m.output('frame_error', frameError);
  m.output('write_error', writeError);
  m.output('slots_full', concat(full[1], full[0]));
  return m.describePorts(SPILL_PORT_MEANINGS);
}

const SPILL_PORT_MEANINGS: Readonly<Record<string, string>> = {
  clk: 'clock', rst: 'synchronous reset, active high',
  s_tvalid: 'pixel stream from the fixed part (lanes as the accelerator\'s ACT rows): a beat is offered',
  s_tdata: 'pixel stream: the pixel\'s ACT rows, lane l in bits [8l +: 8]', s_tuser: 'pixel stream: first pixel of a frame', s_tlast: 'pixel stream: last pixel of a row',
  s_tready: 'pixel stream: the pixel is taken (low while the beat FIFO is full: the fixed part stalls)',
  in_addr: 'MEM byte address of the program\'s input region (slot 0 = MEM_BASE + in_addr)', mem_base: 'the accelerator\'s MEM_BASE register',
  accel_busy: 'the accelerator runs a program', accel_error: 'the accelerator stopped on a fault (no further runs start)',
  frame_start: 'start the program on the oldest complete frame (one clock)',
  frame_error: 'a pixel arrived with tuser/tlast out of place (sticky until reset)', write_error: 'a frame write got a non-OKAY response (sticky)',
  slots_full: 'bit s: slot s holds a complete frame not yet run',
};
