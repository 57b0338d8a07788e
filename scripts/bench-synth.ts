/**
 * `npm run bench:synth [-- --json] [-- --fixed-layers K] [-- --images N]`: the example model's fixed part at
 * K (default 1) with `--arith shared` (fixynn's shared shift-add graphs) beside the `--arith multiply`
 * baseline of the same run (one `W * x` per weight left to synthesis, as the paper's flow wrote it), both
 * through `fixynn synth --target asic` on the sky130 Liberty: area, memory area, max clock (OpenSTA,
 * pre-layout), gate-level bit-exactness and measured energy per image on N digits (default 2), the modeled
 * energy and its error, TOPS/W; and the ratios shared / multiply. Synthesis results are cached by content
 * hash ($FIXYNN_SYNTH_CACHE), so a second run only simulates.
 *
 * Iso-area (`--iso-accel 4x4,8x8`, default 4x4,8x8; `--no-iso` to skip): the example's accelerator at each
 * size (K = 0) through the same `synth --target asic` (logic per module on the Liberty, memories of at least
 * 8,192 bits as modelled SRAM macros), the size whose area is nearest to the `shared` fixed part's chosen,
 * and that accelerator on the same K layers (its program's per-layer counts, verify/sweep/iso-area.ts):
 * energy per image and throughput, as ratios. `--iso-modelled`: the accelerators' areas modelled instead of
 * synthesized (the same SRAM macro model, logic from the cost counts: seconds instead of an hour on 2 cores).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ffeCore } from '../generator/design/core.js';
import { generateDesign } from '../generator/design/generate-design.js';
import { readDesign } from '../generator/design/read-design.js';
import type { ArithStrategy } from '../generator/ffe/index.js';
import { generateAccelDesign } from '../generator/design/generate-accel-design.js';
import { partOf } from '../generator/design/manifest.js';
import { NOMINAL_CLOCK_MHZ } from '../generator/design/chip.js';
import { sweepTables } from '../verify/sweep/point.js';
import { type AcceleratorCandidate, isoArea } from '../verify/sweep/iso-area.js';
import { synthDesign, type SynthReport } from '../verify/synth/synth-design.js';
import { scriptArgs } from './args.js';

const USAGE = 'npm run bench:synth [-- --json] [-- --fixed-layers K] [-- --images N] [-- --iso-accel 4x4,8x8] [-- --no-iso] [-- --iso-modelled]';
const { flags } = scriptArgs(USAGE, { json: 'boolean', 'fixed-layers': 'number', images: 'number', 'iso-accel': 'string', 'no-iso': 'boolean', 'iso-modelled': 'boolean' });
const refuse = (message: string): never => { console.error(`${message}\nusage: ${USAGE}`); process.exit(2); };
const json = flags.json;
const k = flags['fixed-layers'] ?? 1;
const images = flags.images ?? 2;
for (const [name, value] of [['fixed-layers', k], ['images', images]] as const) if (!Number.isSafeInteger(value) || value < 0) refuse(`--${name} ${value}: expected a whole number`);
const isoSizes = flags['no-iso'] ? [] : (flags['iso-accel'] ?? '4x4,8x8').split(',').map((x) => {
  const m = /^(\d+)x(\d+)$/.exec(x.trim());
  return m ? { rows: Number(m[1]), cols: Number(m[2]) } : refuse(`--iso-accel ${x}: expected RxC sizes, comma-separated (e.g. 4x4,8x8)`);
});
const MODEL = path.resolve(import.meta.dirname, '../examples/mnist-mobilenet/model.onnx');
const progress = (m: string): void => { if (!json) process.stderr.write(`${m}\n`); };

async function run(arith: ArithStrategy, work: string): Promise<SynthReport> {
  const out = path.join(work, arith);
  await generateDesign(MODEL, { fixedLayers: String(k), out, arith, pipeline: 0, rawInput: false }, ffeCore);
  const { report } = await synthDesign(readDesign(out), { target: 'asic', images, onProgress: progress });
  return report;
}

/** The example's accelerator alone at RxC, synthesized (asic: logic + modelled SRAM macros). */
async function accelerator(rows: number, cols: number, work: string): Promise<AcceleratorCandidate> {
  const out = path.join(work, `accel-${rows}x${cols}`);
  await generateAccelDesign(MODEL, { fixedLayers: '0', accel: `${rows}x${cols}`, out, onProgress: progress });
  const design = readDesign(out);
  if (flags['iso-modelled']) return { rows, cols, part: partOf(design.manifest, 'accel') };
  // abc -fast: the accelerator's units are large (its PPU alone has cols 32 x 32-bit multipliers); bounded time.
  const { report } = await synthDesign(design, { target: 'asic', abcFast: true, onProgress: progress });
  return { rows, cols, part: partOf(design.manifest, 'accel'), report };
}

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-bench-synth-'));
try {
  const shared = await run('shared', work);
  const multiply = await run('multiply', work);
  const candidates: AcceleratorCandidate[] = [];
  for (const size of isoSizes) candidates.push(await accelerator(size.rows, size.cols, work));
  const fixedCycles = readDesign(path.join(work, 'shared')).manifest.top.throughput.idealCyclesPerFrame;
  const iso = candidates.length === 0 ? null : isoArea(k, shared, fixedCycles, candidates, sweepTables(undefined), NOMINAL_CLOCK_MHZ);
  const figures = (r: SynthReport) => ({
    areaUm2: r.total.area ?? NaN, memoryAreaUm2: r.total.memoryArea ?? NaN, cells: r.total.cells,
    maxClockMhz: r.timing?.maxClockMhz ?? NaN, gateLevelBitExact: r.gateLevel?.bitExact ?? null, gateLevelImages: r.gateLevel?.images ?? 0,
    energyMeasuredNj: (r.energy?.perImagePj ?? NaN) / 1000, energyModeledNj: (r.energyModel?.perImagePj ?? NaN) / 1000,
    modelError: r.energyModel?.errorVsMeasured ?? null, topsPerWatt: r.energy?.topsPerWatt ?? NaN, opsPerImage: r.energy?.opsPerImage ?? NaN,
  });
  const s = figures(shared);
  const m = figures(multiply);
  const result = {
    model: 'examples/mnist-mobilenet/model.onnx', fixedLayers: k, images, library: shared.liberty?.library, label: shared.timing?.label,
    shared: s, multiply: m, isoArea: iso,
    accelerators: candidates.map((c) => ({ rows: c.rows, cols: c.cols, ...c.report?.accelerator, maxClockMhz: c.report?.timing?.maxClockMhz ?? null, seconds: c.report?.modules.reduce((a, x) => a + x.seconds, 0) ?? 0 })),
    ratios: { area: s.areaUm2 / m.areaUm2, maxClock: s.maxClockMhz / m.maxClockMhz, energy: s.energyMeasuredNj / m.energyMeasuredNj },
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const row = (name: string, f: ReturnType<typeof figures>): string =>
      `${name.padEnd(9)} ${f.areaUm2.toFixed(0).padStart(10)} ${f.memoryAreaUm2.toFixed(0).padStart(10)} ${f.maxClockMhz.toFixed(1).padStart(8)} ` +
      `${(f.gateLevelBitExact === null ? 'n/a' : f.gateLevelBitExact ? `yes (${f.gateLevelImages})` : 'NO').padStart(10)} ${f.energyMeasuredNj.toFixed(2).padStart(9)} ` +
      `${f.energyModeledNj.toFixed(2).padStart(9)} ${(f.modelError === null ? 'n/a' : `${(100 * f.modelError).toFixed(1)}%`).padStart(8)} ${f.topsPerWatt.toFixed(2).padStart(7)}`;
    process.stdout.write([
      `bench:synth: example at K = ${k} on ${result.library ?? '?'} (${result.label ?? ''}); energy on ${images} digit(s), gate-level`,
      'arith        area um2  mem um2   fmax MHz   bit-exact  meas. nJ  model nJ  model err  TOPS/W',
      row('shared', s), row('multiply', m),
      `shared / multiply: area ${result.ratios.area.toFixed(3)}x, max clock ${result.ratios.maxClock.toFixed(3)}x, energy ${result.ratios.energy.toFixed(3)}x`,
      ...isoLines(),
      '',
    ].join('\n'));
  }
  function isoLines(): string[] {
    if (iso === null) return [];
    const um = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
    return [
      '', 'iso-area (accelerator: Liberty cells, pre-layout, + SRAM macros modelled from OpenRAM sky130 figures; its energy modelled from the compiler\'s counts):',
      ...candidates.map((c, i) => {
        const a = c.report?.accelerator;
        if (a === undefined) return `  accelerator ${c.rows}x${c.cols}: ${um(iso.candidates[i]?.areaUm2 ?? NaN)} um^2, ${iso.candidates[i]?.areaSource ?? ''}`;
        return `  accelerator ${c.rows}x${c.cols}: ${um(a.areaUm2)} um^2 = ${um(a.cellAreaUm2)} logic + ${um(a.macroAreaUm2)} SRAM (${um(a.macroBits)} bits); max clock ${c.report?.timing ? c.report.timing.maxClockMhz.toFixed(1) : 'n/a'} MHz; whole network ${(a.energy.perImagePj / 1000).toFixed(1)} nJ/image`;
      }),
      `  fixed part K = ${k}: ${um(iso.fixed.areaUm2)} um^2, ${(iso.fixed.energyPerImagePj / 1000).toFixed(2)} nJ/image (measured), ${iso.fixed.cyclesPerImage} cycles/image`,
      `  nearest accelerator ${iso.accelerator.rows}x${iso.accelerator.cols} on layers 0..${k - 1}: ${um(iso.accelerator.areaUm2)} um^2, ${(iso.accelerator.energyPerImagePj / 1000).toFixed(2)} nJ/image (modelled), ${iso.accelerator.cyclesPerImage} cycles/image`,
      `  accelerator / fixed part: energy per image ${iso.energyRatio.toFixed(2)}x; fixed part / accelerator throughput ${iso.throughputRatio.toFixed(2)}x at one clock${iso.throughputRatioAtMaxClocks === null ? '' : `, ${iso.throughputRatioAtMaxClocks.toFixed(2)}x at each one's max clock`} (the paper: 4.81x energy efficiency)`,
    ];
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
