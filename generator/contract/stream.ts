/**
 * The stream contract: the one stream type and protocol that joins the parts of a design (the fixed
 * feature extractor today, the programmable accelerator next) to each other, to the top, to the
 * testbenches, to `fixynn verify` and to the manifest. Generator and verifier both read this module.
 *
 * Protocol of every stream port (AXI4-Stream):
 * - `clk`, `rst` (synchronous, active high).
 * - Input stream: `s_tvalid`, `s_tready`, `s_tdata` (all channels of one pixel per beat, channel 0 in the least
 *   significant bits, each channel `bits` wide, two's complement when signed), `s_tuser` (1 on the first pixel
 *   of a frame), `s_tlast` (1 on the last pixel of each row). Pixels in raster order (row by row, left to right).
 * - Output stream: `m_tvalid`, `m_tready`, `m_tdata`, `m_tuser`, `m_tlast`, same packing, in the output's
 *   raster order (a strided layer emits beats only where an output exists; global pooling emits one beat per
 *   frame).
 * - A beat moves when valid && ready. Backpressure: `m_tready` low stalls the pipeline, no value lost or
 *   repeated; gaps in `s_tvalid` are absorbed. Frames stream back to back (steady state: one input pixel per
 *   clock).
 * - Taps: not on the top (it goes to synthesis). The verification wrapper next to the testbench has, for
 *   each layer with its own output stream, `tap<i>_valid` (a beat of that layer's output is accepted this
 *   cycle) and `tap<i>_data`; a fused depthwise + pointwise unit also has `tap<i>_inner_*` for its
 *   depthwise layer. Testbenches compare each tap's beats, in order, with the integer model's output of
 *   that layer.
 *
 * Kept free of imports from the parts (types only, plus the one converter from a quantized tensor), so
 * that every part and the verifier can import it without an import cycle.
 */
import type { QuantTensor } from '../quant/ir.js';

/** One channel's value: `bits` wide, two's complement when signed. */
export interface PixelType {
  readonly bits: number;
  readonly signed: boolean;
}

/** One stream: a [channels, height, width] tensor, a pixel (all channels) per beat. */
export interface Stream {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly type: PixelType;
}

/** A quantized [C, H, W] tensor as the stream that carries it. */
export function streamOfTensor(t: QuantTensor): Stream {
  const [channels, height, width] = t.shape;
  return { channels, height, width, type: { bits: t.quant.bits, signed: t.quant.signed } };
}

/** Bits of one beat's tdata. */
export function beatWidth(s: Stream): number {
  return s.channels * s.type.bits;
}

/** Only the contract's fields (for strict schemas: a Stream may arrive with more). */
export function streamOf(s: Stream): Stream {
  return { channels: s.channels, height: s.height, width: s.width, type: { bits: s.type.bits, signed: s.type.signed } };
}

/** How a beat's tdata holds a pixel of this stream (one line, for port descriptions). */
export function packingOf(s: Stream): string {
  const b = s.type.bits;
  return `${s.channels} channel(s) of ${s.type.signed ? 'signed (two\'s complement)' : 'unsigned'} ${b} bits, channel c in bits [c*${b}+${b - 1}:c*${b}]`;
}

/**
 * One-line meanings of the contract's ports for a module taking `input` and giving `output`: the port
 * descriptions of every streaming module (its Verilog port block and the manifest's `ports`).
 */
export function streamPortMeanings(input: Stream, output: Stream): Readonly<Record<string, string>> {
  return {
    clk: 'clock; every register loads on its rising edge',
    rst: 'synchronous reset, active high',
    s_tvalid: 'input stream: the source offers a beat (a beat moves when s_tvalid && s_tready)',
    s_tready: 'input stream: the module takes the offered beat this clock',
    s_tdata: `input stream: one pixel per beat in raster order, ${packingOf(input)}`,
    s_tuser: 'input stream: 1 on the first pixel of a frame',
    s_tlast: 'input stream: 1 on the last pixel of each row',
    m_tvalid: 'output stream: a beat is offered (it moves when m_tvalid && m_tready)',
    m_tready: 'output stream: the consumer takes the beat; low stalls the module, nothing is lost or repeated',
    m_tdata: `output stream: one pixel per beat in raster order, ${packingOf(output)}`,
    m_tuser: 'output stream: 1 on the first pixel of a frame',
    m_tlast: 'output stream: 1 on the last pixel of each row',
  };
}
