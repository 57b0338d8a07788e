/**
 * CONTRACT_PLACEHOLDER — the contract between the FFE core (generator/ffe, engineer 6) and the FFE commands
 * (`fixynn generate` / `fixynn verify`, manifest, testbenches: engineer 7). Fixed by the lead engineer.
 * generator/ffe/index.ts must export `generateFfe` with exactly this signature and re-export these types.
 *
 * The top module's ports (every layer engine uses the same stream protocol internally):
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
 * - Taps: for each fixed layer, top-level wires `${tap}_valid` (1 when a beat of this layer's output is
 *   accepted this cycle) and `${tap}_data` (packed channels as above). Testbenches read them hierarchically
 *   as dut.<tap>_valid / dut.<tap>_data and compare each tap's beats, in order, with the integer model's
 *   output of that layer (generator/golden IntegerModel.run gives every layer's [C,H,W] output), and the
 *   final output stream with the last fixed layer's output.
 */
import type { QuantizedGraph } from '../quant/ir.js';

export type ArithStrategy = 'shared' | 'csd' | 'multiply';

export interface FfeOptions {
  /** Constant arithmetic of every fixed product; default 'shared'. */
  readonly arith: ArithStrategy;
  /** A register stage every N adder levels inside each layer's arithmetic (document what 0 means). */
  readonly pipeline: number;
  /** Fold the model's affine preprocessing into the first layer; the input is then raw 8-bit pixels. */
  readonly rawInput: boolean;
  /** For emitted file headers. */
  readonly header: { readonly modelFile: string; readonly modelSha256: string; readonly options: string };
}

export interface StreamFormat {
  readonly channels: number;
  readonly bits: number;
  readonly signed: boolean;
  readonly height: number;
  readonly width: number;
}

export interface FfeLayerInfo {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  /** Verilog module of this layer's engine (a fused dw+pw pair: one module, two layers). */
  readonly module: string;
  /** This layer's output stream (integer q values, as the integer model's layer output). */
  readonly out: StreamFormat;
  /** Prefix of the top-level tap wires `${tap}_valid` and `${tap}_data`. */
  readonly tap: string;
  readonly latencyCycles: number;
  readonly cost: { readonly adders: number; readonly adderBits: number; readonly registerBits: number; readonly memoryBits: number; readonly depth: number };
}

export interface FfeDesign {
  readonly top: string;
  /** Verilog-2005 files in compile order (top last). */
  readonly files: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  readonly input: StreamFormat;
  readonly output: StreamFormat;
  /** The fixed layers 0..K-1, in order. */
  readonly layers: readonly FfeLayerInfo[];
  /** First input beat accepted -> first output beat valid, without stalls. */
  readonly latencyCycles: number;
  /** Input pixels per frame. */
  readonly idealCyclesPerFrame: number;
}

export type GenerateFfe = (graph: QuantizedGraph, fixedLayers: number, options: FfeOptions) => FfeDesign;
