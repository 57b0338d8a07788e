/**
 * `fixynn verify DIR [--program PROG]` for a design with an accelerator part: the verification ladder
 * integer model -> ISA simulator -> RTL. Every image runs in the ISA simulator against the integer model
 * layer by layer (the first differing layer/pixel/channel is named with the instruction that wrote it:
 * a compiler bug); then all images run on the design's own Verilog in Verilator or Icarus (one process):
 * pixels in through the input stream, scores and class out through the output stream, which must equal
 * the ISA simulator's and what the host port reads from MEM (an RTL bug otherwise). A fault stops the RTL with the error bit: the faulting pc and its instruction are reported.
 * Cycles: measured per layer on the RTL (first compute start to last end, first image) beside the cycle
 * model's prediction.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AccelFault, checkAgainstIntegerModel, configFingerprint, type CompiledProgram, describeAccelMismatch, formatInstruction, readCompiled, REFERENCE_MEMORY, replayCycles, type AccelMismatch } from '../../generator/accel/index.js';
import { FAULT } from '../../generator/accel/rtl/top.js';
import { queueOf } from '../../generator/accel/isa.js';
import { badInput } from '../../generator/common/errors.js';
import { loadInputs, type LoadInputsOptions } from '../../generator/data/index.js';
import { givenOrRecorded } from '../../generator/design/stimulus.js';
import { z } from 'zod';
import { partOf, preprocessSchema, type AccelPart } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { parseQuantizedGraph } from '../../generator/quant/serialize.js';
import type { SimulatorName } from '../sim/index.js';
import { buildAccelFiles, REFERENCE_MEMORY as TESTBENCH_REFERENCE_MEMORY } from './rtl-sim.js';
import { type RtlProgramRun, runProgramOnRtl } from './run-program.js';

/** The program folder's copy of its model's integer model (`fixynn compile --out` writes it). */
export const PROGRAM_INTEGER_MODEL = 'integer-model.json';
/** The program folder's quantization record (flags, calibration source, preprocessing), as a design's part records it. */
export const PROGRAM_QUANTIZATION = 'quantization.json';

export interface AccelVerifyOptions {
  readonly simulator: SimulatorName;
  readonly images: number;
  readonly data?: string;
  /** A program folder from `fixynn compile` (default: the design's own program). */
  readonly program?: string;
  /** --scale/--mean/--std; default: as recorded (the program folder's quantization.json, else the part's). */
  readonly preprocess?: Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'>;
  readonly onProgress?: (message: string) => void;
  /**
   * Sources simulated instead of the design's RTL (e.g. a gate-level netlist with its cell and SRAM macro
   * models; the testbench stays the design's), further top-level modules and plusargs
   * (verify/synth's toggle and access counter).
   */
  readonly rtl?: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  readonly extraRoots?: ReadonlyArray<{ readonly module: string; readonly text: string }>;
  readonly plusargs?: readonly string[];
  /** Verilator: further build flags (verify/synth's toggle coverage). */
  readonly verilatorFlags?: readonly string[];
  /** The simulator run's time limit (default 15 minutes). */
  readonly timeoutMs?: number;
}

export interface AccelLayerCycles {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  readonly predicted: number;
  readonly measured: number | null;
  readonly macs: number;
  readonly utilization: number;
  /** Bytes the layer's LOADs and STOREs move. */
  readonly bytes: { readonly load: number; readonly store: number };
  /** The cycle model's prediction with issue 12's reference memory (16 B/cycle, 100-cycle latency). */
  readonly predictedReferenceMemory: number;
}

export interface AccelVerifySummary {
  readonly design: string;
  readonly program: string;
  readonly images: number;
  readonly dataSource: string;
  readonly simulator: SimulatorName;
  /** Where MEM lives: on chip (measured against `predicted`), or behind AXI4 on the reference memory (against `predictedReferenceMemory`). */
  readonly memory: 'onchip' | 'axi';
  /** Images where the ISA simulator differs from the integer model, and the first difference. */
  readonly isaMismatches: number;
  readonly isaFirst: (AccelMismatch & { image: number; text: string }) | null;
  /** Images where the RTL differs from the ISA simulator (scores or class), and the first difference. */
  readonly rtlMismatches: number;
  readonly rtlFirst: string | null;
  /** The RTL's faults: the first one with its pc, cause and instruction. */
  readonly fault: string | null;
  readonly classes: readonly number[];
  readonly totalCycles: { readonly predicted: number; readonly measured: number | null; readonly predictedReferenceMemory: number };
  /** Bytes the whole program moves between MEM and the scratchpads. */
  readonly bytes: { readonly load: number; readonly store: number };
  readonly layers: readonly AccelLayerCycles[];
  readonly buildSeconds: number;
  readonly simulationSeconds: number;
}

const CAUSES = Object.fromEntries(Object.entries(FAULT).map(([name, code]) => [code, name])) as Record<number, string>;

export async function verifyAccelDesign(dir: string, options: AccelVerifyOptions): Promise<AccelVerifySummary> {
  const design = readDesign(dir);
  const part = partOf(design.manifest, 'accel', design.dir);
  const programDir = options.program ?? design.pathOf(part.program.dir);
  const compiled = readCompiled(programDir);
  checkSameChip(part, compiled, programDir);
  const graph = options.program === undefined ? part.quantization : programGraph(programDir);
  const model = new IntegerModel(graph);
  const recorded = options.program === undefined ? part.options.preprocess : programPreprocessing(programDir, part.options.preprocess);
  const data = loadInputs(options.data, graph.input.shape, { count: options.images, ...givenOrRecorded(options.preprocess, recorded) });
  const inputs = data.images.map((img) => model.quantizeInput(img));
  const outTensor = graph.tensors[compiled.layout.output.tensor];
  if (!outTensor) throw badInput(`${programDir}: the program's output tensor '${compiled.layout.output.tensor}' is not in its integer model`);

  // Rung 1: the ISA simulator against the integer model, every layer.
  options.onProgress?.(`ISA simulator: ${inputs.length} image(s) against the integer model`);
  const { checks: isa, isaMismatches, isaFirst, fault: isaFault } = checkProgramOnIsa(compiled, graph, model, inputs);
  let fault = isaFault;

  // Rung 2: the RTL against the ISA simulator, scores and class.
  const files = [
    ...(options.rtl ?? design.manifest.rtl.map((f) => ({ name: path.basename(f), text: readFileSync(design.pathOf(f), 'utf8') }))),
    { name: path.basename(design.manifest.testbench.verilog), text: readFileSync(design.pathOf(design.manifest.testbench.verilog), 'utf8') },
    ...(options.extraRoots ?? []).map((r) => ({ name: `${r.module}.v`, text: r.text })),
  ];
  const build = await buildAccelFiles(files, part.config, options.simulator, {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.extraRoots ? { extraRoots: options.extraRoots.map((r) => r.module) } : {}),
    ...(options.verilatorFlags ? { verilatorFlags: options.verilatorFlags } : {}),
  });
  options.onProgress?.(`${options.simulator}: ${inputs.length} image(s) on the RTL`);
  const simStart = performance.now();
  // MEM behind the AXI4 master (generate --accel-mem axi): the testbench's memory is issue 12's reference
  // memory, so the measured cycles compare with the cycle model's reference-memory prediction.
  const axi = part.config.memory === 'axi';
  const runs = await runProgramOnRtl(build, compiled, inputs, outTensor, {
    maxCycles: 2 ** 21 + 100_000, ...(axi ? { memory: TESTBENCH_REFERENCE_MEMORY } : {}), ...(options.plusargs ? { plusargs: options.plusargs } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const simulationSeconds = (performance.now() - simStart) / 1000;
  let rtlMismatches = 0;
  let rtlFirst: string | null = null;
  runs.forEach((r, i) => {
    if (r.run.status !== 'done') {
      rtlMismatches++;
      const ins = compiled.program[r.run.errorPc];
      const rtlFault = r.run.status === 'error'
        ? `image ${i}: the RTL stopped with the error bit at pc ${r.run.errorPc} (${CAUSES[r.run.errorCause] ?? `cause ${r.run.errorCause}`})${ins ? `: ${formatInstruction(ins)}` : ''}`
        : `image ${i}: the RTL did not finish within its cycle limit (${r.run.cycles} cycles)`;
      // The first RTL fault joins the ISA simulator's (they must name the same pc).
      if (!fault?.includes('RTL')) fault = fault === null ? rtlFault : `${fault}; ${rtlFault}`;
      return;
    }
    const want = isa[i];
    if (want === undefined) {
      rtlMismatches++;
      rtlFirst ??= `image ${i}: the RTL finished where the ISA simulator faulted`;
      return;
    }
    // The scores and class leave on the output stream (r.output) and stay readable through the host port.
    if (r.framing !== undefined && r.framing !== 'ok') {
      rtlMismatches++;
      rtlFirst ??= `image ${i}: streams: ${r.framing}`;
      return;
    }
    const h = r.host.output.findIndex((v, k) => v !== r.output[k]);
    if (h >= 0 || r.host.class !== r.class) {
      rtlMismatches++;
      rtlFirst ??= `image ${i}: the host port reads ${h >= 0 ? `element ${h} = ${r.host.output[h]}` : `class ${r.host.class}`}, the output stream carried ${h >= 0 ? r.output[h] : r.class}`;
      return;
    }
    const c = r.output.findIndex((v, k) => v !== want.output[k]);
    if (c >= 0 || r.class !== want.class) {
      rtlMismatches++;
      rtlFirst ??= c >= 0
        ? `image ${i}: output '${compiled.layout.output.tensor}' element ${c} (channel ${Math.floor(c / (compiled.layout.output.shape[1] * compiled.layout.output.shape[2]))}): ISA simulator ${want.output[c]}, RTL ${r.output[c]}`
        : `image ${i}: class: ISA simulator ${want.class}, RTL ${r.class}`;
    }
  });

  // Cycles per layer: the cycle model's prediction, the RTL's measurement on the first image.
  const predicted = replayCycles(compiled.config, compiled.program, compiled.layout.layers);
  // Beside the on-chip RTL's timing: the prediction with issue 12's reference memory (16 B/cycle, latency 100).
  const reference = replayCycles(compiled.config, compiled.program, compiled.layout.layers, { memory: REFERENCE_MEMORY });
  const first = runs[0];
  const layers = layerCycles(compiled, first);
  return {
    design: design.manifest.top.module,
    program: programDir,
    images: inputs.length,
    dataSource: data.source,
    simulator: options.simulator,
    memory: axi ? 'axi' : 'onchip',
    isaMismatches, isaFirst, rtlMismatches, rtlFirst, fault,
    classes: runs.map((r) => r.class ?? -1),
    totalCycles: { predicted: predicted.total, measured: first && first.run.status === 'done' ? first.run.cycles : null, predictedReferenceMemory: reference.total },
    bytes: predicted.bytes,
    layers,
    buildSeconds: build.buildSeconds,
    simulationSeconds,
  };
}

/**
 * Per layer: the cycle model's prediction and the RTL's measurement on one run (first compute start to
 * last end of the layer's instructions; null when the run did not finish).
 */
export function layerCycles(compiled: CompiledProgram, run: RtlProgramRun | undefined): AccelLayerCycles[] {
  const predicted = replayCycles(compiled.config, compiled.program, compiled.layout.layers);
  // Beside the on-chip RTL's timing: the prediction with issue 12's reference memory (16 B/cycle, latency 100).
  const reference = replayCycles(compiled.config, compiled.program, compiled.layout.layers, { memory: REFERENCE_MEMORY });
  return compiled.layout.layers.map((l, i) => {
    const p = predicted.layers[i]!;
    let measured: number | null = null;
    if (run && run.run.status === 'done') {
      // The cycle model's definition: from the layer's first instruction in the compute queue (a NOP in the
      // LD or ST queue, e.g. a barrier, is not compute) to its last completion.
      const exStarts = l.pcs.filter((pc) => compiled.program[pc] !== undefined && queueOf(compiled.program[pc]) === 'ex').map((pc) => run.startCycle.get(pc)).filter((c): c is number => c !== undefined);
      const ends = l.pcs.map((pc) => run.endCycle.get(pc)).filter((c): c is number => c !== undefined);
      if (exStarts.length && ends.length) measured = Math.max(...ends) - Math.min(...exStarts) + 1;
    }
    return { index: l.index, name: l.name, kind: l.kind, predicted: p.cycles, measured, macs: p.macs, utilization: p.utilization, bytes: p.bytes, predictedReferenceMemory: reference.layers[i]?.cycles ?? 0 };
  });
}

/** A program built for another accelerator is refused with what differs. */
export function checkSameChip(part: AccelPart, compiled: CompiledProgram, programDir: string): void {
  const chip = part.config as unknown as Record<string, number>;
  const prog = compiled.config as unknown as Record<string, number>;
  // The chip's AccelConfig (RtlConfig adds dwKernel, derived from it).
  const chipConfig = Object.fromEntries(Object.keys(prog).map((k) => [k, chip[k]])) as unknown as CompiledProgram['config'];
  if (configFingerprint(compiled.config) === configFingerprint(chipConfig)) return;
  const differ = Object.keys(prog).filter((k) => prog[k] !== chip[k]).map((k) => `${k} ${prog[k]} (chip ${chip[k]})`);
  throw badInput(`${programDir}: compiled for another accelerator configuration: ${differ.join(', ')}; compile it with --accel ${part.array.rows}x${part.array.cols} for this design`);
}

/** The preprocessing a program folder's quantization.json records (a folder without one: the design's). */
function programPreprocessing(programDir: string, fallback: AccelPart['options']['preprocess']): AccelPart['options']['preprocess'] {
  const file = path.join(programDir, PROGRAM_QUANTIZATION);
  if (!existsSync(file)) return fallback;
  const parsed = z.object({ preprocess: preprocessSchema }).safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw badInput(`${file}: not a quantization record (expected "preprocess": {scale, mean, std})`);
  return parsed.data.preprocess;
}

/**
 * Rung 1 of every accelerator verification: the program on the ISA simulator against the integer model,
 * every layer of every image. A fault is recorded, not thrown: the RTL must stop at the same pc.
 */
export function checkProgramOnIsa(compiled: CompiledProgram, graph: QuantizedGraph, model: IntegerModel, inputs: readonly Int32Array[]): {
  checks: Array<ReturnType<typeof checkAgainstIntegerModel> | undefined>;
  isaMismatches: number;
  isaFirst: AccelVerifySummary['isaFirst'];
  fault: string | null;
} {
  let isaMismatches = 0;
  let isaFirst: AccelVerifySummary['isaFirst'] = null;
  let fault: string | null = null;
  const checks = inputs.map((q, i) => {
    let check: ReturnType<typeof checkAgainstIntegerModel>;
    try {
      check = checkAgainstIntegerModel(compiled, graph, model, q);
    } catch (err) {
      if (!(err instanceof AccelFault)) throw err;
      const ins = compiled.program[err.pc];
      fault ??= `image ${i}: the ISA simulator faults at pc ${err.pc} (${err.reason})${ins ? `: ${formatInstruction(ins)}` : ''}`;
      isaMismatches++;
      return undefined;
    }
    if (check.mismatch) {
      isaMismatches++;
      isaFirst ??= { ...check.mismatch, image: i, text: describeAccelMismatch(check.mismatch) };
    }
    return check;
  });
  return { checks, isaMismatches, isaFirst, fault };
}

/** The program folder's integer model (what its scores answer to). */
export function programGraph(programDir: string): QuantizedGraph {
  const file = path.join(programDir, PROGRAM_INTEGER_MODEL);
  if (!existsSync(file)) throw badInput(`${file}: missing (a program folder from fixynn compile holds its model's integer model)`);
  return parseQuantizedGraph(readFileSync(file, 'utf8'), file);
}

export function formatAccelSummary(s: AccelVerifySummary): string {
  const axi = s.memory === 'axi';
  const lines = [
    `design: ${s.design}, program ${s.program}`,
    `images: ${s.images} from ${s.dataSource}; simulator ${s.simulator}`,
    s.isaMismatches === 0 ? `ISA simulator: bit-exact with the integer model (every layer of every image)` : `ISA simulator MISMATCH in ${s.isaMismatches} image(s); first: image ${s.isaFirst?.image}: ${s.isaFirst?.text}`,
    s.fault ?? (s.rtlMismatches === 0 ? `RTL: scores and class bit-exact with the ISA simulator` : `RTL MISMATCH in ${s.rtlMismatches} image(s); first: ${s.rtlFirst}`),
    `classes: ${s.classes.slice(0, 20).join(' ')}${s.classes.length > 20 ? ' ...' : ''}`,
    `cycles per frame${axi ? ' (MEM over AXI4, the reference memory)' : ''}: measured ${s.totalCycles.measured ?? 'n/a'}, predicted ${axi ? s.totalCycles.predictedReferenceMemory : s.totalCycles.predicted}`,
    ...s.layers.map((l) => {
      const predicted = axi ? l.predictedReferenceMemory : l.predicted;
      return `  layer ${l.index} ${l.name} (${l.kind}): measured ${l.measured ?? 'n/a'}, predicted ${predicted}${l.measured === null ? '' : ` (${(100 * (l.measured - predicted) / Math.max(1, predicted)).toFixed(1)}%)`}, utilization ${(100 * l.utilization).toFixed(1)}%`;
    }),
    `build ${s.buildSeconds.toFixed(1)} s, simulation ${s.simulationSeconds.toFixed(1)} s`,
  ];
  return `${lines.join('\n')}\n`;
}
