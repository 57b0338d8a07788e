/**
 * `npm run bench:synth [-- --json] [-- --fixed-layers K] [-- --images N]`: the example model's fixed part at
 * K (default 1) with `--arith shared` (fixynn's shared shift-add graphs) beside the `--arith multiply`
 * baseline of the same run (one `W * x` per weight left to synthesis, as the paper's flow wrote it), both
 * through `fixynn synth --target asic` on the sky130 Liberty: area, memory area, max clock (OpenSTA,
 * pre-layout), gate-level bit-exactness and measured energy per image on N digits (default 2), the modeled
 * energy and its error, TOPS/W; and the ratios shared / multiply. Synthesis results are cached by content
 * hash ($FIXYNN_SYNTH_CACHE), so a second run only simulates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ffeCore } from '../generator/design/core.js';
import { generateDesign } from '../generator/design/generate-design.js';
import { readDesign } from '../generator/design/read-design.js';
import type { ArithStrategy } from '../generator/ffe/index.js';
import { synthDesign, type SynthReport } from '../verify/synth/synth-design.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} ${args[i + 1] ?? ''}: expected a whole number`);
  return v;
};
const k = flag('--fixed-layers', 1);
const images = flag('--images', 2);
const MODEL = path.resolve(import.meta.dirname, '../examples/mnist-mobilenet/model.onnx');
const progress = (m: string): void => { if (!json) process.stderr.write(`${m}\n`); };

async function run(arith: ArithStrategy, work: string): Promise<SynthReport> {
  const out = path.join(work, arith);
  await generateDesign(MODEL, { fixedLayers: String(k), out, arith, pipeline: 0, rawInput: false }, ffeCore);
  const { report } = await synthDesign(readDesign(out), { target: 'asic', images, onProgress: progress });
  return report;
}

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-bench-synth-'));
try {
  const shared = await run('shared', work);
  const multiply = await run('multiply', work);
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
    shared: s, multiply: m,
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
      '',
    ].join('\n'));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
