/**
 * The RTL generator's configuration: the shared AccelConfig (generator/accel/config.ts: array shape,
 * widths, memory sizes, MEM port) plus what only the hardware needs: the depthwise engine's largest
 * kernel and widest padded row (its line buffers), and the program memory's depth.
 */
import { badInput } from '../../common/errors.js';
import { type AccelConfig, defaultConfig, dwKernel } from '../config.js';

/** AXI4 parameters of the master (RtlConfig.axi). */
export interface AxiParams {
  /** Longest burst in beats (AXI4 INCR allows up to 256). */
  readonly maxBurst: number;
  /** Bursts in flight per direction before the master waits for responses. */
  readonly maxOutstanding: number;
}

export const DEFAULT_AXI: AxiParams = { maxBurst: 16, maxOutstanding: 8 };

/** Host address of program word w, 32-bit part k: PROGRAM_BASE + 16*w + 4*k. MEM bytes start at 0. */
export const PROGRAM_BASE = 0x8000_0000;

/**
 * Where MEM lives: 'onchip' (RAM banks inside the accelerator, loaded through the simple host port of
 * issue 11) or 'axi' (off chip, reached by LOAD/STORE through an AXI4 master whose data bus is
 * memPortBytes wide; control through AXI4-Lite). docs/accel-rtl.md describes both.
 */
export type MemoryKind = 'onchip' | 'axi';

export interface RtlConfig extends AccelConfig {
  /** Largest kernel side of the depthwise engine's window (dwKernel(config)); a larger kernel faults. */
  readonly dwKernel: number;
  /**
   * ACT rows per beat of the pixel input stream (s_tdata carries streamBlocks * cols channels of actBits
   * each): the stream is as wide as the input tensor it carries, ceil(channels / cols) rows.
   */
  readonly streamBlocks: number;
  /** Absent means 'onchip' (so an on-chip configuration, and a manifest holding it, is as before). */
  readonly memory?: MemoryKind;
  /** The AXI4 master's burst and outstanding limits (present with memory 'axi'). */
  readonly axi?: AxiParams;
  /**
   * memory 'axi' inside the chip with its frame buffer over AXI (generator/design/chip-spill.ts): a
   * `frame_start` input starts a run (PROG_LEN instructions) beside CONTROL.start, and `mem_base` shows
   * MEM_BASE. Absent otherwise (so other configurations, and their manifests, are as before).
   */
  readonly frameStart?: true;
}

export interface RtlOptions {
  readonly dwKernel?: number;
  readonly dwMaxWidth?: number;
  readonly imemWords?: number;
  readonly streamBlocks?: number;
  readonly memory?: MemoryKind;
  readonly axi?: Partial<AxiParams>;
  readonly frameStart?: boolean;
}

export function rtlConfig(base: AccelConfig, options: RtlOptions = {}): RtlConfig {
  // The shared configuration holds the engine's limits (the compiler refuses what exceeds them); options
  // only override them for unit tests of a lone engine.
  const c: RtlConfig = { ...base, dwKernel: options.dwKernel ?? dwKernel(base), dwMaxWidth: options.dwMaxWidth ?? base.dwMaxWidth, imemWords: options.imemWords ?? base.imemWords, streamBlocks: options.streamBlocks ?? 1,
    ...(options.memory === 'axi' ? { memory: 'axi' as const, axi: { ...DEFAULT_AXI, ...options.axi } } : {}),
    ...(options.frameStart === true ? { frameStart: true as const } : {}) };
  const need = (ok: boolean, what: string): void => {
    if (!ok) throw badInput(`accelerator RTL configuration: ${what}`);
  };
  need(c.dwKernel >= 1 && c.dwKernel <= 7, `depthwise kernel ${c.dwKernel}: supported 1..7`);
  need(c.dwKernel * c.dwKernel <= c.dwTaps, `depthwise window ${c.dwKernel}x${c.dwKernel} has more taps than dwTaps = ${c.dwTaps}`);
  need(Number.isInteger(c.dwMaxWidth) && c.dwMaxWidth >= 2 && c.dwMaxWidth <= 4096, `depthwise line buffer width ${c.dwMaxWidth}: supported 2..4096`);
  need(Number.isInteger(c.imemWords) && c.imemWords >= 2, `program memory ${c.imemWords} words: at least 2`);
  need((c.cols * Math.ceil(c.actBits / 8)) % c.memPortBytes === 0, `MEM port ${c.memPortBytes} bytes must divide an ACT row (${c.cols * Math.ceil(c.actBits / 8)} bytes)`);
  need(Number.isInteger(c.streamBlocks) && c.streamBlocks >= 1 && c.streamBlocks <= 64, `pixel stream of ${c.streamBlocks} ACT rows per beat: supported 1..64`);
  need(c.memLatency === 2, `MEM latency ${c.memLatency}: the on-chip MEM answers in 2 clocks (memLatency = 2)`);
  need(options.memory === undefined || options.memory === 'onchip' || options.memory === 'axi', `memory '${String(options.memory)}': 'onchip' or 'axi'`);
  need(c.frameStart === undefined || c.memory === 'axi', 'frame_start (the chip\'s frame buffer over AXI) needs memory \'axi\'');
  if (c.axi !== undefined) {
    need(Number.isInteger(c.axi.maxBurst) && c.axi.maxBurst >= 1 && c.axi.maxBurst <= 256, `AXI burst of ${c.axi.maxBurst} beats: AXI4 INCR bursts have 1..256`);
    need(Number.isInteger(c.axi.maxOutstanding) && c.axi.maxOutstanding >= 1 && c.axi.maxOutstanding <= 64, `${c.axi.maxOutstanding} outstanding AXI bursts: supported 1..64`);
    need(c.imemWords <= 4096, `program memory ${c.imemWords} words: the AXI4-Lite program window holds at most 4096`);
  }
  need(c.memBytes % c.memPortBytes === 0, `MEM bytes ${c.memBytes} must be a multiple of the port (${c.memPortBytes})`);
  return c;
}

/** A test/default configuration: the shared defaults for an N x N array, RTL options, overrides. */
export function defaultRtlConfig(n: number, overrides: Partial<AccelConfig> = {}, options: RtlOptions = {}): RtlConfig {
  return rtlConfig(defaultConfig(n, n, { memPortBytes: Math.min(16, n), ...overrides }), options);
}

/** An activation element as stored (signed or unsigned, as the instruction reads it): [-2^(b-1), 2^b - 1]. */
export function elementRange(c: AccelConfig): { min: number; max: number } {
  return { min: -(2 ** (c.actBits - 1)), max: 2 ** c.actBits - 1 };
}

/** The operand after zero-point subtraction, val(x) - zp, both in elementRange: 10 bits signed for 8-bit data. */
export function operandRange(c: AccelConfig): { min: number; max: number } {
  const e = elementRange(c);
  return { min: e.min - e.max, max: e.max - e.min };
}

/** Symmetric signed weights of `weightBits` bits. */
export function weightRange(c: AccelConfig): { min: number; max: number } {
  const m = 2 ** (c.weightBits - 1) - 1;
  return { min: -m, max: m };
}

export function accRange(c: AccelConfig): { min: bigint; max: bigint } {
  const h = 1n << BigInt(c.accBits - 1);
  return { min: -h, max: h - 1n };
}

/** The requantization shift s: 1..63 (6 bits of a QP lane). */
export const MAX_SHIFT = 63;
