/**
 * How fixynn compiles Verilator models. Every flag here goes into the build cache's key (buildKey), so
 * changing one builds anew instead of reusing a binary made with the old flags.
 */

/** The RTL is linted on its own (-Wall, no waivers); testbenches use blocking counters and the like on purpose. */
export const VERILATOR_QUIET = ['-Wno-fatal', '-Wno-lint', '-Wno-style'] as const;

/**
 * The C++ compiler's optimization, for builds whose compile time matters more than their run time (many
 * small designs: the batch and accelerator tests). Verilator's makefile puts its own OPT_FAST (-Os) after
 * -CFLAGS, so an -O given there never takes effect: it is set through make. -O1 for the per-cycle code,
 * -O0 for the run-once code (constructors, initial blocks): measured on the example at K = 9, half the
 * compiler time of the default -Os at the same simulation speed.
 */
export const VERILATOR_QUICK_COMPILE = ['-MAKEFLAGS', 'OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1'] as const;
