/**
 * The stream protocol of every generated top module, which the testbenches, `fixynn verify` and the
 * manifest rely on:
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
 * - Taps: for each fixed layer with its own output stream, wires `tap<i>_valid` (a beat of that layer's output
 *   is accepted this cycle) and `tap<i>_data`; a fused depthwise + pointwise unit also has `tap<i>_inner_*`
 *   for its depthwise layer. Testbenches read them hierarchically and compare each tap's beats, in order,
 *   with the integer model's output of that layer.
 */
import type { BlockStrategy } from '../arith/cmvm-block.js';

/** Constant arithmetic of every fixed product (`--arith`). */
export type ArithStrategy = BlockStrategy;

/** One stream: a [channels, height, width] tensor, a pixel per beat, each channel `bits` wide. */
export interface StreamFormat {
  readonly channels: number;
  readonly bits: number;
  readonly signed: boolean;
  readonly height: number;
  readonly width: number;
}
