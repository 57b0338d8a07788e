/**
 * The accelerator's parameters: array shape, operand widths, memory sizes. One object shared by the
 * compiler, the ISA simulator, the cycle model and the RTL generator; docs/isa.md explains each.
 */
import { badInput } from '../common/errors.js';
import type { MemoryName } from './isa.js';

export interface AccelConfig {
  /** MAC array rows R (the reduction: one input channel block per fold). R = C in this issue. */
  readonly rows: number;
  /** MAC array columns C = channel-block lanes of every scratchpad row. */
  readonly cols: number;
  /** Bits of an activation element in ACT (two's complement or unsigned, as the instruction says). */
  readonly actBits: number;
  /** Bits of a signed weight in WGT. */
  readonly weightBits: number;
  /** Bits of an ACC lane (two's complement); at most 32 (MEM stores ACC lanes as 4 bytes). */
  readonly accBits: number;
  /** Bits of the PPU's unsigned multiplier M (and of ADD's MA, MB): up to 32. */
  readonly multiplierBits: number;
  /** Rows of each scratchpad. */
  readonly actRows: number;
  readonly wgtRows: number;
  readonly accRows: number;
  readonly qpRows: number;
  /** Taps per lane of the depthwise engine (multipliers = lanes x dwTaps); its window is square, dwKernel(config) on a side. */
  readonly dwTaps: number;
  /** Widest padded row the depthwise engine's line buffers hold: (outW - 1) * strideX + kw. */
  readonly dwMaxWidth: number;
  /** Program memory depth in 128-bit instructions. */
  readonly imemWords: number;
  /** Bytes of MEM (the program-visible main memory: weights, QP, input image, outputs). */
  readonly memBytes: number;
  /** Bytes MEM moves per cycle (the LOAD/STORE port width). */
  readonly memPortBytes: number;
  /** Cycles from a LOAD/STORE's start to its first beat. */
  readonly memLatency: number;
  /** Entries of each instruction queue between fetch and a unit. */
  readonly queueDepth: number;
}

/** Lanes of every scratchpad row (the channel block). */
export function lanes(config: AccelConfig): number {
  return config.cols;
}

/** Bytes one scratchpad row occupies in MEM (elements little-endian, lane 0 first). */
export function elementBytes(config: AccelConfig, mem: MemoryName): number {
  switch (mem) {
    case 'act': return Math.ceil(config.actBits / 8);
    case 'wgt': return Math.ceil(config.weightBits / 8);
    case 'qp': return 4;
    case 'acc': return 4;
  }
}

export function rowBytes(config: AccelConfig, mem: MemoryName): number {
  return lanes(config) * elementBytes(config, mem);
}

export function memoryRows(config: AccelConfig, mem: MemoryName): number {
  switch (mem) {
    case 'act': return config.actRows;
    case 'wgt': return config.wgtRows;
    case 'qp': return config.qpRows;
    case 'acc': return config.accRows;
  }
}

/** Largest kernel side of the depthwise engine's square window (a DWCONV with a larger kernel faults). */
export function dwKernel(config: AccelConfig): number {
  return Math.floor(Math.sqrt(config.dwTaps));
}

/** Peak multiply-accumulates per cycle of the array and of the depthwise engine. */
export function peakMacs(config: AccelConfig): { array: number; depthwise: number } {
  return { array: config.rows * config.cols, depthwise: lanes(config) * config.dwTaps };
}

/** Default configuration for an R x C array (sizes scale with nothing: rows of C lanes each). */
export function defaultConfig(rows: number, cols: number, overrides: Partial<AccelConfig> = {}): AccelConfig {
  // The MEM port moves at most one ACT row per beat, so every scratchpad row is whole beats.
  const actRowBytes = cols * Math.ceil((overrides.actBits ?? 8) / 8);
  return checkConfig({
    rows, cols,
    actBits: 8, weightBits: 8, accBits: 32, multiplierBits: 16,
    actRows: 8192, wgtRows: 4096, accRows: 2048, qpRows: 1024, dwTaps: 9, dwMaxWidth: 64, imemWords: 1024,
    memBytes: 1 << 20, memPortBytes: Math.min(16, actRowBytes), memLatency: 2, queueDepth: 16,
    ...overrides,
  });
}

/** Parses "RxC" (e.g. "16x16"). */
export function parseArrayShape(text: string): { rows: number; cols: number } {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!m) throw badInput(`--accel '${text}': expected RxC, e.g. 16x16 (4x4 to 32x32)`);
  return { rows: Number(m[1]), cols: Number(m[2]) };
}

export function checkConfig(c: AccelConfig): AccelConfig {
  const fail = (what: string): never => { throw badInput(`accelerator configuration: ${what}`); };
  if (c.rows < 4 || c.rows > 32 || c.cols < 4 || c.cols > 32) fail(`array ${c.rows}x${c.cols}: supported 4x4 to 32x32`);
  if (c.rows !== c.cols) fail(`array ${c.rows}x${c.cols}: this version needs R = C (a fold reads one ACT row of C lanes into the R array rows)`);
  if (c.actBits < 2 || c.actBits > 16) fail(`activation width ${c.actBits}: supported 2..16 bits`);
  if (c.weightBits < 2 || c.weightBits > 16) fail(`weight width ${c.weightBits}: supported 2..16 bits`);
  if (c.accBits < 8 || c.accBits > 32) fail(`accumulator width ${c.accBits}: supported 8..32 bits`);
  if (c.multiplierBits < 1 || c.multiplierBits > 32) fail(`multiplier width ${c.multiplierBits}: supported 1..32 bits`);
  for (const [name, rows] of [['ACT', c.actRows], ['WGT', c.wgtRows], ['ACC', c.accRows], ['QP', c.qpRows]] as const) {
    if (!Number.isInteger(rows) || rows < 8 || rows > 65536) fail(`${name} rows ${rows}: supported 8..65536 (16-bit row addresses)`);
  }
  if (c.memBytes < 64 || c.memBytes > 2 ** 32 || c.memBytes % 16 !== 0) fail(`MEM bytes ${c.memBytes}: a multiple of 16 up to 2^32`);
  if (![4, 8, 16, 32, 64].includes(c.memPortBytes)) fail(`MEM port ${c.memPortBytes} bytes: 4, 8, 16, 32 or 64`);
  for (const mem of ['act', 'wgt', 'qp', 'acc'] as const) {
    if (rowBytes(c, mem) % c.memPortBytes !== 0) fail(`MEM port ${c.memPortBytes} bytes must divide a ${mem.toUpperCase()} row (${rowBytes(c, mem)} bytes)`);
  }
  if (c.memBytes % c.memPortBytes !== 0) fail(`MEM bytes ${c.memBytes}: a multiple of the port (${c.memPortBytes})`);
  if (!Number.isInteger(c.dwMaxWidth) || c.dwMaxWidth < 2 || c.dwMaxWidth > 4096) fail(`depthwise line buffer width ${c.dwMaxWidth}: 2..4096`);
  if (!Number.isInteger(c.imemWords) || c.imemWords < 2) fail(`program memory ${c.imemWords} words: at least 2`);
  if (!Number.isInteger(c.dwTaps) || c.dwTaps < 1 || c.dwTaps > 225) fail(`depthwise taps ${c.dwTaps}: 1..225`);
  if (c.queueDepth < 1) fail('queue depth must be >= 1');
  return c;
}
