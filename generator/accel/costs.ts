/**
 * The cycle cost of every instruction: ONE table, used by the cycle model (generator/accel/cycle-model.ts)
 * and documented in docs/isa.md ("Cycle costs"); the RTL's unit FSMs are built to take exactly these
 * cycles, and the tests compare them. A cost is the number of cycles the instruction occupies its unit,
 * from the cycle it starts (its tokens popped) to the cycle its tokens are pushed.
 */
import type { AccelConfig } from './config.js';
import { rowBytes } from './config.js';
import type { Instruction } from './isa.js';

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

/** Fixed overheads, in cycles (named so docs and RTL can refer to them). */
export const COST = {
  /** SETG, SETQ, NOP, FINISH. */
  config: 1,
  /** Post-processing pipeline depth (bias add, multiply, round/shift, clamp, write). */
  ppu: 4,
  /** DWCONV: the window's fill per channel block beyond the rows it streams. */
  dwFill: 2,
} as const;

/** Input rows a window instruction reads for output rows oy0..oy0+nOy-1 (clipped to the image). */
export function windowInputRows(g: Geometry, oy0: number, nOy: number): number {
  const first = Math.max(0, oy0 * g.strideY - g.padTop);
  const last = Math.min(g.inH - 1, (oy0 + nOy - 1) * g.strideY - g.padTop + g.kh - 1);
  return Math.max(0, last - first + 1);
}

/** Cycles of one instruction (geometry: the SETG registers in force when it runs). */
export function instructionCycles(ins: Instruction, g: Geometry, config: AccelConfig): number {
  const R = config.rows;
  const C = config.cols;
  switch (ins.op) {
    case 'nop': case 'setg': case 'setq': case 'finish':
      return COST.config;
    case 'load': case 'store': {
      const mem = (['act', 'wgt', 'qp', 'acc'] as const)[ins.mem] ?? 'act';
      const beatsPerGroup = Math.ceil((ins.xSize * rowBytes(config, mem)) / config.memPortBytes);
      return config.memLatency + ins.ySize * beatsPerGroup;
    }
    case 'gemm': {
      // Weight-stationary: fold f's R weight rows preload (R cycles) while fold f-1 streams its P
      // pixels; then the last results leave the array after the R + C skew and the PPU.
      const pixels = ins.nOy * g.outW;
      const folds = g.kh * g.kw * g.cbIn;
      return R + folds * Math.max(pixels, R) + R + C + COST.ppu;
    }
    case 'dwconv': {
      // Per channel block: kh*kw weight rows into the window registers (mode mac), then the input rows
      // stream through the line buffers one pixel (one ACT row) per cycle; a window of more than dwTaps
      // taps needs ceil(kh*kw / dwTaps) cycles per output pixel, whichever is longer.
      const weights = ins.mode === 0 ? g.kh * g.kw : 0;
      const stream = Math.max(windowInputRows(g, ins.oy0, ins.nOy) * g.inW, ins.nOy * g.outW * Math.ceil((g.kh * g.kw) / config.dwTaps));
      return ins.nCb * (weights + stream + COST.dwFill) + COST.ppu;
    }
    case 'add':
      return ins.count + COST.ppu;
    case 'gap':
      return ins.nCb * (ins.count + 1) + COST.ppu;
    case 'argmax':
      return ins.count + COST.ppu;
  }
}
