/**
 * The configuration the RTL is verified and measured with: one per array side, wide enough for the
 * example model and the random back ends (32-bit accumulators and multipliers, 8-bit weights, a 5x5
 * depthwise window) with on-chip memories sized for them, so that one Verilator build per side serves
 * every test program and the figures script.
 */
import { configForModel } from '../../generator/accel/compile.js';
import type { AccelConfig } from '../../generator/accel/config.js';
import { type RtlConfig, rtlConfig } from '../../generator/accel/rtl/config.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';

export function verificationConfig(graph: QuantizedGraph, n: number): { config: AccelConfig; rtl: RtlConfig } {
  const fixed = { memPortBytes: Math.min(16, n), memBytes: 1 << 17, actRows: 4096, wgtRows: 1024, accRows: 1024, qpRows: 256, queueDepth: 8, dwTaps: 25, dwMaxWidth: 32, imemWords: 512 };
  const config = configForModel(graph, n, n, { ...fixed, weightBits: 8, accBits: 32, multiplierBits: 32 });
  return { config, rtl: rtlConfig(config) };
}
