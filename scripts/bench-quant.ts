/**
 * `npm run bench:quant [-- --count N] [-- --json] [-- --wide-only] [-- --wide 'SPEC ...']`: how well fixynn quantizes a FLOAT model, measured on photos
 * that took no part in any choice. The float MobileNetV1 0.25 is calibrated on the 40 calibration crops of
 * scripts/make-photo-crops.py (skimage/sklearn photos) with each calibration method, and its integer model's
 * strict top-1 is compared with ONNX Runtime's float model on the 222 held-out crops (37 other photos, from
 * Debian's desktop-background packages). Beside it, the baseline of the same run: the TFLite-made QDQ (int8)
 * form of the same network in ONNX Runtime, compared with the same float model on the same crops.
 *
 * Then mixed-precision activations (`--wide-acts`, min/max ranges): the first tensors wider than 8 bits, the
 * rest at 8 (WIDE_SPECS, or those of `--wide`; `--wide-only` runs only these rows and the baseline). Each row
 * is printed on stderr as it is measured (one eval of the 222 crops takes minutes on a loaded machine).
 *
 * Each row runs `fixynn eval` exactly as a user would (one process per row).
 */
import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CALIBRATION_METHODS } from '../generator/quant/calibrate.js';
import { wilson } from '../verify/eval/format-report.js';
import { scriptArgs } from './args.js';
import { heldoutCrops, MOBILENET_FLOAT, MOBILENET_QDQ, photoCrops, topClasses } from './photos.js';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** The `--wide-acts` rows: the first conv's output at 10 and 12 bits, the first 2 to 4 layer outputs wide. */
const WIDE_SPECS = ['1:10', '1:12', '2:12', '3:10', '3:12', '4:12'] as const;

interface Row {
  readonly what: string;
  readonly agree: number;
  readonly images: number;
  readonly lo: number;
  readonly hi: number;
}

function row(what: string, fraction: number, images: number): Row {
  const { lo, hi } = wilson(fraction, images);
  return { what, agree: fraction, images, lo, hi };
}

async function main(): Promise<void> {
  const { flags } = scriptArgs("npm run bench:quant [-- --count N] [-- --json] [-- --wide-only] [-- --wide 'SPEC ...']",
    { count: 'number', json: 'boolean', 'wide-only': 'boolean', wide: 'string' });
  const json = flags.json;
  const count = flags.count;
  const heldout = await heldoutCrops();
  const calib = await photoCrops();
  if ('missing' in heldout || 'missing' in calib) {
    console.error(`bench:quant: ${'missing' in heldout ? heldout.missing : ''} ${'missing' in calib ? calib.missing : ''}`.trim());
    process.exitCode = 2;
    return;
  }
  const float = await topClasses(MOBILENET_FLOAT, heldout.heldout);
  const qdq = await topClasses(MOBILENET_QDQ, heldout.heldout);
  const n = Math.min(count ?? float.length, float.length);
  const baselineAgree = float.slice(0, n).filter((c, i) => c === qdq[i]).length / n;
  const rows: Row[] = [row('baseline: TFLite int8 (the QDQ model) in ONNX Runtime', baselineAgree, n)];
  const evalRow = async (what: string, flags: readonly string[]): Promise<void> => {
    if (!json) process.stderr.write(`bench:quant: ${what}: calibrating and evaluating ${n} crops...\n`);
    const run = await execa('node', [path.join(repo, 'bin', 'fixynn.js'), 'eval', MOBILENET_FLOAT, '--data', heldout.heldout,
      '--calib', calib.calib, ...flags, '--count', String(n), '--json'], { cwd: repo });
    const report = JSON.parse(run.stdout) as { top1Agreement: number; images: number };
    rows.push(row(what, report.top1Agreement, report.images));
    if (!json) process.stderr.write(`bench:quant: ${formatRow(rows[rows.length - 1] as Row)}\n`);
  };
  const specs = flags.wide !== undefined ? flags.wide.split(' ').filter((x) => x !== '') : WIDE_SPECS;
  if (!flags['wide-only']) {
    for (const method of CALIBRATION_METHODS) await evalRow(`fixynn --calib-method ${method}`, ['--calib-method', method]);
  }
  for (const spec of specs) await evalRow(`fixynn --wide-acts ${spec} (minmax)`, ['--calib-method', 'minmax', '--wide-acts', spec]);
  if (json) {
    console.log(JSON.stringify({ model: path.basename(MOBILENET_FLOAT), heldoutCrops: n, calibrationCrops: 40, rows }, null, 2));
    return;
  }
  console.log(`strict top-1 agreement with ONNX Runtime's float MobileNetV1 0.25 on ${n} held-out crops (37 photos; calibration: 40 crops of 10 other photos)`);
  for (const r of rows) console.log(`  ${formatRow(r)}`);
}

function formatRow(r: Row): string {
  return `${r.what.padEnd(56)} ${Math.round(r.agree * r.images)}/${r.images} = ${(r.agree * 100).toFixed(1).padStart(5)}%  [95%: ${(r.lo * 100).toFixed(1)}-${(r.hi * 100).toFixed(1)}]`;
}

await main();
