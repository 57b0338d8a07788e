/**
 * `fixynn verify` without the command line: a generated design folder, N images streamed back to back
 * through its RTL in Verilator or Icarus, throughput and latency measured from the testbench's cycle
 * stamps. Checked per part (each part kind's hook: for `ffe`, every layer's tap against the integer
 * model) and as a whole (the top's output stream, data and flags, against the last part's expected
 * output). A new part kind adds its case to checkPart.
 */
import { availableParallelism } from 'node:os';
import type { LoadInputsOptions } from '../../generator/data/index.js';
import { expectedOf, inputsOf, rawPixelsOf, stimulusImages } from '../../generator/design/stimulus.js';
import { inputRangeWarning } from '../../generator/quant/input-range.js';
import { partOf, type FfePart, type Part } from '../../generator/design/manifest.js';
import { readDesign, type LoadedDesign } from '../../generator/design/read-design.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { SimulatorName } from '../sim/index.js';
import { buildFfe, type BeatFiles, type FfeBuildOptions } from './build.js';
import { compareFile, describeMismatch, type Mismatch } from './compare.js';
import { beatFilesOf, runFrames, type RunResult, type Stalls } from './run.js';
import { ReadBuffers, type BeatBytes } from './beat-files.js';
import { Spawner } from './spawner.js';
import { ExpectPool, expectWorkers, RunPacker, type ExpectedStream, type PackedRun } from './expect.js';

export { describeMismatch, type Mismatch } from './compare.js';
export type { Stalls } from './run.js';

export interface VerifyOptions {
  readonly simulator: SimulatorName;
  /** Images to stream (the first ones of the data source). */
  readonly images: number;
  /** --data: as generator/data's loadInputs (default: the bundled MNIST test digits where they fit). */
  readonly data?: string;
  readonly traceFile?: string;
  /** --scale/--mean/--std given on the command line; the rest as the manifest records (generate's). */
  readonly preprocess?: Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'>;
  readonly stalls?: Stalls;
  /**
   * Images per simulator run (progress is shown between runs). Default: 250, fewer where that leaves a
   * job without a run, but at least 2 (cycles per frame are measured within a run).
   */
  readonly imagesPerRun?: number;
  /** Simulator processes run at once, each on its own share of the images (default: defaultVerifyJobs()). */
  readonly jobs?: number;
  /**
   * Worker threads running the integer model and packing the expected files (0: on this thread). Default:
   * verify/ffe/expect.ts expectWorkers (none for a small verification, else one per simulator process).
   */
  readonly expectWorkers?: number;
  /** The testbench's beat files (default binary; text: the hex lines, as the standalone testbench writes them). */
  readonly beats?: BeatFiles;
  /** The testbench's cycle limit per run (default: generous, see verify/ffe/run.ts). */
  readonly maxCycles?: number;
  readonly onProgress?: (message: string) => void;
  /** Simulate these sources instead of the design's RTL (a gate-level netlist and its cell models: verify/synth). */
  readonly rtl?: FfeBuildOptions['rtl'];
  /** Icarus: further top-level modules and plusargs (verify/synth's toggle counter). */
  readonly extraRoots?: FfeBuildOptions['extraRoots'];
  readonly plusargs?: readonly string[];
}

export interface VerifySummary {
  readonly design: string;
  readonly images: number;
  readonly dataSource: string;
  readonly randomData: boolean;
  /** Values (and whole beats) that differ from the integer model, over all taps and the output stream. */
  readonly mismatches: number;
  readonly mismatchedImages: number;
  readonly firstMismatch: Mismatch | null;
  /**
   * Mean cycles between consecutive frames' first output beats (null with fewer than 2 frames per run);
   * with 3+ frames per run the last frame's is left out (its tails are flushed early, see Tally).
   */
  readonly cyclesPerFrame: number | null;
  /** The same between frames' first input beats: above the ideal when the design holds s_tready low. */
  readonly inputCyclesPerFrame: number | null;
  readonly idealCyclesPerFrame: number;
  /** First input beat accepted -> first output beat accepted, measured (null when no output came). */
  readonly latency: number | null;
  readonly latencyPredicted: number;
  readonly stalls: Stalls | null;
  readonly simulator: SimulatorName;
  readonly simulatorVersion: string;
  readonly buildSeconds: number;
  /** Largest resident memory of one process of the simulator build, kB (null: cached, or not measurable here). */
  readonly buildPeakMemoryKb: number | null;
  /** CPU seconds of the simulator build (null: cached, or not measurable here). */
  readonly buildCpuSeconds: number | null;
  /** Wall seconds of everything after the build: stimulus, integer model, simulator runs, comparison. */
  readonly simulationSeconds: number;
  /** Simulator processes run at once (the images sharded over them). */
  readonly jobs: number;
  /** Worker threads that ran the integer model (0: this thread did). */
  readonly expectWorkers: number;
  /** Wall seconds of the simulator processes alone (summed over them), and the clock cycles they simulated. */
  readonly simulatorSeconds: number;
  readonly simulatedCycles: number;
  /**
   * CPU seconds after the build: the simulator processes' (null where GNU time is missing) and this
   * process's, its worker threads included (stimulus, integer model, comparison). On a shared machine
   * these say what the wall times cannot.
   */
  readonly simulatorCpuSeconds: number | null;
  readonly verifierCpuSeconds: number;
}

/**
 * Simulator processes at once by default: $FIXYNN_VERIFY_JOBS, else one per core. A simulation is one
 * thread of design evaluation, so the images are sharded over processes to use the machine.
 */
export function defaultVerifyJobs(): number {
  const given = Number(process.env.FIXYNN_VERIFY_JOBS);
  return Number.isInteger(given) && given >= 1 ? given : availableParallelism();
}

/** Most images per simulator run by default (VerifyOptions.imagesPerRun). */
export const RUN_IMAGES = 250;

export async function verifyDesign(dir: string, options: VerifyOptions): Promise<VerifySummary> {
  const design = readDesign(dir);
  const { manifest } = design;
  const ffe = partOf(manifest, 'ffe', design.dir);
  const data = stimulusImages(ffe, options.data, options.images, options.preprocess);
  if (data.images.length < options.images) options.onProgress?.(`note: ${options.images} images asked for, ${data.source} gives ${data.images.length}`);
  const warning = inputRangeWarning(ffe.quantization, data.images, data.source);
  if (warning !== undefined) options.onProgress?.(`warning: ${warning}`);
  const model = new IntegerModel(ffe.quantization);
  const raw = ffe.options.rawInput ? rawPixelsOf(data.images, data.raw, data.source) : undefined;
  const total = data.images.length;
  const jobs = Math.max(1, Math.floor(options.jobs ?? defaultVerifyJobs()));
  // Runs of at most 250 images (progress between them), one per job where there are enough, and at least
  // two images each: the cycles per frame are measured between frames of one run. Not smaller: each run
  // forks this process (its page tables copied, then a copy-on-write fault for each page it writes next).
  const perRun = Math.max(1, options.imagesPerRun ?? Math.min(RUN_IMAGES, Math.max(2, Math.ceil(total / jobs))));
  const firsts = Array.from({ length: Math.ceil(total / perRun) }, (_, i) => i * perRun);
  const streams = expectedStreams(manifest, ffe);
  // The integer model's worker threads start loading now, beside the simulator build (binary beat files only:
  // text files are compared value by value).
  const workers = options.beats === 'text' ? 0 : Math.max(0, Math.floor(options.expectWorkers ?? expectWorkers(ffe.quantization, total, firsts.length, jobs)));
  const starting = workers > 0 ? ExpectPool.start(workers, { graph: ffe.quantization, streams }) : null;
  starting?.catch(() => undefined); // awaited after the build; a failure before then is not unhandled
  try {
    const build = await buildFfe(design, options.simulator, {
      trace: options.traceFile !== undefined, ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.rtl ? { rtl: options.rtl } : {}), ...(options.extraRoots ? { extraRoots: options.extraRoots } : {}),
      ...(options.beats ? { beats: options.beats } : {}),
    });
    // Ready before the clock starts: their start-up is start-up, as this thread's module loading is.
    const pool = build.beats === 'binary' && starting !== null ? await starting : null;
    const inThread = build.beats === 'binary' && pool === null ? new RunPacker(ffe.quantization, streams) : null;
    const tally = new Tally();
    const simStart = performance.now();
    const cpuStart = process.cpuUsage();
    // Up to `jobs` simulator processes at once; the integer model packs each run's expected files beside them
    // (on the pool's workers from the run's launch, or on this thread while earlier runs simulate), and this
    // thread checks the results in order (the first mismatch is the first in the stream).
    const inFlight: Array<{ first: number; inputs: Int32Array[]; running: Promise<RunResult>; expecting: Promise<PackedRun> | null }> = [];
    // Buffers reused from run to run (fresh megabytes per run cost more in page faults than the work), and
    // the simulators started by a shell so that this process never forks (which would make each of those
    // pages fault again when next written).
    const buffers = new ReadBuffers();
    const spawner = new Spawner();
    const launch = (first: number): void => {
      const inputs = inputsOf(ffe, data.images.slice(first, first + perRun), raw?.slice(first, first + perRun), model);
      const expecting = pool?.expect(inputs) ?? null;
      expecting?.catch(() => undefined); // awaited below in order
      const running = runFrames(build, manifest, inputs, {
        ...(options.stalls ? { stalls: options.stalls } : {}),
        ...(options.maxCycles !== undefined ? { maxCycles: options.maxCycles } : {}),
        ...(options.traceFile !== undefined && first === 0 ? { traceFile: options.traceFile } : {}),
        ...(options.plusargs ? { plusargs: options.plusargs.map((a) => a.replace('{run}', String(first / perRun))) } : {}),
        buffers, spawner,
      });
      running.catch(() => undefined); // awaited below in order; a failure before then is not unhandled
      inFlight.push({ first, inputs, running, expecting });
    };
    let next = 0;
    try {
      while (next < firsts.length && inFlight.length < jobs) launch(firsts[next++] as number);
      while (inFlight.length > 0) {
        const run = inFlight[0] as (typeof inFlight)[number];
        // Expected outputs per run only: all layers of all images at once would not fit for large inputs.
        const packedHere = inThread?.pack(run.inputs) ?? null;
        const result = await run.running;
        inFlight.shift();
        if (next < firsts.length) launch(firsts[next++] as number);
        const packed = run.expecting === null ? packedHere : await run.expecting;
        const expected: RunExpectation = {
          packed: new Map(streams.map((s, i) => [s.key, packed?.[i] ?? null])),
          // The values themselves only where a file differs or is text: the model runs again for them (rare).
          values: () => expectedOf(ffe, run.inputs, model),
        };
        tally.add(checkRun(design, result, expected, run.first), result, run.inputs.length);
        buffers.release(beatFilesOf(result));
        if (packed !== null && run.expecting !== null) pool?.recycle(packed);
        options.onProgress?.(`simulated ${tally.images}/${total} images, ${tally.mismatchedImages.size} with mismatches`);
      }
    } finally {
      // On an error let every started run end and clean its folder before reporting.
      await Promise.allSettled(inFlight.map((r) => r.running));
      spawner.close();
    }
    return {
      design: manifest.top.module,
      images: total,
      dataSource: data.source,
      randomData: data.random,
      mismatches: tally.mismatches,
      mismatchedImages: tally.mismatchedImages.size,
      firstMismatch: tally.first,
      cyclesPerFrame: tally.output.perFrame(),
      inputCyclesPerFrame: tally.input.perFrame(),
      idealCyclesPerFrame: manifest.top.throughput.idealCyclesPerFrame,
      latency: tally.latency,
      latencyPredicted: manifest.top.latencyCycles,
      stalls: options.stalls ?? null,
      simulator: options.simulator,
      simulatorVersion: build.toolVersion,
      buildSeconds: build.buildSeconds,
      buildPeakMemoryKb: build.peakMemoryKb,
      buildCpuSeconds: build.buildCpuSeconds,
      simulationSeconds: (performance.now() - simStart) / 1000,
      jobs: Math.min(jobs, firsts.length),
      expectWorkers: pool === null ? 0 : workers,
      simulatorSeconds: tally.simulatorSeconds,
      simulatedCycles: tally.cycles,
      simulatorCpuSeconds: tally.simulatorCpuSeconds,
      verifierCpuSeconds: cpuSecondsSince(cpuStart),
    };
  } finally {
    if (starting !== null) await starting.then((pool) => pool.close(), () => undefined);
  }
}

interface RunCheck {
  readonly differences: number;
  readonly imagesWithDifferences: number[];
  readonly first: Mismatch | null;
}

/**
 * What a run must give. Per stream (a layer's tap by index, or 'output') the binary beat file the integer
 * model's values make (verify/ffe/expect.ts; null where it cannot stand in for the values, or for text
 * files); the values themselves ([image][layer]) only when a file differs from it or is text.
 */
interface RunExpectation {
  readonly packed: ReadonlyMap<number | 'output', Uint8Array | null>;
  readonly values: () => Int32Array[][];
}

/** The compared streams of the fixed part: each layer with a tap, and the top's output (with its flags). */
function expectedStreams(manifest: LoadedDesign['manifest'], ffe: FfePart): ExpectedStream[] {
  const { layers } = ffe.quantization;
  const tensorOf = (k: number): string => (layers[k] as (typeof layers)[number]).output;
  const streams: ExpectedStream[] = ffe.layers.flatMap((layer, k) => (layer.tap === null ? [] : [{ key: k, tensor: tensorOf(k), format: layer.out, withFlags: false }]));
  streams.push({ key: 'output', tensor: tensorOf(layers.length - 1), format: manifest.top.output, withFlags: true });
  return streams;
}

/** A stream of the design to compare: its beat file from the run and what it must carry. */
interface CheckedStream {
  readonly name: string;
  readonly layer: number | 'output';
  readonly file: BeatBytes;
  readonly packed: Uint8Array | null;
  /** Per image of the run, the frame the stream must carry (computed on demand: see RunExpectation). */
  readonly expected: () => Int32Array[];
}

/**
 * Each part kind's hook: the streams inside that part to compare (its internal taps). A new part kind
 * is one more case (the compiler asks for it: the switch must cover every kind).
 */
function checkPart(part: Part, result: RunResult, expected: RunExpectation): CheckedStream[] {
  switch (part.kind) {
    case 'ffe':
      return ffeTaps(part, result, expected);
    case 'accel':
      // The accelerator runs programs, not streams: verify/accel checks it (verifyAccelDesign).
      throw new Error(`internal: part '${part.name}' (accel) is verified by verify/accel, not by the stream checker`);
  }
}

/** Every fixed layer's tap; layers fused inside the next layer's module have no tap. */
function ffeTaps(part: FfePart, result: RunResult, expected: RunExpectation): CheckedStream[] {
  return part.layers.flatMap((layer, k) => layer.tap === null ? [] : [{
    name: layer.name, layer: k, file: result.taps[k] ?? { bytes: new Uint8Array(0), kind: result.out.kind, format: layer.out, withFlags: false },
    packed: expected.packed.get(k) ?? null, expected: () => expected.values().map((e) => e[k] as Int32Array),
  }]);
}

function checkRun(design: LoadedDesign, result: RunResult, expected: RunExpectation, firstFrame: number): RunCheck {
  const { manifest } = design;
  const ffe = partOf(manifest, 'ffe', design.dir);
  const streams = manifest.parts.flatMap((part) => checkPart(part, result, expected));
  // The whole: the top's output stream (data, tuser and tlast) against the last part's last output.
  const last = ffe.layers[ffe.layers.length - 1];
  streams.push({
    name: last?.name ?? '', layer: 'output', file: result.out, packed: expected.packed.get('output') ?? null,
    expected: () => expected.values().map((e) => e[e.length - 1] as Int32Array),
  });
  let differences = 0;
  let first: Mismatch | null = null;
  const images = new Set<number>();
  const layers = ffe.layers.length;
  for (const s of streams) {
    const r = compareFile(s.name, s.layer, s.file, s.packed, s.expected, firstFrame);
    differences += r.differences;
    for (const f of r.frames) images.add(f);
    if (r.first) {
      if (first === null || r.first.frame < first.frame || (r.first.frame === first.frame && orderOf(r.first, layers) < orderOf(first, layers))) first = r.first;
    }
  }
  if (result.endCycle === null) {
    // The testbench waits for every output beat and every tap's beats; it stops at its cycle limit only when some never came.
    const gaveUp = `the testbench gave up after ${result.gaveUpCycle ?? result.maxCycles} cycles (limit ${result.maxCycles}) waiting for the missing beats`;
    if (first === null) {
      first = { frame: firstFrame, layer: 'output', layerName: last?.name ?? '', row: 0, col: 0, channel: null, expected: 'every output and tap beat', actual: `${gaveUp} (the design hangs)` };
      differences++;
    } else if (first.channel === null) {
      first = { ...first, actual: `${String(first.actual)}; ${gaveUp}` };
    }
  }
  return { differences, imagesWithDifferences: [...images], first };
}

function orderOf(m: Mismatch, layers: number): number {
  return m.layer === 'output' ? layers : m.layer;
}

/** Mismatches and cycle stamps summed over the runs of one verification. */
class Tally {
  mismatches = 0;
  readonly mismatchedImages = new Set<number>();
  first: Mismatch | null = null;
  latency: number | null = null;
  readonly output = new FrameIntervals();
  readonly input = new FrameIntervals();
  simulatorSeconds = 0;
  simulatorCpuSeconds: number | null = 0;
  cycles = 0;
  images = 0;

  add(check: RunCheck, result: RunResult, images: number): void {
    this.images += images;
    this.simulatorSeconds += result.simulatorSeconds;
    this.simulatorCpuSeconds = this.simulatorCpuSeconds === null || result.simulatorCpuSeconds === null ? null : this.simulatorCpuSeconds + result.simulatorCpuSeconds;
    this.cycles += result.endCycle ?? result.gaveUpCycle ?? 0;
    this.mismatches += check.differences;
    for (const i of check.imagesWithDifferences) this.mismatchedImages.add(i);
    if (this.first === null && check.first !== null) this.first = check.first;
    const starts = result.outputStarts;
    if (this.latency === null && starts.length > 0 && result.inputStarts.length > 0) this.latency = (starts[0] as number) - (result.inputStarts[0] as number);
    // The last frame of a run is followed by no input: the units flush their frame tails at once, so
    // its outputs can start earlier than in the steady state. With 3+ frames it is left out.
    this.output.add(starts.length >= 3 ? starts.slice(0, -1) : starts);
    this.input.add(result.inputStarts);
  }
}

/** Mean cycles between consecutive frame starts, over several runs. */
class FrameIntervals {
  private cycles = 0;
  private count = 0;

  add(starts: readonly number[]): void {
    if (starts.length < 2) return;
    this.cycles += (starts[starts.length - 1] as number) - (starts[0] as number);
    this.count += starts.length - 1;
  }

  perFrame(): number | null {
    return this.count === 0 ? null : this.cycles / this.count;
  }
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** One line per fact, for the text report. */
export function formatSummary(s: VerifySummary): string {
  const ratio = s.cyclesPerFrame === null ? '' : ` (${(s.cyclesPerFrame / s.idealCyclesPerFrame).toFixed(3)}x)`;
  const lines = [
    `design: ${s.design}`,
    `simulator: ${s.simulatorVersion}`,
    `images: ${s.images} from ${s.dataSource}${s.randomData ? ' (RANDOM inputs)' : ''}${s.stalls ? `, random stalls (s_tvalid ${s.stalls.input}/256, m_tready ${s.stalls.output}/256, seed ${s.stalls.seed})` : ''}`,
    `cycles per frame: ${s.cyclesPerFrame === null ? 'n/a (needs 2 or more frames per run)' : s.cyclesPerFrame.toFixed(1)}, ideal ${s.idealCyclesPerFrame}${ratio}${s.stalls ? ' (with stalls)' : ''}; input side ${s.inputCyclesPerFrame?.toFixed(1) ?? 'n/a'}`,
    `latency: ${s.latency ?? 'n/a'} cycles (predicted ${s.latencyPredicted})`,
    `build ${s.buildSeconds.toFixed(1)} s${s.buildPeakMemoryKb === null ? '' : ` (${s.buildCpuSeconds?.toFixed(1) ?? '?'} CPU s, peak ${(s.buildPeakMemoryKb / 1024).toFixed(0)} MB)`}, simulation ${s.simulationSeconds.toFixed(1)} s (${(s.images / s.simulationSeconds).toFixed(1)} images/s)`,
    `the simulator (${s.jobs} process${s.jobs === 1 ? '' : 'es'} at once): ${s.simulatorSeconds.toFixed(1)} s for ${s.simulatedCycles} cycles (${(s.simulatedCycles / Math.max(s.simulatorSeconds, 1e-9) / 1000).toFixed(0)} k cycles/s each)${s.simulatorCpuSeconds === null ? '' : `; CPU: the simulator ${s.simulatorCpuSeconds.toFixed(1)} s, fixynn ${s.verifierCpuSeconds.toFixed(1)} s`}${s.expectWorkers > 0 ? ` (the integer model on ${s.expectWorkers} worker thread${s.expectWorkers === 1 ? '' : 's'})` : ''}`,
    s.mismatches === 0
      ? `bit-exact: every tap of every image equals the integer model`
      : `MISMATCH: ${s.mismatches} values differ in ${s.mismatchedImages} image(s); first: ${s.firstMismatch ? describeMismatch(s.firstMismatch) : '?'}`,
  ];
  return `${lines.join('\n')}\n`;
}
