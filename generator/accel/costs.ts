/**
 * The cycle cost of every instruction: ONE table, used by the cycle model (generator/accel/cycle-model.ts)
 * and documented in docs/isa.md ("Cycle costs"); the RTL's unit FSMs are built to take exactly these
 * cycles, and the tests compare them. A cost is the number of cycles the instruction occupies its unit,
 * from the cycle it starts (its tokens popped) to the cycle its tokens are pushed.
 */
import type { AccelConfig } from './config.js';
import { rowBytes } from './config.js';
import type { Instruction, InstructionOf } from './isa.js';

/** The compute unit's geometry registers (set by SETG) that costs depend on. */
export interface Geometry {
  readonly inH: number;
  readonly inW: number;
  readonly outW: number;
  readonly kh: number;
  readonly kw: number;
  readonly strideY: number;
  readonly strideX: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly cbIn: number;
  readonly cbOut: number;
}

/**
 * Fixed overheads, in cycles (named so docs and RTL can refer to them): each is the RTL's pipeline after its
 * instruction's last input, measured in Verilator (docs/accel-rtl.md, test/accel/rtl-programs.test.ts).
 */
export const COST = {
  /** SETG, SETQ, NOP, FINISH. */
  config: 1,
  /** Post-processing pipeline depth (bias add, multiply, round/shift, clamp+write). */
  ppu: 4,
  /** GEMM after the last fold's last pixel read: ACT read 1, array 2, ACC/bias 1, PPU 4 (toAcc: no PPU). */
  gemmTail: 8,
  gemmTailToAcc: 4,
  /** DWCONV after the last padded position: ACT read 1, engine 3, PPU 4, plus the start clock. */
  dwTail: 9,
  /** ADD: start clock, read 1, products 1, PPU 4. */
  addTail: 7,
  /** GAP: start clock, read 1, PPU 4. */
  gapTail: 6,
} as const;

/**
 * The memory a LOAD/STORE talks to: `latency` cycles from its start to its first beat, then one beat of
 * `bytesPerCycle` bytes per cycle (no stalls), each row group a whole number of beats, plus the port's own
 * clocks per instruction (`portClocks`: 0 for the on-chip MEM). The default (`memoryOf(config)`) is the
 * configuration's own port: the on-chip MEM of the RTL (latency 2), exact.
 */
export interface MemoryModel {
  readonly bytesPerCycle: number;
  readonly latency: number;
  /** Clocks a LOAD / STORE spends in the port beyond latency + beats, once per instruction (not per burst). */
  readonly portClocks?: { readonly load: number; readonly store: number };
}

/**
 * The AXI4 master's own clocks per instruction (generator/accel/rtl/top.ts, measured per instruction in
 * Verilator against the reference memory: every LOAD and STORE of the example's programs, 1 to 392 beats):
 *  - LOAD +3: the fault checks of the latched fields (ld_first), the burst sequencer's registered ARVALID
 *    (the first AR in the clock after), and the data stage that writes the last row (ld_data_last);
 *  - STORE +5: the checks, the registered AWVALID, W beats from the clock after their AW was taken
 *    (st_w_pending), and after the last write response the sequencer's count of bursts in flight and the
 *    drain register (st_draining) before the STORE completes.
 * The memory's latency counts from the AR handshake to the first R beat (from the last W beat to B for writes).
 */
export const AXI_PORT_CLOCKS = { load: 3, store: 5 } as const;

/**
 * Issue 12's reference memory for every performance figure: 16 bytes per cycle peak, 100-cycle read latency,
 * no stalls; behind the accelerator's AXI4 master (the only way the RTL reaches it), so with its clocks.
 */
export const REFERENCE_MEMORY: MemoryModel = { bytesPerCycle: 16, latency: 100, portClocks: AXI_PORT_CLOCKS };

/** Cycles from a LOAD's / STORE's start to its first beat: the memory's latency and the port's own clocks. */
export function firstBeatDelay(op: 'load' | 'store', memory: MemoryModel): number {
  return memory.latency + (memory.portClocks?.[op] ?? 0);
}

export function memoryOf(config: AccelConfig): MemoryModel {
  return { bytesPerCycle: config.memPortBytes, latency: config.memLatency };
}

/** Bytes a LOAD/STORE moves between MEM and a scratchpad. */
export function transferBytes(ins: Instruction, config: AccelConfig): number {
  if (ins.op !== 'load' && ins.op !== 'store') return 0;
  const mem = (['act', 'wgt', 'qp', 'acc'] as const)[ins.mem] ?? 'act';
  return ins.ySize * ins.xSize * rowBytes(config, mem);
}

/** Cycles of one instruction (geometry: the SETG registers in force when it runs). */
export function instructionCycles(ins: Instruction, g: Geometry, config: AccelConfig, memory: MemoryModel = memoryOf(config)): number {
  const R = config.rows;
  switch (ins.op) {
    case 'nop': case 'setg': case 'setq': case 'finish':
      return COST.config;
    case 'load': case 'store': {
      const mem = (['act', 'wgt', 'qp', 'acc'] as const)[ins.mem] ?? 'act';
      const beatsPerGroup = Math.ceil((ins.xSize * rowBytes(config, mem)) / memory.bytesPerCycle);
      return firstBeatDelay(ins.op, memory) + ins.ySize * beatsPerGroup;
    }
    case 'gemm': {
      // Weight-stationary: fold 0's R weight rows load first (R cycles); fold f+1's load while fold f
      // streams its P pixels (a fold slot is max(P, R)); the last fold's pixels go straight through the
      // array (2 clocks, a broadcast array with adder trees: no R + C skew) into the PPU.
      const pixels = ins.nOy * g.outW;
      const folds = g.kh * g.kw * g.cbIn;
      return R + (folds - 1) * Math.max(pixels, R) + pixels + (ins.toAcc ? COST.gemmTailToAcc : COST.gemmTail);
    }
    case 'dwconv': {
      // Block 0's weights, then the blocks' streams `period` apart (each the next block's weight load).
      const d = dwconvSchedule(ins, g);
      return d.taps + (ins.nCb - 1) * d.period + d.stream + COST.dwTail;
    }
    case 'add':
      return ins.count + COST.addTail;
    case 'gap':
      return ins.nCb * ins.count + COST.gapTail;
    case 'argmax':
      return ins.count + COST.ppu;
  }
}

/**
 * A DWCONV's schedule: per channel block the padded window region of its output rows streams through the
 * depthwise engine's line buffers, `rows` rows of `beats` beats (one padded position a beat at strideX 1,
 * two at strideX >= 2; padding inserted without a read); mode mac first loads block 0's kh*kw weight rows
 * (`taps` clocks), then block b+1's while block b streams, so blocks start `period` = max(stream, taps)
 * apart (the RTL's engine has a second weight set). A window beyond the engine is refused by the compiler.
 */
export function dwconvSchedule(ins: InstructionOf<'dwconv'>, g: Geometry): { taps: number; rows: number; cols: number; beats: number; stream: number; period: number } {
  const taps = ins.mode === 0 ? g.kh * g.kw : 0;
  const rows = (ins.nOy - 1) * g.strideY + g.kh;
  const cols = (g.outW - 1) * g.strideX + g.kw;
  const beats = g.strideX >= 2 ? Math.ceil(cols / 2) : cols;
  const stream = rows * beats;
  return { taps, rows, cols, beats, stream, period: Math.max(stream, taps) };
}
