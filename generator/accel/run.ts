/**
 * Host side of a compiled program: write an input tensor into the MEM image (ACT rows, NHWC blocks),
 * run the ISA simulator, read the scores and the class back (docs/isa.md §8).
 */
import type { QuantTensor } from '../quant/ir.js';
import type { CompiledProgram } from './compile.js';
import { badInput } from '../common/errors.js';
import { elementBytes, lanes, rowBytes } from './config.js';
import { simulate, type SimOptions, type SimResult } from './simulator.js';

export interface AccelRun {
  /** The output tensor in [C, H, W] order: raw scores (acc + bias) or requantized q (layout.output.memory). */
  readonly output: Int32Array;
  /** The chip's answer when the output is a 1x1 vector. */
  readonly class?: number;
  readonly sim: SimResult;
}

/** A MEM image with the input tensor q ([C, H, W], integer model order) written into its region. */
export function memWithInput(compiled: CompiledProgram, q: Int32Array): Uint8Array {
  const { config, layout } = compiled;
  const [ch, h, w] = layout.input.shape;
  if (q.length !== ch * h * w) throw new Error(`accelerator input: ${q.length} values for a ${ch}x${h}x${w} tensor`);
  const mem = new Uint8Array(Math.max(compiled.mem.length, layout.memUsed));
  mem.set(compiled.mem);
  const C = lanes(config);
  const eb = elementBytes(config, 'act');
  const rb = rowBytes(config, 'act');
  const full = 2 ** config.actBits;
  for (let c = 0; c < ch; c++) {
    const b = Math.floor(c / C);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = layout.input.addr + ((y * w + x) * layout.input.blocks + b) * rb + (c % C) * eb;
        let v = (((q[(c * h + y) * w + x] as number) % full) + full) % full;
        for (let i = 0; i < eb; i++) { mem[at + i] = v % 256; v = Math.floor(v / 256); }
      }
    }
  }
  return mem;
}

/** Reads the output region of MEM back into [C, H, W] order. */
export function readOutput(compiled: CompiledProgram, mem: Uint8Array, outputTensor: QuantTensor): { output: Int32Array; class?: number } {
  const { config, layout } = compiled;
  const [ch, h, w] = layout.output.shape;
  const memory = layout.output.memory;
  const C = lanes(config);
  const eb = elementBytes(config, memory);
  const rb = rowBytes(config, memory);
  const out = new Int32Array(ch * h * w);
  const bits = memory === 'acc' ? 32 : config.actBits;
  const signed = memory === 'acc' || outputTensor.quant.signed;
  for (let c = 0; c < ch; c++) {
    const b = Math.floor(c / C);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = layout.output.addr + ((y * w + x) * layout.output.blocks + b) * rb + (c % C) * eb;
        let v = 0;
        for (let i = eb - 1; i >= 0; i--) v = v * 256 + (mem[at + i] as number);
        if (memory === 'act') v %= 2 ** bits;
        if (signed && v >= 2 ** (bits - 1)) v -= 2 ** bits;
        out[(c * h + y) * w + x] = v;
      }
    }
  }
  if (layout.classAddr === undefined) return { output: out };
  const at = layout.classAddr;
  const cls = (mem[at] as number) | ((mem[at + 1] as number) << 8) | ((mem[at + 2] as number) << 16) | ((mem[at + 3] as number) << 24);
  return { output: out, class: cls };
}

/** Runs the compiled program on one input tensor in the ISA simulator. */
export function runOnSimulator(compiled: CompiledProgram, q: Int32Array, outputTensor: QuantTensor, options: SimOptions = {}): AccelRun {
  const sim = simulate(compiled.config, compiled.program, memWithInput(compiled, q), options);
  return { ...readOutput(compiled, sim.memories.mem, outputTensor), sim };
}

/**
 * The stream registers of a program (docs/accel-rtl.md "Streams"): where its input region is and how a
 * frame is shaped, which MEM words leave on the output stream (the scores: one 32-bit word per class for
 * a vector, else the whole output region as it lies in MEM) and whether the class word follows.
 */
export interface StreamRegisters {
  readonly inAddr: number;
  readonly inWidth: number;
  readonly inHeight: number;
  readonly inBlocks: number;
  readonly outAddr: number;
  readonly outWords: number;
  readonly classAddr: number;
  readonly outClass: number;
}

/**
 * Largest values the stream registers hold (12-bit frame widths and heights, a 16-bit output word count):
 * the RTL clamps a larger write, so a program needing more is refused here instead.
 */
export const STREAM_LIMITS = { side: 4095, outWords: 65535 } as const;

export function streamRegisters(compiled: CompiledProgram): StreamRegisters {
  const { layout, config } = compiled;
  const [, h, w] = layout.input.shape;
  const [oc, oh, ow] = layout.output.shape;
  const vector = layout.output.memory === 'acc' && oh === 1 && ow === 1;
  const outWords = vector ? oc : (oh * ow * layout.output.blocks * rowBytes(config, layout.output.memory)) / 4;
  if (w > STREAM_LIMITS.side || h > STREAM_LIMITS.side) {
    throw badInput(`accelerator input stream: the input '${layout.input.tensor}' is ${h}x${w} pixels; the stream's frame registers hold at most ${STREAM_LIMITS.side}x${STREAM_LIMITS.side}`);
  }
  if (outWords > STREAM_LIMITS.outWords) {
    throw badInput(`accelerator output stream: the output '${layout.output.tensor}' (${oc}x${oh}x${ow}) is ${outWords} 32-bit words in MEM; the stream's word count register holds at most ${STREAM_LIMITS.outWords} (end the accelerator's part with a smaller map, e.g. a pool or the classifier)`);
  }
  return {
    inAddr: layout.input.addr, inWidth: w, inHeight: h, inBlocks: layout.input.blocks,
    outAddr: layout.output.addr, outWords, classAddr: layout.classAddr ?? 0, outClass: layout.classAddr === undefined ? 0 : 1,
  };
}

/**
 * An input tensor q ([C, H, W]) as the pixel stream's beats in raster order: channel c in bits
 * [c*actBits +: actBits] of s_tdata (the stream contract's packing), lanes beyond C zero.
 */
export function inputBeats(compiled: CompiledProgram, q: Int32Array): bigint[] {
  const [ch, h, w] = compiled.layout.input.shape;
  const bits = BigInt(compiled.config.actBits);
  const mask = (1n << bits) - 1n;
  const beats: bigint[] = [];
  for (let p = 0; p < h * w; p++) {
    let v = 0n;
    for (let c = ch - 1; c >= 0; c--) v = (v << bits) | (BigInt(q[c * h * w + p] as number) & mask);
    beats.push(v);
  }
  return beats;
}

/** The output stream's beats (32-bit words) read back into the output tensor and the class. */
export function outputFromBeats(compiled: CompiledProgram, words: readonly number[], outputTensor: QuantTensor): { output: Int32Array; class?: number } {
  const regs = streamRegisters(compiled);
  if (words.length !== regs.outWords + regs.outClass) throw new Error(`accelerator output stream: ${words.length} beats, expected ${regs.outWords + regs.outClass}`);
  const mem = new Uint8Array(compiled.config.memBytes);
  const put = (at: number, v: number): void => { for (let b = 0; b < 4; b++) mem[at + b] = (v >>> (8 * b)) & 0xff; };
  for (let i = 0; i < regs.outWords; i++) put(regs.outAddr + 4 * i, words[i] as number);
  if (regs.outClass) put(regs.classAddr, words[regs.outWords] as number);
  return readOutput(compiled, mem, outputTensor);
}
