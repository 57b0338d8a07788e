/**
 * The configuration the RTL is verified and measured with: the chip `fixynn generate --accel NxN` builds
 * (generator/design/accel-part.ts: 32-bit accumulators and multipliers, 8-bit or wider weights, a 5x5
 * depthwise window, on-chip memories sized for the example model and the random back ends), so that one
 * Verilator build per side serves every test program, the figures script and the generated designs.
 */
import type { AccelConfig } from '../../generator/accel/config.js';
import type { RtlConfig } from '../../generator/accel/rtl/config.js';
import { accelChipConfig, withAxiMemory } from '../../generator/design/accel-part.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';

export function verificationConfig(graph: QuantizedGraph, n: number): { config: AccelConfig; rtl: RtlConfig } {
  return accelChipConfig(graph, n, n);
}

/** The same configuration with MEM off chip (memory 'axi': AXI4 master, AXI4-Lite control). */
export function axiVerificationConfig(graph: QuantizedGraph, n: number): { config: AccelConfig; rtl: RtlConfig } {
  return withAxiMemory(verificationConfig(graph, n));
}
