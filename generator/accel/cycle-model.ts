/**
 * The analytic cycle model: replays the actual program (not a formula per layer) on the timing model of
 * docs/isa.md §6 — fetch one instruction per cycle into bounded queues, three in-order units, token
 * counters between them, each instruction taking its cost from the one table in costs.ts — and reports
 * per instruction, per layer and per unit: cycles, busy cycles, MACs and utilization.
 */
import type { LayerInfo } from './compile.js';
import { type AccelConfig, peakMacs, rowBytes } from './config.js';
import { COST, dwconvSchedule, firstBeatDelay, type Geometry, instructionCycles, type MemoryModel, memoryOf, transferBytes } from './costs.js';
import { type Instruction, MEMORY_IDS, queueOf, type Queue } from './isa.js';

export interface InstructionTiming {
  /** Cycle the instruction entered its queue. */
  readonly fetch: number;
  /** First cycle it occupies its unit (its tokens popped). */
  readonly start: number;
  /** start + cost: the cycle its pushed tokens become visible and its unit is free. */
  readonly end: number;
}

export interface LayerCycles {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  /** From the start of the layer's first compute instruction to the end of its last instruction. */
  readonly cycles: number;
  readonly first: number;
  readonly last: number;
  /** Busy cycles of each unit on this layer's instructions. */
  readonly busy: Readonly<Record<Queue, number>>;
  readonly macs: number;
  readonly macsPerCycle: number;
  /** macs / (peak * cycles), peak = the array's R*C for conv/gemm, the depthwise engine's lanes*dwTaps for depthwise. */
  readonly utilization: number;
  readonly instructions: number;
  /** Bytes the layer's LOADs and STOREs move (weights, QP, activation bands and spills, outputs). */
  readonly bytes: { readonly load: number; readonly store: number };
}

export interface CycleReport {
  readonly total: number;
  readonly timings: readonly InstructionTiming[];
  readonly busy: Readonly<Record<Queue, number>>;
  readonly layers: readonly LayerCycles[];
  readonly macs: number;
  readonly utilization: number;
  /** The memory the LOAD/STORE costs assumed. */
  readonly memory: MemoryModel;
  readonly bytes: { readonly load: number; readonly store: number };
}

export interface ReplayOptions {
  /** LOAD/STORE timing (default: the configuration's port, exact for the on-chip RTL; REFERENCE_MEMORY for issue 12's figures). */
  readonly memory?: MemoryModel;
}

type Counter = 'l2e' | 'e2l' | 'e2s' | 's2e';
const QUEUES: readonly Queue[] = ['ld', 'ex', 'st'];
const ROUND: readonly Queue[] = ['ex', 'st', 'ld'];

function pops(q: Queue, ins: Instruction): Counter[] {
  const out: Counter[] = [];
  if (ins.deps.popPrev) out.push(q === 'ex' ? 'l2e' : 'e2s');
  if (ins.deps.popNext) out.push(q === 'ld' ? 'e2l' : 's2e');
  return out;
}

function pushes(q: Queue, ins: Instruction): Counter[] {
  const out: Counter[] = [];
  if (ins.deps.pushPrev) out.push(q === 'ex' ? 'e2l' : 's2e');
  if (ins.deps.pushNext) out.push(q === 'ld' ? 'l2e' : 'e2s');
  return out;
}

const NO_GEOMETRY: Geometry = { inH: 1, inW: 1, outW: 1, kh: 1, kw: 1, strideY: 1, strideX: 1, padTop: 0, padLeft: 0, cbIn: 1, cbOut: 1 };

/**
 * A memory as the accelerator sees it: at most one beat of the MEM port (the AXI4 data bus, memPortBytes)
 * per cycle, however fast the memory (an 8x8 chip's 8-byte bus halves the reference memory's 16 B/cycle).
 */
function throughPort(memory: MemoryModel, config: AccelConfig): MemoryModel {
  return { ...memory, bytesPerCycle: Math.min(memory.bytesPerCycle, config.memPortBytes) };
}

export function replayCycles(config: AccelConfig, program: readonly Instruction[], layers: readonly LayerInfo[] = [], options: ReplayOptions = {}): CycleReport {
  const memory = throughPort(options.memory ?? memoryOf(config), config);
  const n = program.length;
  const queueOfPc = program.map(queueOf);
  const members: Record<Queue, number[]> = { ld: [], ex: [], st: [] };
  const position: number[] = [];
  program.forEach((_, pc) => { const q = queueOfPc[pc] as Queue; position.push(members[q].length); members[q].push(pc); });

  const fetch = new Array<number>(n).fill(-1);
  const start = new Array<number>(n).fill(-1);
  const end = new Array<number>(n).fill(-1);
  const pushTimes: Record<Counter, number[]> = { l2e: [], e2l: [], e2s: [], s2e: [] };
  const popped: Record<Counter, number> = { l2e: 0, e2l: 0, e2s: 0, s2e: 0 };
  const head: Record<Queue, number> = { ld: 0, ex: 0, st: 0 };
  const busy: Record<Queue, number> = { ld: 0, ex: 0, st: 0 };
  let geometry = NO_GEOMETRY;
  const writers = new ActWriters();
  let fetched = 0;
  let done = 0;

  while (done < n) {
    // Fetch: one per cycle, in order, into a queue with a free slot (a slot frees when an entry starts).
    while (fetched < n) {
      const q = queueOfPc[fetched] as Queue;
      const ahead = position[fetched] as number;
      let t = fetched === 0 ? 0 : (fetch[fetched - 1] as number) + 1;
      if (ahead >= config.queueDepth) {
        const blocker = members[q][ahead - config.queueDepth] as number;
        if (start[blocker] === -1) break;
        t = Math.max(t, (start[blocker] as number) + 1);
      }
      fetch[fetched++] = t;
    }
    let progressed = false;
    // LD last: a LOAD into ACT is placed once every EX instruction that could write ACT during it is
    // (ldStallEnd), or when EX and ST are stuck (then every later EX instruction waits on LD).
    for (const q of ROUND) {
      const pc = members[q][head[q]];
      if (pc === undefined || fetch[pc] === -1) continue;
      const ins = program[pc] as Instruction;
      const need = pops(q, ins);
      // The k-th pop of a counter waits for its k-th push (pushes on a counter come in time order).
      const counts: Partial<Record<Counter, number>> = {};
      let ready = true;
      let t = (fetch[pc] as number) + 1;
      for (const c of need) {
        const k = popped[c] + (counts[c] ?? 0);
        counts[c] = (counts[c] ?? 0) + 1;
        const at = pushTimes[c][k];
        if (at === undefined) { ready = false; break; }
        t = Math.max(t, at);
      }
      if (!ready) continue;
      const prev = members[q][head[q] - 1];
      if (prev !== undefined) t = Math.max(t, end[prev] as number);
      if (ins.op === 'setg') geometry = ins;
      const cost = instructionCycles(ins, geometry, config, memory);
      let finish = t + cost;
      if (ins.op === 'load' && ins.mem === MEMORY_IDS.act) {
        finish = ldStallEnd(ins, t, cost, config, memory, (c) => writers.at(c));
        const exDone = members.ex[head.ex] === undefined;
        if (!exDone && finish > writers.known && progressed) continue;
      }
      start[pc] = t;
      end[pc] = finish;
      busy[q] += finish - t;
      if (q === 'ex') writers.add(actWriter(ins, geometry, t, cost), finish);
      for (const c of need) popped[c]++;
      for (const c of pushes(q, ins)) pushTimes[c].push(finish);
      head[q]++;
      done++;
      progressed = true;
    }
    if (!progressed) throw new Error(`cycle model: deadlock at ${QUEUES.map((q) => `${q} pc ${members[q][head[q]] ?? '-'}`).join(', ')}`);
  }

  const timings: InstructionTiming[] = program.map((_, pc) => ({ fetch: fetch[pc] as number, start: start[pc] as number, end: end[pc] as number }));
  const total = Math.max(0, ...end);
  const peak = peakMacs(config);
  const layerReports: LayerCycles[] = layers.map((l) => {
    // A layer starts when the compute unit starts on it (its loads were prefetched during the layer
    // before) and ends with its last write (compute or store).
    const exPcs = l.pcs.filter((pc) => queueOfPc[pc] === 'ex');
    const first = Math.min(...(exPcs.length ? exPcs : l.pcs).map((pc) => start[pc] as number));
    const last = Math.max(...l.pcs.map((pc) => end[pc] as number));
    const lb: Record<Queue, number> = { ld: 0, ex: 0, st: 0 };
    for (const pc of l.pcs) lb[queueOfPc[pc] as Queue] += (end[pc] as number) - (start[pc] as number);
    const cycles = l.pcs.length ? last - first : 0;
    const unitPeak = l.kind.startsWith('depthwise') ? peak.depthwise : peak.array;
    const bytes = bytesOf(l.pcs);
    return { index: l.index, name: l.name, kind: l.kind, cycles, first, last, busy: lb, macs: l.macs, macsPerCycle: cycles ? l.macs / cycles : 0, utilization: cycles ? l.macs / (unitPeak * cycles) : 0, instructions: l.pcs.length, bytes };
  });
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  return { total, timings, busy, layers: layerReports, macs, utilization: total ? macs / (peak.array * total) : 0, memory, bytes: bytesOf(program.map((_, pc) => pc)) };

  function bytesOf(pcs: readonly number[]): { load: number; store: number } {
    const out = { load: 0, store: 0 };
    for (const pc of pcs) {
      const ins = program[pc] as Instruction;
      if (ins.op === 'load') out.load += transferBytes(ins, config);
      if (ins.op === 'store') out.store += transferBytes(ins, config);
    }
    return out;
  }
}

/**
 * The clocks in which an EX instruction writes ACT through the PPU (docs/accel-rtl.md "Write ports"): EX has
 * the ACT write port, and LD stalls (its whole pipeline) in a clock where it would write an ACT row too.
 * The PPU writes the last result in the instruction's last clock (start + cost - 1); before it:
 *  - GEMM (into ACT): the last fold's P pixels, one a clock;
 *  - DWCONV: block 0's kh*kw weight clocks (mode mac), then the blocks' streams (dwconvSchedule), each
 *    beat written 9 clocks later when one of its positions completes a window at a stride position;
 *  - ADD: `count` rows, one a clock; GAP: one row at the end of each block's `count` pixels.
 */
export function actWriter(ins: Instruction, g: Geometry, start: number, cost: number): ((t: number) => boolean) | undefined {
  const last = start + cost - 1;
  switch (ins.op) {
    case 'gemm': {
      if (ins.toAcc) return undefined;
      const first = last - ins.nOy * g.outW + 1;
      return (t) => t >= first && t <= last;
    }
    case 'add': {
      const first = last - ins.count + 1;
      return (t) => t >= first && t <= last;
    }
    case 'gap':
      return (t) => t <= last && (last - t) % ins.count === 0 && (last - t) / ins.count < ins.nCb;
    case 'dwconv': {
      const d = dwconvSchedule(ins, g);
      return (t) => {
        const k = t - start - COST.dwTail - d.taps;
        if (k < 0 || k >= (ins.nCb - 1) * d.period + d.stream) return false;
        const i = k % d.period;
        if (i >= d.stream) return false;
        const r = Math.floor(i / d.beats) - (g.kh - 1);
        const pair = g.strideX >= 2;
        const first = pair ? 2 * (i % d.beats) : i % d.beats;
        const columns = pair ? [first, first + 1].filter((x) => x < d.cols) : [first];
        return r >= 0 && r % g.strideY === 0 && columns.some((x) => x >= g.kw - 1 && (x - (g.kw - 1)) % g.strideX === 0);
      };
    }
    default:
      return undefined;
  }
}

/** The EX instructions placed so far (in time order, one at a time) and the clocks they write ACT in. */
class ActWriters {
  private readonly ends: number[] = [];
  private readonly writes: Array<((t: number) => boolean) | undefined> = [];
  /** EX's schedule is known up to here: any EX instruction not yet placed starts at or after it. */
  known = 0;

  add(writes: ((t: number) => boolean) | undefined, end: number): void {
    this.known = end;
    if (writes === undefined) return;
    this.ends.push(end);
    this.writes.push(writes);
  }

  at(t: number): boolean {
    // The last writer whose end is after t (EX instructions do not overlap in time).
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ends[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    const w = this.writes[lo];
    return w !== undefined && w(t);
  }
}

/**
 * A LOAD into ACT with the RTL's write-port stall: the LOAD's k-th row is written `firstBeatDelay - 1 + k *
 * rowCycles` clocks after its start, each clock where EX writes ACT then holds it (and every later row)
 * one clock. Its end: start + cost + the stalled clocks.
 */
export function ldStallEnd(ins: Instruction & { op: 'load' }, start: number, cost: number, config: AccelConfig, memory: MemoryModel, exWrites: (t: number) => boolean): number {
  const perRow = Math.max(1, Math.round(rowBytes(config, 'act') / memory.bytesPerCycle));
  let t = start + firstBeatDelay('load', memory) - 1;
  let stalls = 0;
  for (let k = 0; k < ins.ySize * ins.xSize; k++) {
    t += perRow;
    while (exWrites(t)) {
      t++;
      stalls++;
    }
  }
  return start + cost + stalls;
}

/** A per-layer table for reports. */
export function formatCycleReport(report: CycleReport, config: AccelConfig): string {
  const rows = [`accelerator ${config.rows}x${config.cols}: ${report.total} cycles, ${report.macs} MACs, utilization ${(100 * report.utilization).toFixed(1)}% (busy: ld ${report.busy.ld}, ex ${report.busy.ex}, st ${report.busy.st}); memory ${report.memory.bytesPerCycle} B/cycle, latency ${report.memory.latency}: ${report.bytes.load} bytes loaded, ${report.bytes.store} stored`];
  rows.push('layer  kind              instr  cycles  ex-busy  ld-busy  st-busy      MACs  MAC/cyc  util   load B  store B');
  for (const l of report.layers) {
    rows.push(`${String(l.index).padStart(5)}  ${l.kind.padEnd(16)} ${String(l.instructions).padStart(6)} ${String(l.cycles).padStart(7)} ${String(l.busy.ex).padStart(8)} ${String(l.busy.ld).padStart(8)} ${String(l.busy.st).padStart(8)} ${String(l.macs).padStart(9)} ${l.macsPerCycle.toFixed(1).padStart(8)} ${(100 * l.utilization).toFixed(1).padStart(5)}% ${String(l.bytes.load).padStart(8)} ${String(l.bytes.store).padStart(8)}`);
  }
  return rows.join('\n');
}
