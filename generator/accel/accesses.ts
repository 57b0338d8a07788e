/**
 * Memory accesses of a program, counted per instruction from its fields and the geometry in force (the SETG
 * before it), as docs/accel-rtl.md describes the datapaths: scratchpad rows read and written, MEM beats,
 * program words fetched. The accelerator's energy model (verify/synth/accel-energy.ts) prices them; the
 * cycle model (cycle-model.ts) prices the same instructions in cycles.
 *
 * Padding positions are counted as reads (the RTL supplies 0 without a read): an upper bound, small for the
 * layers here (a 3x3 conv on 28x28 pads 1 position in 28 per row).
 */
import type { LayerInfo } from './compile.js';
import { type AccelConfig, rowBytes } from './config.js';
import { transferBytes } from './costs.js';
import type { Instruction } from './isa.js';

export interface Accesses {
  /** Scratchpad rows read / written (one row = a channel block: cols lanes). */
  actReads: number;
  actWrites: number;
  wgtReads: number;
  wgtWrites: number;
  accReads: number;
  accWrites: number;
  qpReads: number;
  qpWrites: number;
  /** MEM beats (memPortBytes each) read by LOAD, written by STORE. */
  memReadBeats: number;
  memWriteBeats: number;
  /** 128-bit program words fetched (one per instruction). */
  imemReads: number;
  /** Rows (cols lanes) through the post-processing unit's multiply, round and clamp (GEMM, DWCONV, ADD, GAP results). */
  ppuRows: number;
}

export const ACCESS_KEYS = ['actReads', 'actWrites', 'wgtReads', 'wgtWrites', 'accReads', 'accWrites', 'qpReads', 'qpWrites', 'memReadBeats', 'memWriteBeats', 'imemReads', 'ppuRows'] as const;

export function noAccesses(): Accesses {
  return Object.fromEntries(ACCESS_KEYS.map((k) => [k, 0])) as unknown as Accesses;
}

export function addAccesses(into: Accesses, from: Readonly<Accesses>): Accesses {
  for (const k of ACCESS_KEYS) into[k] += from[k];
  return into;
}

/** The QP record of a slab or block: bias, M and s rows (read together through QP's 3 read ports). */
const QP_RECORD_ROWS = 3;
const SCRATCHPADS = ['act', 'wgt', 'qp', 'acc'] as const;

interface Geometry { kh: number; kw: number; outW: number; strideY: number; strideX: number; cbIn: number }

function instructionAccesses(ins: Instruction, g: Geometry, config: AccelConfig): Accesses {
  const a = noAccesses();
  a.imemReads = 1;
  switch (ins.op) {
    case 'load': case 'store': {
      const mem = SCRATCHPADS[ins.mem] ?? 'act';
      const rows = ins.ySize * ins.xSize;
      const beats = Math.ceil(transferBytes(ins, config) / config.memPortBytes);
      if (ins.op === 'load') { a.memReadBeats = beats; a[`${mem}Writes`] = rows; } else { a.memWriteBeats = beats; a[`${mem}Reads`] = rows; }
      return a;
    }
    case 'gemm': {
      // Every fold reads each pixel's ACT row and R weight rows; folds after the first read the partial sums
      // (ACC read-modify-write), all but the last write them; the last goes through the PPU to ACT (or ACC).
      const pixels = ins.nOy * g.outW;
      const folds = g.kh * g.kw * g.cbIn;
      a.actReads = folds * pixels;
      a.wgtReads = folds * config.rows;
      a.accReads = (folds - 1) * pixels;
      a.accWrites = (folds - 1) * pixels + (ins.toAcc ? pixels : 0);
      a.actWrites = ins.toAcc ? 0 : pixels;
      a.ppuRows = ins.toAcc ? 0 : pixels;
      a.qpReads = QP_RECORD_ROWS;
      return a;
    }
    case 'dwconv': {
      const rows = (ins.nOy - 1) * g.strideY + g.kh;
      const cols = (g.outW - 1) * g.strideX + g.kw;
      a.actReads = ins.nCb * rows * cols;
      a.wgtReads = ins.mode === 0 ? ins.nCb * g.kh * g.kw : 0;
      a.actWrites = ins.nCb * ins.nOy * g.outW;
      a.ppuRows = a.actWrites;
      a.qpReads = ins.nCb * QP_RECORD_ROWS;
      return a;
    }
    case 'add':
      a.actReads = 2 * ins.count;
      a.actWrites = ins.count;
      a.ppuRows = ins.count;
      a.qpReads = QP_RECORD_ROWS;
      return a;
    case 'gap':
      a.actReads = ins.nCb * ins.count;
      a.actWrites = ins.nCb;
      a.ppuRows = ins.nCb;
      a.qpReads = ins.nCb * QP_RECORD_ROWS;
      return a;
    case 'argmax':
      a.accReads = Math.ceil(ins.count / config.cols);
      a.accWrites = 1;
      a.qpReads = QP_RECORD_ROWS;
      return a;
    default:
      return a;
  }
}

export interface ProgramAccesses {
  readonly total: Accesses;
  /** Per layer of the layout (in its order), the accesses of the layer's instructions. */
  readonly layers: readonly Accesses[];
}

export function programAccesses(config: AccelConfig, program: readonly Instruction[], layers: readonly LayerInfo[]): ProgramAccesses {
  let g: Geometry = { kh: 1, kw: 1, outW: 1, strideY: 1, strideX: 1, cbIn: 1 };
  // Geometry is set by SETG in program order on the EX queue, the only queue that reads it.
  const perPc = program.map((ins) => {
    if (ins.op === 'setg') g = ins;
    return instructionAccesses(ins, g, config);
  });
  const total = perPc.reduce((s, a) => addAccesses(s, a), noAccesses());
  return { total, layers: layers.map((l) => l.pcs.reduce((s, pc) => addAccesses(s, perPc[pc] ?? noAccesses()), noAccesses())) };
}

/** Bits of one access of each memory: a scratchpad row, a MEM beat, a program word. */
export function accessBits(config: AccelConfig): Readonly<Record<'act' | 'wgt' | 'qp' | 'acc' | 'mem' | 'imem', number>> {
  return {
    act: 8 * rowBytes(config, 'act'), wgt: 8 * rowBytes(config, 'wgt'), qp: 8 * rowBytes(config, 'qp'), acc: config.cols * config.accBits,
    mem: 8 * config.memPortBytes, imem: 128,
  };
}
