/**
 * The instruction-level simulator: runs a program on the accelerator's memories bit-exactly, as docs/isa.md
 * specifies (one rung of the verification ladder between the integer model and the RTL). It decodes with
 * the same table as the RTL (generator/accel/isa.ts), models fetch with bounded queues and the token
 * counters, and counts events per instruction. It shares no code with the compiler or the integer model.
 *
 * Order of execution: each unit runs its queue in order; between units only the tokens order anything. The
 * `priority` option chooses which ready unit runs first, so a test can run the same program with the loads
 * racing ahead and with compute racing ahead: a missing token shows up as a different result.
 */
import type { AccelConfig } from './config.js';
import { dwKernel, elementBytes, lanes, memoryRows, rowBytes } from './config.js';
import type { Geometry } from './costs.js';
import { decode, type Instruction, type InstructionOf, IsaError, type MemoryName, queueOf, type Queue } from './isa.js';

export class AccelFault extends Error {
  constructor(readonly pc: number, readonly reason: string) {
    super(`accelerator fault at pc ${pc}: ${reason}`);
    this.name = 'AccelFault';
  }
}

/** The machine's memories (exposed so tests and `verify` can read results). */
export interface Memories {
  readonly mem: Uint8Array;
  /** ACT: raw actBits-bit patterns, row-major (row * lanes + lane). */
  readonly act: Uint16Array;
  /** WGT: signed weights. */
  readonly wgt: Int32Array;
  /** QP: raw 32-bit lanes. */
  readonly qp: Uint32Array;
  /** ACC: signed accBits values. */
  readonly acc: Int32Array;
}

/** Events of one instruction (summed over its executions: a program runs each once). */
export interface InstructionEvents {
  /** Multiply-accumulates issued by the array or the depthwise engine (lanes x taps, padding included). */
  macs: number;
  rowsRead: number;
  rowsWritten: number;
  memBytes: number;
}

export interface SimResult {
  readonly memories: Memories;
  /** Per program counter. */
  readonly events: readonly InstructionEvents[];
  /** Instructions executed per opcode. */
  readonly counts: Readonly<Record<string, number>>;
  readonly writers: Writers;
}

export interface SimOptions {
  /** Which ready unit runs first (default ld, ex, st: loads race ahead). */
  readonly priority?: readonly Queue[];
  /** Called after each instruction executes (per-layer snapshots for mismatch reports). */
  readonly afterInstruction?: (pc: number, memories: Memories, writers: Writers) => void;
}

/** The program counter of the instruction that last wrote each ACT / ACC row (-1: none). */
export interface Writers {
  readonly act: Int32Array;
  readonly acc: Int32Array;
}

const QUEUES: readonly Queue[] = ['ld', 'ex', 'st'];
const MEMORY_NAMES: readonly MemoryName[] = ['act', 'wgt', 'qp', 'acc'];

export function createMemories(config: AccelConfig, mem: Uint8Array): Memories {
  if (mem.length > config.memBytes) throw new AccelFault(0, `memory image of ${mem.length} bytes exceeds MEM (${config.memBytes} bytes)`);
  const full = new Uint8Array(config.memBytes);
  full.set(mem);
  const l = lanes(config);
  return {
    mem: full,
    act: new Uint16Array(config.actRows * l),
    wgt: new Int32Array(config.wgtRows * l),
    qp: new Uint32Array(config.qpRows * l),
    acc: new Int32Array(config.accRows * l),
  };
}

/** Decodes a program image's words; an illegal word faults at its pc. */
export function decodeProgram(words: readonly bigint[]): Instruction[] {
  return words.map((w, pc) => {
    try {
      return decode(w);
    } catch (e) {
      if (e instanceof IsaError) throw new AccelFault(pc, e.message);
      throw e;
    }
  });
}

/** Runs a program to FINISH. Throws AccelFault on a fault, a deadlock, or a program without FINISH. */
export function simulate(config: AccelConfig, program: readonly Instruction[], mem: Uint8Array, options: SimOptions = {}): SimResult {
  if (program.length > config.imemWords) throw new AccelFault(config.imemWords, `program of ${program.length} instructions exceeds the program memory (${config.imemWords} words)`);
  const machine = new Machine(config, createMemories(config, mem), program.length);
  const priority = options.priority ?? QUEUES;
  const pending: Record<Queue, number[]> = { ld: [], ex: [], st: [] };
  const tokens = { l2e: 0, e2l: 0, e2s: 0, s2e: 0 };
  const counts: Record<string, number> = {};
  let fetched = 0;
  let finished = false;

  const popsOf = (q: Queue, ins: Instruction): (keyof typeof tokens)[] => {
    const d = ins.deps;
    const pops: (keyof typeof tokens)[] = [];
    if (d.popPrev) pops.push(q === 'ex' ? 'l2e' : 'e2s');
    if (d.popNext) pops.push(q === 'ld' ? 'e2l' : 's2e');
    return pops;
  };
  const pushesOf = (q: Queue, ins: Instruction): (keyof typeof tokens)[] => {
    const d = ins.deps;
    const pushes: (keyof typeof tokens)[] = [];
    if (d.pushPrev) pushes.push(q === 'ex' ? 'e2l' : 's2e');
    if (d.pushNext) pushes.push(q === 'ld' ? 'l2e' : 'e2s');
    return pushes;
  };

  while (!finished) {
    // Fetch as far as the queues allow (program order, one queue may block the rest).
    while (fetched < program.length) {
      const ins = program[fetched] as Instruction;
      const q = queueOf(ins);
      checkTokenBits(fetched, q, ins);
      if (pending[q].length >= config.queueDepth) break;
      pending[q].push(fetched++);
    }
    let progressed = false;
    for (const q of priority) {
      const pc = pending[q][0];
      if (pc === undefined) continue;
      const ins = program[pc] as Instruction;
      const pops = popsOf(q, ins);
      if (pops.some((t) => tokens[t] === 0)) continue;
      for (const t of pops) tokens[t]--;
      pending[q].shift();
      counts[ins.op] = (counts[ins.op] ?? 0) + 1;
      if (ins.op === 'finish') {
        if (pending.ld.length || pending.ex.length || pending.st.length || fetched < program.length) throw new AccelFault(pc, 'FINISH with instructions still queued or unfetched');
        finished = true;
      } else {
        machine.execute(pc, ins);
        options.afterInstruction?.(pc, machine.memories, machine.writers);
      }
      for (const t of pushesOf(q, ins)) tokens[t]++;
      progressed = true;
      break;
    }
    if (finished) break;
    if (!progressed) {
      if (fetched >= program.length && !pending.ld.length && !pending.ex.length && !pending.st.length) throw new AccelFault(program.length, 'the program ended without FINISH');
      const oldest = Math.min(...QUEUES.map((q) => pending[q][0] ?? Infinity));
      throw new AccelFault(Number.isFinite(oldest) ? oldest : fetched, 'deadlock: no unit can start (tokens never pushed, or a full queue blocks fetch)');
    }
  }
  return { memories: machine.memories, events: machine.events, counts, writers: machine.writers };
}

function checkTokenBits(pc: number, q: Queue, ins: Instruction): void {
  const d = ins.deps;
  if (q === 'ld' && (d.popPrev || d.pushPrev)) throw new AccelFault(pc, `${ins.op} in the load queue cannot pop/push 'prev' tokens`);
  if (q === 'st' && (d.popNext || d.pushNext)) throw new AccelFault(pc, `${ins.op} in the store queue cannot pop/push 'next' tokens`);
  if (ins.op === 'nop' && ins.queue === 3) throw new AccelFault(pc, 'NOP names queue 3 (0 ld, 1 ex, 2 st)');
}

const EMPTY_GEOMETRY: Geometry = { inH: 0, inW: 0, outW: 0, kh: 0, kw: 0, strideY: 0, strideX: 0, padTop: 0, padLeft: 0, cbIn: 0, cbOut: 0 };

/** The units' state and the instruction semantics of docs/isa.md §4. */
class Machine {
  readonly events: InstructionEvents[];
  readonly writers: Writers;
  private g: Geometry = EMPTY_GEOMETRY;
  private q = { zpA: 0, zpB: 0, zo: 0, lo: 0, hi: 0, aSigned: false, bSigned: false };
  private readonly L: number;
  private readonly accHalf: number;
  private readonly actMask: number;
  private pc = 0;

  constructor(readonly config: AccelConfig, readonly memories: Memories, programLength: number) {
    this.L = lanes(config);
    this.accHalf = 2 ** (config.accBits - 1);
    this.actMask = 2 ** config.actBits - 1;
    this.writers = { act: new Int32Array(config.actRows).fill(-1), acc: new Int32Array(config.accRows).fill(-1) };
    this.events = Array.from({ length: programLength }, () => ({ macs: 0, rowsRead: 0, rowsWritten: 0, memBytes: 0 }));
  }

  private fault(reason: string): never {
    throw new AccelFault(this.pc, reason);
  }

  execute(pc: number, ins: Instruction): void {
    this.pc = pc;
    switch (ins.op) {
      case 'nop': return;
      case 'load': return this.transfer(ins, true);
      case 'store': return this.transfer(ins, false);
      case 'setg': return this.setg(ins);
      case 'setq':
        for (const [name, v] of [['zpA', ins.zpA], ['zpB', ins.zpB], ['zo', ins.zo], ['lo', ins.lo], ['hi', ins.hi]] as const) {
          if (v < -(2 ** (this.config.actBits - 1)) || v > 2 ** this.config.actBits - 1) this.fault(`SETQ ${name} = ${v} outside the ${this.config.actBits}-bit element range`);
        }
        this.q = { zpA: ins.zpA, zpB: ins.zpB, zo: ins.zo, lo: ins.lo, hi: ins.hi, aSigned: ins.aSigned === 1, bSigned: ins.bSigned === 1 };
        return;
      case 'gemm': return this.gemm(ins);
      case 'dwconv': return this.dwconv(ins);
      case 'add': return this.add(ins);
      case 'gap': return this.gap(ins);
      case 'argmax': return this.argmax(ins);
      case 'finish': return;
    }
  }

  private setg(ins: InstructionOf<'setg'>): void {
    const { op: _op, deps: _deps, ...g } = ins;
    if (g.kh < 1 || g.kw < 1 || g.strideY < 1 || g.strideX < 1 || g.cbIn < 1 || g.cbOut < 1) this.fault('SETG: kh, kw, strides, cbIn and cbOut must be >= 1');
    this.g = g;
  }

  private checkRows(mem: MemoryName, first: number, count: number, what: string): void {
    if (count <= 0) return;
    const rows = memoryRows(this.config, mem);
    if (first < 0 || first + count > rows) this.fault(`${what}: ${mem.toUpperCase()} rows ${first}..${first + count - 1} outside 0..${rows - 1}`);
  }

  private transfer(ins: InstructionOf<'load'> | InstructionOf<'store'>, load: boolean): void {
    const mem = MEMORY_NAMES[ins.mem] as MemoryName;
    const what = load ? 'LOAD' : 'STORE';
    if (!load && (mem === 'wgt' || mem === 'qp')) this.fault(`STORE from ${mem.toUpperCase()} is illegal (ACT or ACC only)`);
    const port = this.config.memPortBytes;
    if (ins.memAddr % port !== 0 || ins.memStride % port !== 0) this.fault(`${what}: MEM address ${ins.memAddr} / stride ${ins.memStride} not a multiple of the ${port}-byte port`);
    const rb = rowBytes(this.config, mem);
    const eb = elementBytes(this.config, mem);
    const ev = this.events[this.pc] as InstructionEvents;
    for (let y = 0; y < ins.ySize; y++) {
      const sram = ins.sramAddr + y * ins.sramStride;
      const addr = ins.memAddr + y * ins.memStride;
      this.checkRows(mem, sram, ins.xSize, what);
      if (addr + ins.xSize * rb > this.config.memBytes) this.fault(`${what}: MEM bytes ${addr}..${addr + ins.xSize * rb - 1} outside MEM (${this.config.memBytes} bytes)`);
      for (let x = 0; x < ins.xSize; x++) {
        for (let l = 0; l < this.L; l++) {
          const index = (sram + x) * this.L + l;
          const at = addr + x * rb + l * eb;
          if (load) {
            this.writeLane(mem, index, readLE(this.memories.mem, at, eb));
            if (mem === 'act' || mem === 'acc') this.writers[mem][sram + x] = this.pc;
          }
          else writeLE(this.memories.mem, at, eb, this.readLane(mem, index));
        }
      }
      ev.memBytes += ins.xSize * rb;
      if (load) ev.rowsWritten += ins.xSize; else ev.rowsRead += ins.xSize;
    }
  }

  /** Raw bits of a lane as stored in MEM (unsigned). */
  private readLane(mem: MemoryName, index: number): number {
    const m = this.memories;
    switch (mem) {
      case 'act': return m.act[index] as number;
      case 'wgt': return toUnsigned(m.wgt[index] as number, this.config.weightBits);
      case 'qp': return m.qp[index] as number;
      case 'acc': return (m.acc[index] as number) >>> 0;
    }
  }

  private writeLane(mem: MemoryName, index: number, raw: number): void {
    const m = this.memories;
    switch (mem) {
      case 'act': m.act[index] = raw & mask(this.config.actBits); return;
      case 'wgt': m.wgt[index] = toSigned(raw, this.config.weightBits); return;
      case 'qp': m.qp[index] = raw >>> 0; return;
      case 'acc': m.acc[index] = toSigned(raw >>> 0, this.config.accBits); return;
    }
  }

  /** An ACT element minus its zero point (A or B operand). */
  private operand(row: number, lane: number, second: boolean): number {
    const raw = this.memories.act[row * this.L + lane] as number;
    const signed = second ? this.q.bSigned : this.q.aSigned;
    return (signed ? toSigned(raw, this.config.actBits) : raw) - (second ? this.q.zpB : this.q.zpA);
  }

  private writeAct(row: number, lane: number, y: number): void {
    // actBits <= 16 and |y| < 2^31: the low bits of the 32-bit two's complement are the element.
    this.memories.act[row * this.L + lane] = y & this.actMask;
    this.writers.act[row] = this.pc;
  }

  private qpRecord(row: number, lane: number): { bias: number; m: number; s: number } {
    const qp = this.memories.qp;
    const s = (qp[(row + 2) * this.L + lane] as number) & 63;
    if (s < 1) this.fault(`QP row ${row + 2} lane ${lane}: shift ${s} (must be 1..63)`);
    return { bias: (qp[row * this.L + lane] as number) | 0, m: qp[(row + 1) * this.L + lane] as number, s };
  }

  private rule(v: number, m: number, s: number): number {
    const { zo, lo, hi } = this.q;
    const y = requant(v, m, s) + zo;
    return y < lo ? lo : y > hi ? hi : y;
  }

  private wrapAcc(v: number): number {
    return v >= -this.accHalf && v < this.accHalf ? v : wrapSigned(v, this.config.accBits);
  }

  /** Per-lane (bias, M, s) of the QP record at `row`, read once per instruction and block. */
  private qpLanes(row: number): { bias: number[]; m: number[]; s: number[] } {
    const bias: number[] = [];
    const m: number[] = [];
    const s: number[] = [];
    for (let l = 0; l < this.L; l++) {
      const r = this.qpRecord(row, l);
      bias.push(r.bias); m.push(r.m); s.push(r.s);
    }
    return { bias, m, s };
  }

  /** Operand values (element - zero point) of one ACT row, all lanes. */
  private operands(row: number, into: Float64Array, second = false): void {
    const act = this.memories.act;
    const signed = second ? this.q.bSigned : this.q.aSigned;
    const zp = second ? this.q.zpB : this.q.zpA;
    const bits = this.config.actBits;
    const half = 2 ** (bits - 1);
    const full = 2 ** bits;
    const base = row * this.L;
    for (let l = 0; l < this.L; l++) {
      const raw = act[base + l] as number;
      into[l] = (signed && raw >= half ? raw - full : raw) - zp;
    }
  }

  private gemm(ins: InstructionOf<'gemm'>): void {
    const g = this.g;
    const R = this.config.rows;
    const C = this.config.cols;
    const L = this.L;
    if (g.kh < 1) this.fault('GEMM before SETG');
    const pixels = ins.nOy * g.outW;
    const folds = g.kh * g.kw * g.cbIn;
    this.checkRows('acc', ins.accBase, pixels, 'GEMM accumulator tile');
    this.checkRows('wgt', ins.wgtBase, folds * R, 'GEMM weights');
    this.checkRows('qp', ins.qpBase, 3, 'GEMM QP record');
    const acc = this.memories.acc;
    const wgt = this.memories.wgt;
    const x = new Float64Array(L);
    const sums = new Float64Array(C);
    const ev = this.events[this.pc] as InstructionEvents;
    for (let f = 0; f < folds; f++) {
      const ky = Math.floor(f / (g.kw * g.cbIn));
      const kx = Math.floor(f / g.cbIn) % g.kw;
      const b = f % g.cbIn;
      const tile = (ins.wgtBase + f * R) * L;
      // Nonzero weights of the tile (zero weights contribute nothing: skipping them is exact).
      let count = 0;
      for (let i = 0; i < R * C; i++) if (wgt[tile + Math.floor(i / C) * L + (i % C)] !== 0) count++;
      const tapR = new Int32Array(count);
      const tapC = new Int32Array(count);
      const tapW = new Float64Array(count);
      count = 0;
      for (let r = 0; r < R; r++) {
        for (let c = 0; c < C; c++) {
          const w = wgt[tile + r * L + c] as number;
          if (w !== 0) { tapR[count] = r; tapC[count] = c; tapW[count] = w; count++; }
        }
      }
      ev.rowsRead += R;
      for (let p = 0; p < pixels; p++) {
        const oy = ins.oy0 + Math.floor(p / g.outW);
        const ox = p % g.outW;
        const iy = oy * g.strideY - g.padTop + ky;
        const ix = ox * g.strideX - g.padLeft + kx;
        const out = (ins.accBase + p) * L;
        for (let c = 0; c < C; c++) sums[c] = f === 0 ? 0 : (acc[out + c] as number);
        if (iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW) {
          const row = ins.actBase + (iy * g.inW + ix) * g.cbIn + b;
          this.checkRows('act', row, 1, 'GEMM input');
          this.operands(row, x);
          for (let t = 0; t < count; t++) {
            const c = tapC[t] as number;
            sums[c] = (sums[c] as number) + (x[tapR[t] as number] as number) * (tapW[t] as number);
          }
          ev.rowsRead++;
        }
        for (let c = 0; c < C; c++) acc[out + c] = this.wrapAcc(sums[c] as number);
        this.writers.acc[ins.accBase + p] = this.pc;
      }
      ev.macs += pixels * R * C;
    }
    const { bias, m, s } = this.qpLanes(ins.qpBase);
    for (let p = 0; p < pixels; p++) {
      const oy = ins.oy0 + Math.floor(p / g.outW);
      const ox = p % g.outW;
      const outRow = ins.outBase + (oy * g.outW + ox) * g.cbOut;
      if (!ins.toAcc) this.checkRows('act', outRow, 1, 'GEMM output');
      for (let c = 0; c < C; c++) {
        const v = (acc[(ins.accBase + p) * L + c] as number) + (bias[c] as number);
        if (ins.toAcc) acc[(ins.accBase + p) * L + c] = this.wrapAcc(v);
        else this.writeAct(outRow, c, this.rule(v, m[c] as number, s[c] as number));
      }
      ev.rowsWritten++;
    }
  }

  private dwconv(ins: InstructionOf<'dwconv'>): void {
    const g = this.g;
    const L = this.L;
    if (g.kh < 1) this.fault('DWCONV before SETG');
    if (ins.mode > 2) this.fault(`DWCONV mode ${ins.mode} (0 mac, 1 max, 2 sum)`);
    const taps = g.kh * g.kw;
    const side = dwKernel(this.config);
    if (g.kh > side || g.kw > side) this.fault(`DWCONV kernel ${g.kh}x${g.kw} exceeds the depthwise window ${side}x${side}`);
    const padded = (g.outW - 1) * g.strideX + g.kw;
    if (padded > this.config.dwMaxWidth) this.fault(`DWCONV padded row of ${padded} exceeds the line buffers (${this.config.dwMaxWidth})`);
    if (ins.mode === 0) this.checkRows('wgt', ins.wgtBase, ins.nCb * taps, 'DWCONV weights');
    this.checkRows('qp', ins.qpBase, 3 * ins.nCb, 'DWCONV QP records');
    if (ins.cb0 + ins.nCb > g.cbIn) this.fault(`DWCONV blocks ${ins.cb0}..${ins.cb0 + ins.nCb - 1} beyond cbIn ${g.cbIn}`);
    const wgt = this.memories.wgt;
    const ev = this.events[this.pc] as InstructionEvents;
    const x = new Float64Array(L);
    const acc = new Float64Array(L);
    for (let j = 0; j < ins.nCb; j++) {
      const b = ins.cb0 + j;
      const { bias, m, s } = this.qpLanes(ins.qpBase + 3 * j);
      for (let oy = ins.oy0; oy < ins.oy0 + ins.nOy; oy++) {
        for (let ox = 0; ox < g.outW; ox++) {
          const outRow = ins.outBase + (oy * g.outW + ox) * g.cbOut + b;
          this.checkRows('act', outRow, 1, 'DWCONV output');
          acc.fill(ins.mode === 1 ? -Infinity : 0);
          for (let t = 0; t < taps; t++) {
            const iy = oy * g.strideY - g.padTop + Math.floor(t / g.kw);
            const ix = ox * g.strideX - g.padLeft + (t % g.kw);
            if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) continue;
            const row = ins.actBase + (iy * g.inW + ix) * g.cbIn + b;
            this.checkRows('act', row, 1, 'DWCONV input');
            ev.rowsRead++;
            this.operands(row, x);
            const w = (ins.wgtBase + j * taps + t) * L;
            if (ins.mode === 0) for (let l = 0; l < L; l++) acc[l] = (acc[l] as number) + (x[l] as number) * (wgt[w + l] as number);
            else if (ins.mode === 1) for (let l = 0; l < L; l++) acc[l] = Math.max(acc[l] as number, x[l] as number);
            else for (let l = 0; l < L; l++) acc[l] = (acc[l] as number) + (x[l] as number);
          }
          if (acc[0] === -Infinity) this.fault(`DWCONV max: window of output (${oy}, ${ox}) holds no input pixel`);
          for (let l = 0; l < L; l++) this.writeAct(outRow, l, this.rule(this.wrapAcc(acc[l] as number) + (bias[l] as number), m[l] as number, s[l] as number));
          ev.rowsWritten++;
          if (ins.mode === 0) ev.macs += taps * L;
        }
      }
    }
  }

  private add(ins: InstructionOf<'add'>): void {
    const L = this.L;
    const cb = this.g.cbIn;
    if (cb < 1) this.fault('ADD before SETG');
    for (const [base, what] of [[ins.aBase, 'A'], [ins.bBase, 'B'], [ins.outBase, 'output']] as const) this.checkRows('act', base, ins.count, `ADD ${what}`);
    this.checkRows('qp', ins.qpBase, 3 * Math.min(cb, ins.count), 'ADD QP records');
    const ev = this.events[this.pc] as InstructionEvents;
    for (let i = 0; i < ins.count; i++) {
      const j = i % cb;
      for (let l = 0; l < L; l++) {
        const { bias: ma, m: mb, s } = this.qpRecord(ins.qpBase + 3 * j, l);
        const acc = this.operand(ins.aBase + i, l, false) * (ma >>> 0) + this.operand(ins.bBase + i, l, true) * mb;
        this.writeAct(ins.outBase + i, l, this.rule(acc, 1, s));
      }
    }
    ev.rowsRead += 2 * ins.count;
    ev.rowsWritten += ins.count;
  }

  private gap(ins: InstructionOf<'gap'>): void {
    const g = this.g;
    const L = this.L;
    if (g.cbIn < 1) this.fault('GAP before SETG');
    this.checkRows('qp', ins.qpBase, 3 * ins.nCb, 'GAP QP records');
    const ev = this.events[this.pc] as InstructionEvents;
    for (let j = 0; j < ins.nCb; j++) {
      const b = ins.cb0 + j;
      this.checkRows('act', ins.actBase + b, (ins.count - 1) * g.cbIn + 1, 'GAP input');
      this.checkRows('act', ins.outBase + b, 1, 'GAP output');
      for (let l = 0; l < L; l++) {
        let acc = 0;
        for (let p = 0; p < ins.count; p++) acc += this.operand(ins.actBase + p * g.cbIn + b, l, false);
        const { bias, m, s } = this.qpRecord(ins.qpBase + 3 * j, l);
        this.writeAct(ins.outBase + b, l, this.rule(this.wrapAcc(acc) + bias, m, s));
      }
      ev.rowsRead += ins.count;
      ev.rowsWritten++;
    }
  }

  private argmax(ins: InstructionOf<'argmax'>): void {
    const L = this.L;
    if (ins.count < 1) this.fault('ARGMAX of 0 scores');
    const blocks = Math.ceil(ins.count / L);
    this.checkRows('acc', ins.accBase, blocks, 'ARGMAX scores');
    this.checkRows('qp', ins.qpBase, 3 * blocks, 'ARGMAX QP records');
    this.checkRows('acc', ins.outAcc, 1, 'ARGMAX output');
    const scaled: { v: bigint; s: number }[] = [];
    for (let i = 0; i < ins.count; i++) {
      const b = Math.floor(i / L);
      const { m, s } = this.qpRecord(ins.qpBase + 3 * b, i % L);
      scaled.push({ v: BigInt(this.memories.acc[(ins.accBase + b) * L + (i % L)] as number) * BigInt(m), s });
    }
    const top = Math.max(...scaled.map((x) => x.s));
    let best = 0;
    let bestValue: bigint | undefined;
    scaled.forEach(({ v, s }, i) => {
      const value = v << BigInt(top - s);
      if (bestValue === undefined || value > bestValue) { best = i; bestValue = value; }
    });
    for (let l = 0; l < L; l++) this.memories.acc[ins.outAcc * L + l] = l === 0 ? best : 0;
    this.writers.acc[ins.outAcc] = this.pc;
    const ev = this.events[this.pc] as InstructionEvents;
    ev.rowsRead += blocks;
    ev.rowsWritten++;
  }
}

const POW2 = Array.from({ length: 64 }, (_, i) => 2 ** i);
const LIMIT = 2 ** 52;

/** The rule's product, round and shift: floor((v*M + 2^(s-1)) / 2^s), exact at any width. */
function requant(v: number, m: number, s: number): number {
  const product = v * m;
  // Below 2^52 the product and the added half are exact doubles and the division by 2^s is exact.
  if (product < LIMIT && product > -LIMIT && s <= 52) return Math.floor((product + (POW2[s - 1] as number)) / (POW2[s] as number));
  return Number((BigInt(v) * BigInt(m) + (1n << BigInt(s - 1))) >> BigInt(s));
}

function mask(bits: number): number {
  return bits >= 32 ? 0xffffffff : (1 << bits) - 1;
}

function toSigned(raw: number, bits: number): number {
  const full = 2 ** bits;
  const r = raw % full;
  return r >= full / 2 ? r - full : r;
}

function toUnsigned(v: number, bits: number): number {
  const full = 2 ** bits;
  return ((v % full) + full) % full;
}

function wrapSigned(v: number, bits: number): number {
  if (bits === 32) return v | 0;
  return toSigned(toUnsigned(v, bits), bits);
}

function readLE(bytes: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (bytes[at + i] as number);
  return v;
}

function writeLE(bytes: Uint8Array, at: number, n: number, value: number): void {
  let v = value;
  for (let i = 0; i < n; i++) { bytes[at + i] = v % 256; v = Math.floor(v / 256); }
}
