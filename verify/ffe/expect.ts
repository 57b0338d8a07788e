/**
 * What a run of images must give, as the bytes of its beat files: the integer model on each image, its
 * compared layers' outputs packed (BinaryBeatPacker) into the binary files a correct run writes. This is
 * most of fixynn verify's own work per image, and it runs beside the simulator processes: on the calling
 * thread while they simulate (RunPacker alone), or on worker threads (ExpectPool, expect-worker.mjs) where
 * cores are left free and the verification is large enough to pay for their start-up (expectWorkers). Both run this one code, so the
 * bytes are the same wherever they were made.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Stream } from '../../generator/contract/stream.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { BinaryBeatPacker } from './beat-files.js';

/** A stream of the design compared against the integer model: a layer's tap by index, or the top's output. */
export interface ExpectedStream {
  readonly key: number | 'output';
  /** The integer model's tensor the stream carries. */
  readonly tensor: string;
  readonly format: Stream;
  /** out.bin: the tuser and tlast flags after each beat. */
  readonly withFlags: boolean;
}

/** Per stream (in the order of the streams given), its packed file, or null where bytes cannot stand in for the values. */
export type PackedRun = Array<Uint8Array | null>;

/** The integer model and one packer per stream; the packers' buffers are reused from run to run. */
export class RunPacker {
  private readonly model: IntegerModel;
  private readonly packers: BinaryBeatPacker[];

  constructor(graph: QuantizedGraph, private readonly streams: readonly ExpectedStream[]) {
    this.model = new IntegerModel(graph);
    this.packers = streams.map((s) => new BinaryBeatPacker(s.format, s.withFlags));
  }

  /**
   * The run's files, packed image by image as the model runs (no image's outputs are kept). They are
   * views of the packers' buffers, valid until the next pack; a buffer transferred away is replaced by
   * the stream's `spares` entry (an earlier run's buffer given back) or a new one.
   */
  pack(inputs: readonly Int32Array[], spares: ReadonlyArray<ArrayBuffer | undefined> = []): PackedRun {
    const { packers, streams } = this;
    packers.forEach((p, i) => p.start(inputs.length, spares[i]));
    inputs.forEach((input, f) => {
      const activations = this.model.run(input, { reuse: true });
      for (let i = 0; i < packers.length; i++) (packers[i] as BinaryBeatPacker).add(f, activations.get((streams[i] as ExpectedStream).tensor) as Int32Array);
    });
    return packers.map((p) => p.bytes());
  }
}

/** What the pool sends a worker once (workerData). */
export interface ExpectWorkerData {
  readonly graph: QuantizedGraph;
  readonly streams: readonly ExpectedStream[];
}

/** A job and its reply (the packed files' buffers transferred both ways). */
export interface ExpectJob {
  readonly id: number;
  readonly inputs: readonly Int32Array[];
  readonly spares: ReadonlyArray<ArrayBuffer | undefined>;
}
export type ExpectReply = { readonly id: number; readonly packed: PackedRun; readonly error?: undefined } | { readonly id: number; readonly error: string };

/**
 * Worker threads making RunPacker's files. Jobs go to the worker with the fewest waiting; each reply's
 * buffers are transferred to the caller, who gives them back (recycle) once the run is checked, for a
 * later job to pack into (fresh megabytes per run cost page faults). Their CPU time is this process's
 * (process.cpuUsage counts every thread), so it stays in fixynn's share of a verification's figures.
 */
export class ExpectPool {
  private readonly waiting = new Map<number, { readonly resolve: (p: PackedRun) => void; readonly reject: (e: Error) => void; readonly worker: number }>();
  private readonly load: number[];
  private readonly spares: ArrayBuffer[][];
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(private readonly workers: readonly Worker[], streams: number) {
    this.load = workers.map(() => 0);
    this.spares = Array.from({ length: streams }, () => []);
    workers.forEach((worker, w) => {
      worker.on('message', (reply: ExpectReply | 'ready') => {
        if (reply === 'ready') return;
        const job = this.waiting.get(reply.id);
        if (job === undefined) return;
        this.waiting.delete(reply.id);
        this.load[w] = (this.load[w] as number) - 1;
        if (reply.error !== undefined) job.reject(new Error(`integer model worker: ${reply.error}`));
        else job.resolve(reply.packed);
      });
      worker.on('error', (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
      worker.on('exit', (code) => { if (code !== 0) this.fail(new Error(`integer model worker exited with code ${code}`)); });
    });
  }

  /** `count` workers, each ready (its modules loaded) when the promise resolves. */
  static async start(count: number, data: ExpectWorkerData): Promise<ExpectPool> {
    const workers = Array.from({ length: count }, () => new Worker(new URL('./expect-worker.mjs', import.meta.url), { workerData: data }));
    const starting = workers.map((worker) => {
      const events: { message?: (m: unknown) => void; error?: (e: Error) => void; exit?: (code: number) => void } = {};
      const ready = new Promise<void>((resolve, reject) => {
        events.message = (m) => { if (m === 'ready') resolve(); };
        events.error = reject;
        events.exit = (code) => reject(new Error(`integer model worker exited with code ${code} while starting`));
      });
      for (const [name, listener] of Object.entries(events)) worker.on(name, listener);
      // Only these listeners go (removeAllListeners would take Node's own with them).
      const done = (): void => { for (const [name, listener] of Object.entries(events)) worker.off(name, listener); };
      return ready.finally(done);
    });
    try {
      await Promise.all(starting);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      await Promise.allSettled(starting);
      throw err;
    }
    return new ExpectPool(workers, data.streams.length);
  }

  /** The packed files of a run of these inputs, made on the least loaded worker. */
  expect(inputs: readonly Int32Array[]): Promise<PackedRun> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let w = 0;
    for (let i = 1; i < this.load.length; i++) if ((this.load[i] as number) < (this.load[w] as number)) w = i;
    this.load[w] = (this.load[w] as number) + 1;
    const id = this.nextId++;
    const spares = this.spares.map((free) => free.pop());
    const job: ExpectJob = { id, inputs, spares };
    return new Promise<PackedRun>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, worker: w });
      (this.workers[w] as Worker).postMessage(job, spares.filter((s): s is ArrayBuffer => s !== undefined));
    });
  }

  /** Gives a checked run's buffers back for later jobs. */
  recycle(packed: PackedRun): void {
    packed.forEach((bytes, i) => { if (bytes !== null && bytes.buffer instanceof ArrayBuffer) this.spares[i]?.push(bytes.buffer); });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const job of this.waiting.values()) job.reject(this.failure);
    this.waiting.clear();
  }
}

/**
 * Below this many multiply-accumulates of the integer model over a whole verification, it runs on the
 * calling thread: a worker's start-up (loading the TypeScript modules, about 0.5 CPU s here) costs more
 * than it would take off the main thread. The example at K = 9 does 0.35 M per digit.
 */
export const WORKER_MIN_MACS = 100e6;

/**
 * Worker threads for a verification: only on cores the simulator processes leave free (jobs below the
 * core count, e.g. --jobs 1 on two cores), at most one per run, and none for a small verification
 * (WORKER_MIN_MACS) or a single run (nothing to overlap). The simulators are processes of their own, so
 * the calling thread's integer model already runs beside them; a worker only adds a thread, and where
 * the simulators take every core it adds CPU too (measured on the example at K = 9 with 2 simulators on
 * 2 cores, load 4-5, while fixynn still forked itself for each run: fixynn 2.1-2.2 CPU ms per digit with
 * one worker against 1.8-1.9 without, the same wall rate): a worker compiles the model's loops again (its
 * JIT starts cold; the first thousand digits cost about 0.6 CPU ms more each than warm ones, load 7).
 */
export function expectWorkers(graph: QuantizedGraph, images: number, runs: number, jobs: number): number {
  if (runs < 2 || images * modelMacs(graph) < WORKER_MIN_MACS) return 0;
  return Math.max(0, Math.min(availableParallelism() - jobs, runs));
}

/** The integer model's multiply-accumulates per image: one per nonzero weight per output pixel of each conv and gemm. */
export function modelMacs(graph: QuantizedGraph): number {
  let macs = 0;
  for (const layer of graph.layers) {
    if (layer.kind !== 'conv' && layer.kind !== 'gemm') continue;
    const [, h = 1, w = 1] = graph.tensors[layer.output]?.shape ?? [];
    let nonzero = 0;
    for (const weight of layer.weights) if (weight !== 0) nonzero++;
    macs += nonzero * (layer.kind === 'conv' ? h * w : 1);
  }
  return macs;
}
