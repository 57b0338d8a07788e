/**
 * `fixynn sweep` and `fixynn report` on the example model (K = 0 and 1 here; docs/sweep.md has the full tables):
 * the sweep's figures against the designs it generated, the emitted Slurm tasks run locally with bash giving
 * the same sweep, the page self-contained with drawn charts and the JSON's numbers; under FIXYNN_FULL the page
 * in headless Chromium (no console message, the same checks on the DOM it built) and a verified point's
 * verify.json on the page.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../generator/cli.js';
import { readSweep, type Sweep, type SweepPoint } from '../../verify/sweep/schema.js';
import { SLURM_COLLECT, SLURM_POINTS } from '../../verify/sweep/slurm.js';
import { FULL } from '../helpers/env.js';
import { chartMarks, embeddedData, numberCells, numberProblems } from '../helpers/report-check.js';
import { quietly } from '../helpers/quietly.js';

const MODEL = 'examples/mnist-mobilenet/model.onnx';
const run = (...args: string[]): Promise<number> => quietly(() => main(['node', 'fixynn', ...args]));
const withoutTimes = (s: Sweep): unknown => ({ ...s, points: s.points.map(({ seconds: _s, ...p }) => p) });

describe('fixynn sweep and report on the example (K = 0, 1)', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'fixynn-sweep-'));
  let sweep: Sweep;
  beforeAll(async () => {
    expect(await run('sweep', MODEL, '--max-k', '1', '--jobs', '2', '--out', out)).toBe(0);
    sweep = readSweep(path.join(out, 'sweep.json'));
  }, 300_000);

  it('tabulates every K with the figures of the designs it generated', () => {
    expect(sweep.ks).toEqual([0, 1]);
    expect(sweep.area.source).toBe('modeled');
    for (const point of sweep.points) {
      const p = point as SweepPoint;
      expect('refused' in point).toBe(false);
      const manifest = JSON.parse(readFileSync(path.join(out, `k${p.k}`, 'manifest.json'), 'utf8')) as {
        parts: Array<{ kind: string; cost: { adders: number; memoryBits: number } }>; split?: { acceleratorCyclesPerFrame: number; fixedCyclesPerFrame: number; bottleneck: string };
      };
      const accel = manifest.parts.find((q) => q.kind === 'accel');
      expect(p.accelerator.ramBits).toBe(accel?.cost.memoryBits);
      expect(p.accelerator.build).toBe('chip');
      if (p.k === 0) {
        expect(p.fixedPart).toBeNull();
      } else {
        const ffe = manifest.parts.find((q) => q.kind === 'ffe');
        expect(p.fixedPart?.adders).toBe(ffe?.cost.adders);
        expect(p.fixedPart?.ramBits).toBe(ffe?.cost.memoryBits);
        expect(p.accelerator.cyclesPerImage).toBe(manifest.split?.acceleratorCyclesPerFrame);
        expect(p.fixedPart?.cyclesPerImage).toBe(manifest.split?.fixedCyclesPerFrame);
        expect(p.bottleneck).toBe(manifest.split?.bottleneck);
      }
      expect(p.energyPerImagePj).toBeCloseTo((p.fixedPart?.energyPerImagePj ?? 0) + p.accelerator.energyPerImagePj, 6);
      expect(p.areaUm2).toBeCloseTo((p.fixedPart?.areaUm2 ?? 0) + p.accelerator.areaUm2, 6);
      expect(p.topsPerWatt).toBeCloseTo(p.opsPerImage / p.energyPerImagePj, 12);
      expect(p.layers.length).toBe(11);
    }
    const energies = sweep.points.map((p) => (p as SweepPoint).energyPerImagePj);
    expect(sweep.bestK).toBe(sweep.points[energies.indexOf(Math.min(...energies))]?.k);
  });

  it('the emitted Slurm job array, its tasks run here with bash, then its collect step, gives the same sweep', () => {
    const out2 = mkdtempSync(path.join(os.tmpdir(), 'fixynn-slurm-'));
    const scripts = path.join(out2, 'slurm');
    execFileSync(process.execPath, ['bin/fixynn.js', 'sweep', MODEL, '--max-k', '1', '--out', out2, '--emit-slurm', scripts], { stdio: 'pipe' });
    expect(readFileSync(path.join(scripts, SLURM_POINTS), 'utf8')).toMatch(/#SBATCH --array=0-1/);
    expect(existsSync(path.join(out2, 'sweep.json'))).toBe(false);
    for (const task of [0, 1]) execFileSync('bash', [path.join(scripts, SLURM_POINTS)], { env: { ...process.env, SLURM_ARRAY_TASK_ID: String(task) }, stdio: 'pipe' });
    execFileSync('bash', [path.join(scripts, SLURM_COLLECT)], { stdio: 'pipe' });
    expect(withoutTimes(readSweep(path.join(out2, 'sweep.json')))).toEqual(withoutTimes(sweep));
  }, 300_000);

  it('report: one self-contained page, every chart drawn, every number equal to the JSON', async () => {
    expect(await run('report', out)).toBe(0);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    // Self-contained: no external resource (namespaces are identifiers, not fetched).
    expect(html.replace(/xmlns(:xlink)?="[^"]+"/g, '')).not.toMatch(/(src|href)="|https?:\/\/|@import|url\(/);
    const charts = chartMarks(html);
    expect(charts.map((c) => c.id)).toEqual(['chart-layers', 'chart-energy', 'chart-area', 'chart-cycles', 'chart-tops']);
    for (const c of charts) expect(c.marks, c.id).toBeGreaterThan(0);
    const data = embeddedData(html);
    expect(data['sweep']).toEqual(sweep);
    expect(data['point']).toEqual(JSON.parse(readFileSync(path.join(out, `k${sweep.bestK}`, 'point.json'), 'utf8')));
    const paths = new Set(numberCells(html).map((c) => c.path));
    const point = data['point'] as SweepPoint;
    for (const field of ['index', 'weights', 'macs', 'cycles', 'energyPj']) point.layers.forEach((_, i) => expect(paths.has(`point.layers.${i}.${field}`), `layer ${i} ${field}`).toBe(true));
    for (const field of ['areaUm2', 'energyPerImagePj', 'topsPerWatt', 'framesPerSecond', 'accelerator.cyclesPerImage']) sweep.points.forEach((_, i) => expect(paths.has(`sweep.points.${i}.${field}`), `point ${i} ${field}`).toBe(true));
    expect(numberProblems(html, data)).toEqual([]);
    expect(html).toMatch(/not verified/);
  });

  it('bad input: one message, exit 2, nothing written', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'fixynn-bad-'));
    expect(await run('sweep', MODEL, '--accel', '3x3', '--out', path.join(empty, 'a'))).toBe(2);
    expect(await run('sweep', MODEL, '--max-k', 'x', '--out', path.join(empty, 'b'))).toBe(2);
    expect(await run('sweep', MODEL, '--point', '99', '--out', path.join(empty, 'c'))).toBe(2);
    expect(await run('report', empty)).toBe(2);
    expect(existsSync(path.join(empty, 'a')) || existsSync(path.join(empty, 'b')) || existsSync(path.join(empty, 'c'))).toBe(false);
  });

  it.runIf(FULL)('report in headless Chromium: no console message, every chart drawn, numbers equal; a verified point shows its simulator', async () => {
    expect(await run('verify', path.join(out, 'k1'), '--images', '2')).toBe(0);
    expect(await run('report', out, '--k', '1')).toBe(0);
    const page = path.join(out, 'report.html');
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/K = 1<\/td><td>scores and class: the whole chip's RTL/);
    expect(html).toMatch(/Verilator \d/);
    const browse = (file: string): { dom: string; console: string[] } => {
      const r = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--enable-logging=stderr', '--v=0', '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 120_000 });
      if (r.error) throw new Error(`chromium (Debian's package; scripts/setup-tools.sh installs it under FIXYNN_FULL=1) did not run: ${r.error.message}`);
      return { dom: r.stdout, console: r.stderr.split('\n').filter((l) => /CONSOLE/.test(l)) };
    };
    // The control: a page that logs an error is seen to, so a silent run means a silent page.
    const control = path.join(out, 'control.html');
    writeFileSync(control, '<!DOCTYPE html><html><body><script>console.error("control")</script></body></html>');
    expect(browse(control).console.join('\n')).toMatch(/control/);
    const { dom, console: messages } = browse(page);
    expect(messages).toEqual([]);
    for (const c of chartMarks(dom)) expect(c.marks, c.id).toBeGreaterThan(0);
    expect(chartMarks(dom).length).toBe(5);
    expect(numberCells(dom).length).toBe(numberCells(html).length);
    expect(numberProblems(dom, embeddedData(html))).toEqual([]);
  }, 900_000);
});
