/**
 * The accelerator's AXI4 master (memory: 'axi'): MEM moves off chip, and LOAD reads / STORE writes it
 * through one AXI4 port. docs/accel-rtl.md ("AXI4 master") documents the subset:
 *
 * - INCR bursts only (ARBURST/AWBURST = 1), full-width beats (AxSIZE = log2(memPortBytes), WSTRB all
 *   ones), at most `maxBurst` beats, never crossing a 4 KB boundary; one ID (0), so responses come back
 *   in order and need no reorder buffer.
 * - Up to `maxOutstanding` read bursts in flight (the LD unit's next bursts are requested while the
 *   previous ones' data arrive), and as many write bursts awaiting their response.
 * - W beats of a burst are sent only after its AW (the subset forbids write data before its address,
 *   which many slaves and interconnects do not accept either).
 * - STORE completes (and pushes its token) when every write response of it has arrived, so a LOAD that
 *   waits for that token reads what was written (spills through DRAM are safe).
 *
 * A LOAD/STORE is a 2-D block: `lines` groups of `lineBeats` contiguous beats, `stride` bytes apart
 * (docs/isa.md). `buildBurstSequencer` turns one such block into bursts; the read side, the write address
 * side and the write data side (WLAST) each run one copy, so all three see the same burst sequence
 * without a FIFO of burst lengths between them.
 */
import { type Expr, Module, concat, constant, interval, mux, u } from '../../hdl/index.js';
import { type AxiParams, DEFAULT_AXI, type RtlConfig } from './config.js';

/** Address bits of the AXI4 master (MEM_BASE + a MEM byte address, wrapping at 2^32). */
export const AXI_ADDR_BITS = 32;
/** Bytes of one 4 KB page: AXI4 forbids a burst crossing it. */
const PAGE = 4096;

export interface BurstLimits {
  /** Bytes of a beat (the data bus width / 8, = memPortBytes). */
  readonly beatBytes: number;
  /** Largest `lines` and `lineBeats` a block can have (from the ISA fields). */
  readonly maxLines: number;
  readonly maxLineBeats: number;
  readonly maxStride: number;
}

/**
 * A child module that splits one 2-D block into AXI4 INCR bursts. `start` (with base, stride, lines,
 * line_beats) begins a block; `valid`/`addr`/`len` present the next burst while fewer than
 * maxOutstanding are in flight (valid depends on registers only, as AXI4 requires of a VALID); the burst
 * is taken in a clock with `ready`; `retire` says one in flight finished. `idle` is 1 when the block is
 * fully issued and nothing is in flight.
 */
export function buildBurstSequencer(name: string, lim: BurstLimits, axi: AxiParams): Module {
  const m = new Module(name, {
    description: `splits a 2-D block (lines of contiguous ${lim.beatBytes}-byte beats) into AXI4 INCR bursts of at most ${axi.maxBurst} beats that never cross 4 KB; at most ${axi.maxOutstanding} in flight`,
  });
  m.addClock();
  const rst = m.input('rst', u(1));
  const start = m.input('start', u(1));
  const base = m.input('base', u(AXI_ADDR_BITS));
  const stride = m.input('stride', interval(0, lim.maxStride));
  const lines = m.input('lines', interval(0, lim.maxLines));
  const lineBeats = m.input('line_beats', interval(0, lim.maxLineBeats));
  const ready = m.input('ready', u(1));
  const retire = m.input('retire', u(1));

  const active = m.reg('active', u(1), { reset: rst });
  const lineAddr = m.reg('line_addr', u(AXI_ADDR_BITS), { reset: rst });
  const addr = m.reg('burst_addr', u(AXI_ADDR_BITS), { reset: rst });
  const remaining = m.reg('remaining', interval(0, lim.maxLineBeats), { reset: rst });
  const linesLeft = m.reg('lines_left', interval(0, lim.maxLines), { reset: rst });
  const outstanding = m.reg('outstanding', interval(0, axi.maxOutstanding), { reset: rst });
  const valid = m.wire('burst_valid', active.and(outstanding.lt(axi.maxOutstanding)));
  const issue = m.wire('burst_issue', valid.and(ready));

  const beatShift = Math.log2(lim.beatBytes);
  const pageBeats = PAGE / lim.beatBytes;
  // Beats left before the 4 KB boundary: addresses are beat-aligned (LOAD/STORE fault otherwise), so the
  // byte offset in the page divides exactly.
  const toPage = constant(pageBeats).sub(addr.slice(11, beatShift)).assume(1, pageBeats);
  const minOf = (a: Expr, b: Expr): Expr => mux(a.lt(b), a, b);
  const beats = m.wire('burst_beats', minOf(minOf(remaining, toPage), constant(axi.maxBurst)).clamp(1, Math.min(axi.maxBurst, pageBeats)));
  const lineEnds = remaining.eq(beats);
  const lastBurst = lineEnds.and(linesLeft.eq(1));
  const nextLine = lineAddr.add(stride).truncate(AXI_ADDR_BITS);

  active.next(mux(start, lines.ne(0).and(lineBeats.ne(0)), mux(issue.and(lastBurst), 0, active)));
  lineAddr.next(mux(start, base, mux(issue.and(lineEnds), nextLine, lineAddr)));
  addr.next(mux(start, base, mux(issue, mux(lineEnds, nextLine, addr.add(beats.shl(beatShift)).truncate(AXI_ADDR_BITS)), addr)));
  remaining.next(mux(start, lineBeats, mux(issue, mux(lineEnds, lineBeats, remaining.sub(beats)), remaining)).assume(0, lim.maxLineBeats));
  linesLeft.next(mux(start, lines, mux(issue.and(lineEnds), linesLeft.sub(1), linesLeft)).assume(0, lim.maxLines));
  outstanding.next(outstanding.add(issue).sub(retire).assume(0, axi.maxOutstanding));

  m.output('valid', valid);
  m.output('addr', addr);
  m.output('len', u(8), beats.sub(1));
  m.output('idle', active.not().and(outstanding.eq(0)));
  return m;
}

/** AxSIZE for a beat of `beatBytes`. */
export function axiSize(beatBytes: number): number {
  return Math.log2(beatBytes);
}

/** The constant AR/AW attributes of the subset: INCR, full-width beats, ID 0, normal non-cacheable bufferable. */
export function axiConstantFields(beatBytes: number): Record<string, { bits: number; value: number }> {
  return {
    size: { bits: 3, value: axiSize(beatBytes) },
    burst: { bits: 2, value: 1 },
    id: { bits: 1, value: 0 },
    cache: { bits: 4, value: 3 },
    prot: { bits: 3, value: 0 },
    lock: { bits: 1, value: 0 },
  };
}

/** Drives the constant AXI attributes of one address channel ('ar' or 'aw') as outputs of the top. */
export function outputConstantFields(m: Module, channel: 'ar' | 'aw', beatBytes: number): void {
  for (const [f, { bits, value }] of Object.entries(axiConstantFields(beatBytes))) m.output(`m_axi_${channel}${f}`, u(bits), constant(value));
}

/** All-ones write strobes of a full beat. */
export function fullStrobe(beatBytes: number): Expr {
  return concat(...Array.from({ length: beatBytes }, () => constant(1)));
}

/** The master's inputs from the slave (the top's AXI4 ports that LD/ST read). */
export interface AxiInputs {
  readonly arready: Expr;
  readonly rvalid: Expr;
  readonly rdata: Expr;
  readonly rresp: Expr;
  readonly rlast: Expr;
  readonly awready: Expr;
  readonly wready: Expr;
  readonly bvalid: Expr;
  readonly bresp: Expr;
}

/**
 * The AXI4 master's input ports on the top (`m_axi_*`). RID/BID are absent: the master uses one ID, so
 * responses arrive in order and an integrator ties them off.
 */
export function axiMasterPorts(m: Module, beatBits: number): AxiInputs {
  return {
    arready: m.input('m_axi_arready', u(1)),
    rvalid: m.input('m_axi_rvalid', u(1)),
    rdata: m.input('m_axi_rdata', u(beatBits)),
    rresp: m.input('m_axi_rresp', u(2)),
    rlast: m.input('m_axi_rlast', u(1)),
    awready: m.input('m_axi_awready', u(1)),
    wready: m.input('m_axi_wready', u(1)),
    bvalid: m.input('m_axi_bvalid', u(1)),
    bresp: m.input('m_axi_bresp', u(2)),
  };
}

const sequencerModules = new WeakMap<Module, Module>();

/**
 * An instance of the burst sequencer in `m` (one child module per top, shared by every instance). The
 * block's limits come from the ISA fields connected (LOAD and STORE have the same widths).
 */
export function burstSequencer(
  m: Module,
  name: string,
  c: RtlConfig,
  conn: { reset: Expr; start: Expr; base: Expr; stride: Expr; lines: Expr; lineBeats: Expr; ready: Expr; retire: Expr },
): { valid: Expr; addr: Expr; len: Expr; idle: Expr } {
  let child = sequencerModules.get(m);
  if (child === undefined) {
    child = buildBurstSequencer(`${m.name}_axi_bursts`, {
      beatBytes: c.memPortBytes,
      maxLines: Number(conn.lines.range.max),
      maxLineBeats: Number(conn.lineBeats.range.max),
      maxStride: Number(conn.stride.range.max),
    }, c.axi ?? DEFAULT_AXI);
    sequencerModules.set(m, child);
  }
  const inst = m.instance(name, child, {
    rst: conn.reset,
    start: conn.start,
    base: conn.base,
    stride: conn.stride,
    lines: conn.lines,
    line_beats: conn.lineBeats,
    ready: conn.ready,
    retire: conn.retire,
  });
  return { valid: inst.out('valid'), addr: inst.out('addr'), len: inst.out('len'), idle: inst.out('idle') };
}
