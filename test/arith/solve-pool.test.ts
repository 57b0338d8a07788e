/**
 * Solving ahead (generator/arith/solve-pool.ts): the graphs do not depend on the worker count or the
 * cache state, a damaged cache entry is solved again, and the independent parts of a block-diagonal
 * matrix (partition.ts) join into one exact graph.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adderCount, randomMatrix, solveCmvm, verifySolution } from '../../generator/arith/index.js';
import { joinParts, matrixParts } from '../../generator/arith/partition.js';
import { type SolveJob, presolve, solveKey } from '../../generator/arith/solve-pool.js';
import { seededRandom } from '../../generator/common/seeded-random.js';

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-solve-pool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const jobs: SolveJob[] = [1, 2, 3].map((k) => ({ name: `m${k}`, matrix: randomMatrix(12, 10 + k, 127, 0.3, seededRandom(70 + k)), options: { strategy: 'shared' } }));

function graphsOf(solve: (w: SolveJob['matrix'], n: number, o: SolveJob['options']) => unknown): string[] {
  return jobs.map((j) => JSON.stringify(solve(j.matrix, j.matrix[0]!.length, j.options)));
}

describe('presolve', () => {
  it('gives the same graphs on 1 or 2 workers, cold or warm cache, as solveCmvm itself', async () => {
    const direct = graphsOf(solveCmvm);
    const cache = path.join(work, 'cache');
    const two = await presolve(jobs, { workers: 2, cacheDir: cache });
    expect(two.stats).toMatchObject({ jobs: 3, cached: 0, workers: 2 });
    expect(graphsOf(two.solve)).toEqual(direct);
    const warm = await presolve([...jobs, jobs[0]!], { workers: 2, cacheDir: cache });
    expect(warm.stats).toMatchObject({ jobs: 3, cached: 3, workers: 0 });
    expect(graphsOf(warm.solve)).toEqual(direct);
    const one = await presolve(jobs, { workers: 1, cacheDir: null });
    expect(graphsOf(one.solve)).toEqual(direct);
    for (const j of jobs) expect(one.has(j.matrix, j.matrix[0]!.length, j.options)).toBe(true);
  });

  it('keys by content and options; solves a damaged cache entry again', async () => {
    const [a] = jobs;
    const n = a!.matrix[0]!.length;
    expect(solveKey(a!.matrix, n, { strategy: 'shared' })).not.toBe(solveKey(a!.matrix, n, { strategy: 'shared', effort: 2 }));
    const changed = a!.matrix.map((row, o) => row.map((c, i) => (o === 0 && i === 0 ? c + 1 : c)));
    expect(solveKey(changed, n, a!.options)).not.toBe(solveKey(a!.matrix, n, a!.options));
    const cache = path.join(work, 'damaged');
    await presolve([a!], { workers: 1, cacheDir: cache });
    const [sub] = readdirSync(cache);
    const [file] = readdirSync(path.join(cache, sub!));
    writeFileSync(path.join(cache, sub!, file!), '{"inputCount": 3, "nodes": [');
    const again = await presolve([a!], { workers: 1, cacheDir: cache });
    expect(again.stats.cached).toBe(0);
    expect(JSON.stringify(again.solve(a!.matrix, n, a!.options))).toBe(JSON.stringify(solveCmvm(a!.matrix, n, a!.options)));
  });
});

describe('matrix parts', () => {
  it('splits a block-diagonal matrix (with a zero row and an unused input) and joins an exact graph', () => {
    const random = seededRandom(5);
    const blocks = [randomMatrix(3, 4, 63, 0.2, random), randomMatrix(2, 5, 63, 0.2, random)];
    const w = [...blocks[0]!.map((r) => [...r, 0, ...new Array(5).fill(0)]), new Array(10).fill(0), ...blocks[1]!.map((r) => [...new Array(5).fill(0), ...r])];
    const parts = matrixParts(w, 10);
    expect(parts.map((p) => p.outputs)).toEqual([[0, 1, 2], [4, 5]]);
    expect(parts[0]!.inputs.every((i) => i < 4)).toBe(true);
    const graph = solveCmvm(w, 10, { strategy: 'shared' });
    expect(verifySolution(w, graph).ok).toBe(true);
    const joined = joinParts(10, w.length, parts, parts.map((p) => solveCmvm(p.matrix, p.inputs.length, { strategy: 'shared' })));
    expect(verifySolution(w, joined).ok).toBe(true);
    expect(adderCount(joined)).toBe(adderCount(graph));
  });
});
