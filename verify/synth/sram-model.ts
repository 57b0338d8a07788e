/**
 * SRAM macros, modelled: the accelerator's memories of at least MACRO_MIN_BITS bits are kept out of
 * synthesis (black boxes, templates/synth-yosys-asic.tcl.hbs) and priced with the figures of OpenRAM's
 * SkyWater sky130 macro `sky130_sram_1kbyte_1rw1r_32x256_8` (256 words x 32 bits, one read-write and one
 * read port), as published in github.com/VLSIDA/sky130_sram_macros:
 *
 *   area    493.38 um x 400.22 um = 197,463 um^2 for 8,192 bits: 24.10 um^2 per bit
 *           (the LEF's SIZE, sky130_sram_1kbyte_1rw1r_32x256_8.lef at commit 0178860d; the Liberty of a later
 *           commit, 64897068, gives area 199,138: 24.31 um^2 per bit, +0.8 %)
 *   access  4.60 pJ per 32-bit word read or written: the clock pin's internal power, rise + fall, of the
 *           selected port (read `!csb0 & web0` 2.391613 + 2.208443; write `!csb0 & !web0` 2.226912 + 2.371604),
 *           sky130_sram_1kbyte_1rw1r_32x256_8_TT_1p8V_25C.lib at commit 261a97b2, read as pJ per edge
 *           (the file declares no internal-power unit; the later commit's Liberty has placeholders, 5.08e10)
 *   leakage 0.9118 uW per macro (the same Liberty's cell_leakage_power, 0.0009118 mW)
 *
 * A memory of B bits and width W counts as B x 24.10 um^2 (macros of other shapes scale by bits; an OpenRAM
 * array's periphery does not: the same repository's single-port 2 KB `sky130_sram_2kbyte_1rw_32x512_8`, LEF
 * 483.86 x 326.1 um for 16,384 bits, is 9.63 um^2 per bit, so the accelerator's large single-port memories may
 * be overestimated up to 2.5x) and one access as ceil(W / 32) word accesses. This is a
 * model, not a measurement: it is labelled so wherever it appears. Smaller memories (the depthwise engine's
 * line buffers, a fixed part's line buffers) stay flip-flops, measured like the rest of the logic.
 */

/** Memories of at least this many bits become macros (one sky130_sram_1kbyte holds 8,192). */
export const MACRO_MIN_BITS = 8192;

export const SRAM_MODEL = {
  macro: 'sky130_sram_1kbyte_1rw1r_32x256_8 (OpenRAM, github.com/VLSIDA/sky130_sram_macros)',
  macroBits: 8192,
  macroWordBits: 32,
  /** um^2 per bit: 493.38 x 400.22 / 8192 (the LEF's SIZE, commit 0178860d). */
  areaPerBitUm2: (493.38 * 400.22) / 8192,
  /** pJ per 32-bit word access (TT Liberty, commit 261a97b2: clk0 internal power of a read or write, rise + fall). */
  accessPj: ((2.391613 + 2.208443) + (2.226912 + 2.371604)) / 2,
  /** mW of leakage per 8,192-bit macro (the same Liberty). */
  leakageMwPerMacro: 0.0009117994,
  label: 'modelled SRAM macros (OpenRAM sky130_sram_1kbyte_1rw1r_32x256_8 figures: 24.10 um^2/bit, 4.60 pJ per 32-bit access), not synthesized',
} as const;

/** Area of a macro memory of `bits` bits. */
export function macroAreaUm2(bits: number): number {
  return bits * SRAM_MODEL.areaPerBitUm2;
}

/** Energy of one access of a memory `widthBits` wide (a row, a beat, a program word). */
export function macroAccessPj(widthBits: number): number {
  return Math.ceil(widthBits / SRAM_MODEL.macroWordBits) * SRAM_MODEL.accessPj;
}

/** Leakage power (mW) of macro memories holding `bits` bits (whole macros). */
export function macroLeakageMw(bits: number): number {
  return Math.ceil(bits / SRAM_MODEL.macroBits) * SRAM_MODEL.leakageMwPerMacro;
}
