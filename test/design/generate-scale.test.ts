/**
 * Generation that scales (issue 10): the real MobileNetV1 0.25 (QDQ) through generate with its adder
 * graphs solved ahead (generator/arith/solve-pool.ts). npm test: K = 5, the Verilog byte-identical on 1
 * or 2 workers and with the graph cache cold or warm. FIXYNN_FULL: K = 27, every layer's adder graph
 * checked against its matrix (verifySolution: a proof, adder-graph.ts), the design built from exactly
 * those graphs, at most 1.0 product adders per nonzero weight.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adderCount, verifySolution } from '../../generator/arith/index.js';
import { presolve } from '../../generator/arith/solve-pool.js';
import { ffeCore } from '../../generator/design/core.js';
import { generateDesign, loadModel, quantizeLoaded, type GenerateDesignOptions } from '../../generator/design/generate-design.js';
import { partOf } from '../../generator/design/manifest.js';
import { productJobs } from '../../generator/ffe/index.js';
import { MOBILENET_QDQ, requireModels } from '../helpers/models.js';
import { FULL } from '../helpers/env.js';

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-generate-scale-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function rtl(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(path.join(dir, 'rtl')).sort()) files.set(name, readFileSync(path.join(dir, 'rtl', name), 'utf8'));
  return files;
}

function options(k: number, out: string, extra: Partial<GenerateDesignOptions>): GenerateDesignOptions {
  return { fixedLayers: String(k), out: path.join(work, out), arith: 'shared', pipeline: 0, rawInput: false, ...extra };
}

describe('generate: adder graphs solved ahead', () => {
  it('MobileNet K = 5: the same Verilog on 1 or 2 workers, cache cold or warm', async (ctx) => {
    requireModels(ctx, MOBILENET_QDQ);
    const cache = path.join(work, 'cache5');
    const cold = await generateDesign(MOBILENET_QDQ, options(5, 'cold', { workers: 2, arithCache: cache }), ffeCore);
    expect(cold.optimizer).toMatchObject({ cached: 0, workers: 2 });
    const warm = await generateDesign(MOBILENET_QDQ, options(5, 'warm', { workers: 2, arithCache: cache }), ffeCore);
    expect(warm.optimizer.cached).toBe(warm.optimizer.jobs);
    expect(warm.optimizer.jobs).toBe(cold.optimizer.jobs);
    const one = await generateDesign(MOBILENET_QDQ, options(5, 'one', { workers: 1, arithCache: null }), ffeCore);
    expect(one.optimizer).toMatchObject({ cached: 0, workers: 1 });
    const reference = rtl(path.join(work, 'cold'));
    expect(reference.size).toBeGreaterThan(3);
    expect(rtl(path.join(work, 'warm'))).toEqual(reference);
    expect(rtl(path.join(work, 'one'))).toEqual(reference);
    for (const r of [cold, warm, one]) expect(r.seconds.generate).toBeCloseTo(r.seconds.optimize + r.seconds.build, 6);
  }, 120_000);

  it.runIf(FULL)('MobileNet K = 27: every layer\'s adder graph proven against its matrix; at most 1.0 adders per nonzero weight', async (ctx) => {
    requireModels(ctx, MOBILENET_QDQ);
    const cache = path.join(work, 'cache27');
    const loaded = loadModel(MOBILENET_QDQ, '27', { fixedPartOnly: true });
    const { quantized } = await quantizeLoaded(loaded, {});
    const jobs = productJobs(quantized, { fixedLayers: 27, strategy: 'shared' });
    expect(jobs).toHaveLength(27);
    const solved = await presolve(jobs, { cacheDir: cache });
    let adders = 0;
    for (const job of jobs) {
      const graph = solved.solve(job.matrix, job.matrix[0]!.length, job.options);
      const verdict = verifySolution(job.matrix, graph);
      expect(verdict.ok, `${job.name}: ${verdict.ok ? '' : verdict.reason}`).toBe(true);
      adders += adderCount(graph);
    }
    // The design is built from exactly these graphs (all from the cache now): its product adders are theirs.
    const result = await generateDesign(MOBILENET_QDQ, options(27, 'k27', { arithCache: cache }), ffeCore);
    expect(result.optimizer.cached).toBe(27);
    const ffe = partOf(result.manifest, 'ffe');
    expect(result.manifest.cost.productAdders).toBe(adders);
    expect(adders).toBeLessThanOrEqual(ffe.cost.nonzeroWeights);
  }, 1_200_000);
});
