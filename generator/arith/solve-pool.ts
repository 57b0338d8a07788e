/**
 * Solving many constant matrices at once (the fixed layers of a design): on worker threads, through a
 * cache on disk keyed by content.
 *
 * Each solve is a pure function of (matrix, options, optimizer source), so its result can be computed
 * anywhere and kept: the key is the SHA-256 of the integer matrix, the options and the source of
 * generator/arith itself (a changed optimizer never reads an old result). The worker count and the cache
 * state therefore cannot change a graph, and the Verilog built from it stays byte-identical (a test).
 *
 * `presolve` fills a SolvedGraphs ahead of the (synchronous) hardware build; the build asks it through
 * `solve`, which falls back to solving in place for a matrix nobody foresaw.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { badInput } from '../common/errors.js';
import { type AdderGraph, type ConstMatrix, adderCount, checkGraph } from './adder-graph.js';
import { type SolveOptions, solveCmvm } from './index.js';

/** One matrix to solve; `name` is for progress lines only. */
export interface SolveJob {
  readonly name: string;
  readonly matrix: ConstMatrix;
  readonly options: SolveOptions;
}

export interface PresolveOptions {
  /** Worker threads (default: the machine's cores, or 1 below PARALLEL_MIN_WEIGHTS); 1 solves on the calling thread. */
  readonly workers?: number;
  /** Cache folder; `null` for none. Default: $FIXYNN_ARITH_CACHE or <tmpdir>/fixynn-arith-cache. */
  readonly cacheDir?: string | null;
  /** Told once per job as it finishes: name, nonzero weights, adders, seconds, where it came from. */
  readonly onProgress?: (message: string) => void;
}

export interface PresolveStats {
  readonly jobs: number;
  readonly cached: number;
  readonly workers: number;
  readonly seconds: number;
}

/** Below this many nonzero weights to solve, the default is one thread (the MobileNet at K = 9 has 8,200). */
export const PARALLEL_MIN_WEIGHTS = 10_000;

const here = path.dirname(fileURLToPath(import.meta.url));

/** Hash of the optimizer's own source: part of every key, so an edited optimizer never reuses a result. */
let sourceHash: string | undefined;
function optimizerHash(): string {
  if (sourceHash === undefined) {
    const hash = createHash('sha256');
    for (const file of readdirSync(here).filter((f) => f.endsWith('.ts')).sort()) hash.update(file).update(readFileSync(path.join(here, file)));
    sourceHash = hash.digest('hex');
  }
  return sourceHash;
}

/** The content key of one solve. */
export function solveKey(w: ConstMatrix, inputCount: number, options: SolveOptions): string {
  const sorted = Object.fromEntries(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha256').update(JSON.stringify({ optimizer: optimizerHash(), inputCount, options: sorted, w })).digest('hex');
}

/** The cache root: $FIXYNN_ARITH_CACHE or <tmpdir>/fixynn-arith-cache (beside the simulator's). */
export function defaultArithCacheDir(): string {
  return process.env.FIXYNN_ARITH_CACHE ?? path.join(tmpdir(), 'fixynn-arith-cache');
}

function cachePath(dir: string, key: string): string {
  return path.join(dir, key.slice(0, 2), `${key}.json`);
}

/** A cached graph, or undefined when absent or not a graph of this shape (a damaged file is solved again). */
function readCached(dir: string, key: string, w: ConstMatrix, inputCount: number): AdderGraph | undefined {
  let graph: AdderGraph;
  try {
    graph = JSON.parse(readFileSync(cachePath(dir, key), 'utf8')) as AdderGraph;
  } catch {
    return undefined;
  }
  const fits = graph?.inputCount === inputCount && Array.isArray(graph.nodes) && Array.isArray(graph.outputs) && graph.outputs.length === w.length;
  return fits && checkGraph(graph).length === 0 ? graph : undefined;
}

function writeCached(dir: string, key: string, graph: AdderGraph): void {
  const file = cachePath(dir, key);
  mkdirSync(path.dirname(file), { recursive: true });
  // Written whole, then renamed: a reader never sees half a file.
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temp, JSON.stringify(graph));
  renameSync(temp, file);
}

/** Graphs solved ahead, by content key; `solve` is emitCmvm's solver. */
export class SolvedGraphs {
  private readonly graphs = new Map<string, AdderGraph>();
  constructor(public readonly stats: PresolveStats = { jobs: 0, cached: 0, workers: 0, seconds: 0 }) {}

  set(key: string, graph: AdderGraph): void {
    this.graphs.set(key, graph);
  }

  has(w: ConstMatrix, inputCount: number, options: SolveOptions): boolean {
    return this.graphs.has(solveKey(w, inputCount, options));
  }

  /** The graph solved ahead for this matrix and options, else solved now. */
  readonly solve = (w: ConstMatrix, inputCount: number, options: SolveOptions): AdderGraph =>
    this.graphs.get(solveKey(w, inputCount, options)) ?? solveCmvm(w, inputCount, options);
}

function nonzeros(w: ConstMatrix): number {
  let n = 0;
  for (const row of w) for (const c of row) if (c !== 0) n += 1;
  return n;
}

interface Pending {
  readonly job: SolveJob;
  readonly key: string;
  readonly inputCount: number;
}

/** Solves every job (each once, however often it repeats), from the cache where it can. */
export async function presolve(jobs: readonly SolveJob[], options: PresolveOptions = {}): Promise<SolvedGraphs> {
  const start = performance.now();
  const cacheDir = options.cacheDir === undefined ? defaultArithCacheDir() : options.cacheDir;
  const found = new Map<string, AdderGraph>();
  const pending: Pending[] = [];
  const seen = new Set<string>();
  let cached = 0;
  for (const job of jobs) {
    const inputCount = job.matrix[0]?.length ?? 0;
    const key = solveKey(job.matrix, inputCount, job.options);
    if (seen.has(key)) continue;
    seen.add(key);
    const hit = cacheDir === null ? undefined : readCached(cacheDir, key, job.matrix, inputCount);
    if (hit !== undefined) {
      found.set(key, hit);
      cached += 1;
      options.onProgress?.(`  ${job.name}: ${nonzeros(job.matrix)} nonzero weights, ${adderCount(hit)} product adders (cached)`);
    } else pending.push({ job, key, inputCount });
  }
  // Largest first: the long solves start at once and the short ones fill the gaps.
  pending.sort((a, b) => nonzeros(b.job.matrix) - nonzeros(a.job.matrix));
  const work = pending.reduce((n, p) => n + nonzeros(p.job.matrix), 0);
  // A worker costs about a second to start (it loads the TypeScript loader and the optimizer): by
  // default small designs are solved on the calling thread. An explicit count is always honoured.
  const wanted = options.workers ?? (work < PARALLEL_MIN_WEIGHTS ? 1 : availableParallelism());
  const workers = Math.max(1, Math.min(wanted, pending.length));
  const done = (p: Pending, graph: AdderGraph, seconds: number, where: string): void => {
    found.set(p.key, graph);
    if (cacheDir !== null) writeCached(cacheDir, p.key, graph);
    options.onProgress?.(`  ${p.job.name}: ${nonzeros(p.job.matrix)} nonzero weights, ${adderCount(graph)} product adders, ${seconds.toFixed(1)} s${where}`);
  };
  if (workers <= 1) {
    for (const p of pending) {
      const t = performance.now();
      done(p, solveCmvm(p.job.matrix, p.inputCount, p.job.options), (performance.now() - t) / 1000, '');
    }
  } else await solveOnWorkers(pending, workers, done);
  const solved = new SolvedGraphs({ jobs: seen.size, cached, workers: pending.length === 0 ? 0 : workers, seconds: (performance.now() - start) / 1000 });
  for (const [key, graph] of found) solved.set(key, graph);
  return solved;
}

interface WorkerReply {
  readonly graph?: AdderGraph;
  readonly error?: string;
  /** The error was the input's (exit code 2), not the solver's. */
  readonly badInput?: boolean;
  readonly seconds: number;
}

async function solveOnWorkers(pending: readonly Pending[], count: number, done: (p: Pending, graph: AdderGraph, seconds: number, where: string) => void): Promise<void> {
  let next = 0;
  const entry = new URL('./solve-worker.mjs', import.meta.url);
  const run = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(entry);
      let current: Pending | undefined;
      const feed = (): void => {
        current = pending[next];
        next += 1;
        if (current === undefined) {
          void worker.terminate().then(() => resolve());
          return;
        }
        worker.postMessage({ matrix: current.job.matrix, inputCount: current.inputCount, options: current.job.options });
      };
      worker.on('message', (reply: WorkerReply) => {
        if (reply.error !== undefined || reply.graph === undefined) {
          void worker.terminate();
          const what = `${current?.job.name ?? 'a constant product'}: ${reply.error ?? 'the solver worker returned no graph'}`;
          reject(reply.badInput === true ? badInput(what) : new Error(what));
          return;
        }
        done(current!, reply.graph, reply.seconds, ` (worker ${index + 1})`);
        feed();
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: count }, (_, i) => run(i)));
}
