/**
 * `npm run bench:ffe [-- --json] [-- --images N] [-- --frames N] [-- --jobs N] [-- --no-yosys] [-- --large]`: the fixed feature extractor on the
 * example MNIST model (all 9 conv layers fixed) and on the real MobileNetV1 0.25's first five layers
 * (QDQ form, 224x224): per arithmetic strategy the generation time and the cost model's figures
 * (docs/costs.md: product adders are those inside the constant weight products, all adders add
 * requantization, pooling, accumulation and control; `multiply` writes one `*` per weight as the paper's
 * flow did, its multipliers are left to synthesis and its product adders only sum the products),
 * then for the default strategy the Verilator build time (uncached), simulated frames per second, cycles
 * per frame against the ideal (input pixels), and a Yosys `synth -top` of the example (cells, time).
 * Throughput is given per wall second and per CPU second (simulator + fixynn), for fixynn verify's
 * default path (binary beat files, --jobs simulator processes at once, default one per core; the integer
 * model on fixynn's main thread beside them, or on worker threads where --jobs leaves cores free, their
 * CPU in fixynn's) and, as the baseline measured in the same run on the same frames, the plain path (text
 * beat files, one process). Each subject's throughput stands beside issue 10's target (the example at
 * K = 9: 500 images/s, MobileNet at K = 5: 10 frames/s, wall on an idle 2-core machine): measured wall (at
 * the load printed, at the start and the end), the CPU seconds of the simulator and of fixynn per frame,
 * and what that CPU allows on the machine's cores idle. The README ("Verification throughput") keeps the
 * figures of its runs, each with its date, load and commit.
 * --large adds MobileNet at K = 13 and 27: Verilator build time, its peak memory, cycles/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { generateDesign } from '../generator/design/generate-design.js';
import type { ArithStrategy } from '../generator/ffe/index.js';
import { partOf } from '../generator/design/manifest.js';
import { ffeCore, type FfeCore } from '../generator/design/core.js';
import { readDesign } from '../generator/design/read-design.js';
import { defaultVerifyJobs, verifyDesign, type VerifySummary } from '../verify/ffe/index.js';
import { MOBILENET_QDQ, photoCrops } from './photos.js';
import { toolVersions, yosysStat } from '../verify/sim/index.js';
import { readFileSync } from 'node:fs';
import { scriptArgs } from './args.js';

const STRATEGIES: readonly ArithStrategy[] = ['multiply', 'csd', 'shared'];
const USAGE = 'npm run bench:ffe [-- --json] [-- --images N] [-- --frames N] [-- --jobs N] [-- --no-yosys] [-- --large]';
const { flags } = scriptArgs(USAGE, { json: 'boolean', 'no-yosys': 'boolean', images: 'number', large: 'boolean', frames: 'number', jobs: 'number' });
const json = flags.json;
const skipYosys = flags['no-yosys'];
const exampleImages = flags.images ?? 1000;
const large = flags.large;
const mobilenetFrames = flags.frames ?? 32;
const jobs = flags.jobs ?? defaultVerifyJobs();
for (const [name, value, least] of [['images', exampleImages, 1], ['frames', mobilenetFrames, 2], ['jobs', jobs, 1]] as const) {
  if (!Number.isInteger(value) || value < least) { console.error(`--${name} ${value}: give a whole number, ${least} or more\nusage: ${USAGE}`); process.exit(2); }
}

interface Subject {
  readonly name: string;
  readonly model: string;
  readonly fixedLayers: string;
  readonly images: number;
  readonly data?: string;
  readonly yosys: boolean;
  /** Issue 10's throughput target: frames per wall second on an idle 2-core machine, verified against the integer model. */
  readonly target: { readonly perSecond: number; readonly unit: string };
}

interface StrategyFigures {
  readonly arith: ArithStrategy;
  readonly generateSeconds: number;
  readonly adders: number;
  readonly productAdders: number;
  readonly multipliers: number;
  readonly adderBits: number;
  readonly nonzeroWeights: number;
  readonly addersPerNonzeroWeight: number | null;
  readonly registerBits: number;
  readonly latencyCycles: number;
}

/** One way of verifying: its build and its throughput over the subject's frames. */
interface PathFigures {
  readonly jobs: number;
  /** Worker threads that ran the integer model (0: fixynn's main thread did, beside the simulator processes). */
  readonly expectWorkers: number;
  readonly beats: 'binary' | 'text';
  readonly verilatorBuildSeconds: number;
  readonly framesPerSecond: number;
  /** Frames per CPU second (simulator + fixynn) after the build: what a machine to itself approaches. */
  readonly framesPerCpuSecond: number | null;
  readonly simulatorCpuSeconds: number | null;
  readonly verifierCpuSeconds: number;
  readonly cyclesPerSecond: number;
  readonly mismatches: number;
}

interface SubjectFigures {
  readonly name: string;
  readonly target: Subject['target'];
  readonly strategies: StrategyFigures[];
  readonly simulation: PathFigures & {
    readonly arith: ArithStrategy;
    readonly images: number;
    readonly data: string;
    readonly cyclesPerFrame: number | null;
    readonly idealCyclesPerFrame: number;
    readonly latency: number | null;
    /** fixynn verify's plain path on the same frames in this run: text beat files, one simulator process. */
    readonly baseline: PathFigures;
  };
  readonly yosys?: { readonly seconds: number; readonly cells: number } | { readonly error: string };
}

const log = (message: string): void => { process.stderr.write(`${message}\n`); };
const loadText = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
/** The wall rates depend on what else runs: the load is printed as it was at the start and at the end. */
const startLoad = loadText();

async function benchSubject(subject: Subject, core: FfeCore, work: string): Promise<SubjectFigures> {
  const strategies: StrategyFigures[] = [];
  for (const arith of STRATEGIES) {
    log(`${subject.name}: generating with --arith ${arith}`);
    const out = path.join(work, `${subject.name}-${arith}`);
    const r = await generateDesign(subject.model, { fixedLayers: subject.fixedLayers, out, arith, pipeline: 0, rawInput: false }, core);
    const c = r.manifest.cost;
    const ffe = partOf(r.manifest, 'ffe');
    strategies.push({
      arith, generateSeconds: r.seconds.generate, adders: c.adders, productAdders: c.productAdders, multipliers: c.multipliers, adderBits: c.adderBits,
      nonzeroWeights: ffe.cost.nonzeroWeights, addersPerNonzeroWeight: ffe.cost.addersPerNonzeroWeight, registerBits: c.registerBits, latencyCycles: r.manifest.top.latencyCycles,
    });
  }
  const design = path.join(work, `${subject.name}-shared`);
  const data = subject.data ? { data: subject.data } : {};
  log(`${subject.name}: baseline (text beat files, one process): Verilator build and ${subject.images} frames`);
  const baseline = await verifyDesign(design, { simulator: 'verilator', images: subject.images, imagesPerRun: subject.images, jobs: 1, beats: 'text', ...data });
  log(`${subject.name}: default path (binary beat files, ${jobs} processes): Verilator build and ${subject.images} frames`);
  const s = await verifyDesign(design, { simulator: 'verilator', images: subject.images, jobs, ...data });
  // Each verifyDesign builds into this run's fresh cache (see main; the two paths are two builds), so buildSeconds is a real build.
  const figures: SubjectFigures = {
    name: subject.name,
    target: subject.target,
    strategies,
    simulation: {
      arith: 'shared', images: s.images, data: s.dataSource, ...pathFigures(s, 'binary'),
      cyclesPerFrame: s.cyclesPerFrame, idealCyclesPerFrame: s.idealCyclesPerFrame, latency: s.latency, baseline: pathFigures(baseline, 'text'),
    },
  };
  return subject.yosys && !skipYosys ? { ...figures, yosys: await synthesize(design) } : figures;
}

function pathFigures(s: VerifySummary, beats: PathFigures['beats']): PathFigures {
  return {
    jobs: s.jobs, expectWorkers: s.expectWorkers, beats, verilatorBuildSeconds: s.buildSeconds, framesPerSecond: s.images / s.simulationSeconds,
    framesPerCpuSecond: s.simulatorCpuSeconds === null ? null : s.images / (s.simulatorCpuSeconds + s.verifierCpuSeconds),
    simulatorCpuSeconds: s.simulatorCpuSeconds, verifierCpuSeconds: s.verifierCpuSeconds,
    cyclesPerSecond: s.simulatedCycles / s.simulatorSeconds, mismatches: s.mismatches,
  };
}

/** A large design (--large): generated once (--arith shared), built in Verilator and one frame simulated bit-exact. */
interface LargeFigures {
  readonly name: string;
  readonly fixedLayers: string;
  readonly generateSeconds: number;
  readonly productAdders: number;
  readonly verilatorBuildSeconds: number;
  readonly buildCpuSeconds: number | null;
  readonly buildPeakMemoryMb: number | null;
  readonly cyclesPerSecond: number;
  readonly cyclesPerCpuSecond: number | null;
  readonly cycles: number;
  readonly mismatches: number;
}

async function benchLarge(fixedLayers: string, core: FfeCore, work: string, data: string): Promise<LargeFigures> {
  const name = `mobilenet-v1-0.25-qdq-first${fixedLayers}`;
  log(`${name}: generating with --arith shared`);
  const out = path.join(work, name);
  const r = await generateDesign(MOBILENET_QDQ, { fixedLayers, out, arith: 'shared', pipeline: 0, rawInput: false }, core);
  log(`${name}: Verilator build and 1 frame`);
  const s = await verifyDesign(out, { simulator: 'verilator', images: 1, data, onProgress: log });
  return {
    name, fixedLayers, generateSeconds: r.seconds.generate, productAdders: r.manifest.cost.productAdders,
    verilatorBuildSeconds: s.buildSeconds, buildCpuSeconds: s.buildCpuSeconds, buildPeakMemoryMb: s.buildPeakMemoryKb === null ? null : s.buildPeakMemoryKb / 1024,
    cyclesPerSecond: s.simulatedCycles / s.simulatorSeconds, cyclesPerCpuSecond: s.simulatorCpuSeconds === null ? null : s.simulatedCycles / s.simulatorCpuSeconds,
    cycles: s.simulatedCycles, mismatches: s.mismatches,
  };
}

function printLarge(results: readonly LargeFigures[]): void {
  const lines = ['== large designs (--large): Verilator build of the flat design, one frame bit-exact against the integer model'];
  for (const r of results) {
    lines.push(`  K=${r.fixedLayers}: generate ${r.generateSeconds.toFixed(0)} s (${r.productAdders} product adders); verilator build ${r.verilatorBuildSeconds.toFixed(0)} s (${r.buildCpuSeconds?.toFixed(0) ?? 'n/a'} CPU s), peak ${r.buildPeakMemoryMb?.toFixed(0) ?? 'n/a'} MB (largest process); ${(r.cyclesPerSecond / 1000).toFixed(1)} k cycles/s wall, ${r.cyclesPerCpuSecond === null ? 'n/a' : (r.cyclesPerCpuSecond / 1000).toFixed(1)} k per CPU second over ${r.cycles} cycles; ${r.mismatches} mismatches`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function synthesize(dir: string): Promise<{ seconds: number; cells: number } | { error: string }> {
  log(`yosys synth -top on ${path.basename(dir)}`);
  const { manifest } = readDesign(dir);
  const files = manifest.rtl.map((r) => ({ name: path.basename(r), text: readFileSync(path.join(dir, r), 'utf8') }));
  const start = performance.now();
  try {
    const stat = await yosysStat(files, manifest.top.module, `synth -top ${manifest.top.module}`);
    return { seconds: (performance.now() - start) / 1000, cells: stat.cells };
  } catch (err) {
    return { error: (err as Error).message.slice(0, 300) };
  }
}

function printText(results: readonly SubjectFigures[], tools: Record<string, string>): void {
  const lines = [`fixynn bench:ffe (${tools.verilator}; ${tools.yosys}; load average ${startLoad} at the start, ${loadText()} at the end, ${availableParallelism()} cores)`, ''];
  for (const r of results) {
    lines.push(`== ${r.name}`);
    lines.push('  arith      gen s  product adders  multipliers  nonzero w  per weight  vs csd  all adders  adder bits  reg bits  latency');
    const base = r.strategies.find((s) => s.arith === 'csd');
    for (const s of r.strategies) {
      const ratio = base && base.productAdders > 0 && s.multipliers === 0 ? (s.productAdders / base.productAdders).toFixed(2) : 'n/a';
      lines.push(`  ${s.arith.padEnd(9)} ${s.generateSeconds.toFixed(2).padStart(6)} ${String(s.productAdders).padStart(15)} ${String(s.multipliers).padStart(12)} ${String(s.nonzeroWeights).padStart(10)} ${(s.addersPerNonzeroWeight?.toFixed(3) ?? 'n/a').padStart(11)} ${ratio.padStart(7)} ${String(s.adders).padStart(11)} ${String(s.adderBits).padStart(11)} ${String(s.registerBits).padStart(9)} ${String(s.latencyCycles).padStart(8)}`);
    }
    lines.push('  (figures from the cost model, docs/costs.md; multiply: one `*` per weight left to synthesis, its product adders only sum the products)');
    const m = r.simulation;
    for (const [label, p] of [['default', m], ['baseline', m.baseline]] as const) {
      lines.push(`  verilator ${label} (${p.beats} beat files, ${p.jobs} process${p.jobs === 1 ? '' : 'es'}${p.expectWorkers > 0 ? `, the integer model on ${p.expectWorkers} worker thread${p.expectWorkers === 1 ? '' : 's'}` : ''}): build ${p.verilatorBuildSeconds.toFixed(1)} s, ${p.framesPerSecond.toFixed(2)} frames/s simulated and compared over ${m.images} frames (${m.data}), ${p.mismatches} mismatches`);
      lines.push(`    CPU: simulator ${p.simulatorCpuSeconds?.toFixed(2) ?? 'n/a'} s + fixynn ${p.verifierCpuSeconds.toFixed(2)} s = ${p.framesPerCpuSecond?.toFixed(1) ?? 'n/a'} frames per CPU second; ${(p.cyclesPerSecond / 1000).toFixed(0)} k cycles/s per simulator process (wall)`);
    }
    lines.push(targetLine(r));
    lines.push(`  cycles/frame ${m.cyclesPerFrame?.toFixed(1) ?? 'n/a'} vs ideal ${m.idealCyclesPerFrame} (${m.cyclesPerFrame ? (m.cyclesPerFrame / m.idealCyclesPerFrame).toFixed(3) : 'n/a'}x), latency ${m.latency ?? 'n/a'} cycles`);
    if (r.yosys) lines.push('error' in r.yosys ? `  yosys synth: FAILED ${r.yosys.error}` : `  yosys synth -top: ${r.yosys.cells} cells in ${r.yosys.seconds.toFixed(1)} s`);
    lines.push('');
  }
  process.stdout.write(lines.join('\n'));
}

/**
 * The default path against the subject's target: the wall figure of this run (it depends on the load),
 * the CPU per frame split between the simulator and fixynn, and the most that CPU allows on this
 * machine's cores when they are idle (cores x frames per CPU second: a bound, not a measurement).
 */
function targetLine(r: SubjectFigures): string {
  const p = r.simulation;
  const { perSecond, unit } = r.target;
  const cores = availableParallelism();
  const perFrame = (cpu: number | null): string => (cpu === null ? 'n/a' : `${((cpu / r.simulation.images) * 1000).toFixed(2)} ms`);
  const bound = p.framesPerCpuSecond === null ? null : p.framesPerCpuSecond * cores;
  const share = p.simulatorCpuSeconds === null ? 'n/a' : `${((100 * p.simulatorCpuSeconds) / (p.simulatorCpuSeconds + p.verifierCpuSeconds)).toFixed(0)}%`;
  const verdict = bound === null ? 'n/a' : bound >= perSecond ? 'reachable' : `MISSED: ${(perSecond / bound).toFixed(2)}x short, the simulator ${share} of the CPU`;
  return `  target ${perSecond} ${unit}/s (wall, idle ${cores} cores): ${p.framesPerSecond.toFixed(1)} ${unit}/s wall in this run; CPU per ${unit.replace(/s$/, '')}: simulator ${perFrame(p.simulatorCpuSeconds)} + fixynn ${perFrame(p.verifierCpuSeconds)}; at most ${bound?.toFixed(0) ?? 'n/a'} ${unit}/s on ${cores} idle cores: ${verdict}`;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'fixynn-bench-ffe-'));
  // A private simulator cache: every build in this run is a real (uncached) build.
  process.env.FIXYNN_SIM_CACHE = path.join(work, 'sim-cache');
  try {
    const core = ffeCore;
    const crops = await photoCrops();
    const subjects: Subject[] = [
      { name: 'example-mnist-k9', model: 'examples/mnist-mobilenet/model.onnx', fixedLayers: '9', images: exampleImages, yosys: true, target: { perSecond: 500, unit: 'images' } },
      { name: 'mobilenet-v1-0.25-qdq-first5', model: MOBILENET_QDQ, fixedLayers: '5', images: mobilenetFrames, data: 'missing' in crops ? 'random' : crops.test, yosys: false, target: { perSecond: 10, unit: 'frames' } },
    ];
    const results: SubjectFigures[] = [];
    for (const subject of subjects) results.push(await benchSubject(subject, core, work));
    const largeResults: LargeFigures[] = [];
    for (const k of large ? ['13', '27'] : []) largeResults.push(await benchLarge(k, core, work, 'missing' in crops ? 'random' : crops.test));
    const tools = await toolVersions();
    if (json) process.stdout.write(`${JSON.stringify({ tools, results, large: largeResults }, null, 2)}\n`);
    else {
      printText(results, tools);
      if (large) printLarge(largeResults);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
