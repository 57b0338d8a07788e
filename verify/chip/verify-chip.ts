/**
 * `fixynn verify DIR [--program PROG]` for a chip (a fixed part feeding the accelerator): the ladder
 * integer model -> ISA simulator -> the whole chip's RTL.
 *
 * 1. The integer model of the split chip: the whole network on each image; the tensor crossing the cut is
 *    what the fixed part delivers, the program's scores what the chip answers.
 * 2. The ISA simulator runs the program on that tensor and is compared layer by layer with the integer
 *    model (a compiler bug is named by layer, pixel, channel and instruction).
 * 3. The chip's own Verilog (fixynn_chip and its testbench) in Verilator or Icarus: the program, MEM image
 *    and stream registers through the host port, then every image's pixels streamed back to back into the
 *    fixed part at one pixel per clock; each frame's scores and class from the result stream must equal the
 *    ISA simulator's. The clocks between frames' last result beats give the measured frame period, compared
 *    with the reported one (manifest `split`, or the same formula for another program).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CompiledProgram, encode, formatInstruction, readCompiled } from '../../generator/accel/index.js';
import { FAULT } from '../../generator/accel/rtl/top.js';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import { loadInputs } from '../../generator/data/index.js';
import { npyToNumbers, readNpy } from '../../generator/data/npy.js';
import { chipFramePeriod, spillFrameBytes, spillFrameCycles, streamRegisterWrites } from '../../generator/design/chip.js';
import { checkSpillProgram } from '../../generator/design/chip-spill.js';
import { outputFromBeats, streamRegisters } from '../../generator/accel/run.js';
import { CHIP_TB } from '../../generator/design/chip-top.js';
import { partOf, type FfePart } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { packFrame } from '../../generator/contract/beats.js';
import { buildAccelFiles, checkAxiRun, memoryModelArgs, type MemoryModel, randomMemory, REFERENCE_MEMORY } from '../accel/rtl-sim.js';
import { checkProgramOnIsa, checkSameChip, programGraph } from '../accel/verify-design.js';
import { givenOrRecorded } from '../../generator/design/stimulus.js';
import { runTool, type SimulatorName } from '../sim/index.js';
import type { Stalls } from '../ffe/run.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { openWithOutputs } from '../../generator/onnx/runtime.js';
import { argmax } from '../eval/compare.js';

export interface ChipVerifyOptions {
  readonly simulator: SimulatorName;
  readonly images: number;
  readonly data?: string;
  readonly labels?: string;
  readonly program?: string;
  /**
   * Random stalls on the pixel stream (s_tvalid) and the result stream (m_tready): chance/256 per clock.
   * A chip with its frame buffer over AXI has no result stream: there the memory model turns hostile
   * instead (verify/accel/rtl-sim.ts randomMemory(seed): random latency, narrow bandwidth, stalls).
   */
  readonly stalls?: Stalls;
  /** Copy the run's VCD waveform here. */
  readonly traceFile?: string;
  readonly onProgress?: (message: string) => void;
}

export interface ChipVerifySummary {
  readonly design: string;
  readonly program: string;
  readonly fixedLayers: number;
  readonly images: number;
  readonly dataSource: string;
  readonly simulator: SimulatorName;
  readonly isaMismatches: number;
  readonly isaFirst: string | null;
  readonly rtlMismatches: number;
  readonly rtlFirst: string | null;
  readonly fault: string | null;
  /** The chip's classes, and the integer model's (the reference every rung answers to). */
  readonly classes: readonly number[];
  /** Top-1 against the labels where the data have them (the bundled digits, a labelled .npy). */
  readonly accuracy: { readonly correct: number; readonly labelled: number } | null;
  /** Top-1 of the chip's classes against ONNX Runtime's on the design's own model (the design's program only). */
  readonly onnxRuntime: { readonly agree: number; readonly images: number } | null;
  /** Deviation null with stalls (the period is then not compared) or fewer than 3 frames. */
  readonly framePeriod: { readonly reported: number; readonly measured: number | null; readonly frames: number; readonly deviation: number | null };
  /** The frame buffer over AXI: the memory model the chip ran on (the reference memory unless --stalls). */
  readonly memory: (MemoryModel & { readonly name: string }) | null;
  /**
   * The frame buffer over AXI: the accelerator's clocks per run (the slowest run; its cycle counter at each
   * run's end) beside the program's prediction on the reference memory (chip.ts spillFrameCycles).
   */
  readonly runCycles: { readonly measured: number; readonly predicted: number } | null;
  /** --stalls: the chances and seed, and the clocks the testbench withheld a pixel / dropped m_tready. */
  readonly stalls: (Stalls & { readonly heldInput: number; readonly heldOutput: number }) | null;
  readonly buildSeconds: number;
  readonly simulationSeconds: number;
}

const CAUSES = Object.fromEntries(Object.entries(FAULT).map(([name, code]) => [code, name])) as Record<number, string>;
/** Pixels the chip's testbench holds (templates/chip-tb.v.hbs). */
const TB_PIXELS = 262_144;
/** The frame period must match the reported one within this fraction (issue 13). */
export const PERIOD_TOLERANCE = 0.02;

export async function verifyChip(dir: string, options: ChipVerifyOptions): Promise<ChipVerifySummary> {
  const design = readDesign(dir);
  const m = design.manifest;
  const split = m.split;
  if (split === undefined) throw badInput(`${dir}: not a chip (no split in its manifest)`);
  const ffe = partOf(m, 'ffe', design.dir);
  const accel = partOf(m, 'accel', design.dir);
  const programDir = options.program ?? design.pathOf(accel.program.dir);
  const compiled = readCompiled(programDir);
  checkSameChip(accel, compiled, programDir);
  const graph = options.program === undefined ? accel.quantization : programGraph(programDir);
  checkSameFront(ffe, graph, programDir);
  if (compiled.layout.layers[0]?.index !== split.fixedLayers) throw badInput(`${programDir}: the program starts at layer ${compiled.layout.layers[0]?.index ?? '?'}, the chip's accelerator at layer ${split.fixedLayers}`);
  const pixels = options.images * ffe.input.height * ffe.input.width;
  if (pixels > TB_PIXELS) throw badInput(`--images ${options.images}: ${pixels} input pixels, the chip's testbench streams at most ${TB_PIXELS} in one run (${Math.floor(TB_PIXELS / (ffe.input.height * ffe.input.width))} frames of this chip)`);
  const model = new IntegerModel(graph);
  const data = loadInputs(options.data, graph.input.shape, { count: options.images, ...givenOrRecorded(undefined, ffe.options.preprocess) });
  // --labels: another task's labels for the same inputs (the bundled digits carry the digit classes).
  const labels = options.labels === undefined ? data.labels : readLabels(options.labels, data.images.length);
  const inputs = data.images.map((img) => model.quantizeInput(img));
  const outTensor = graph.tensors[compiled.layout.output.tensor];
  if (!outTensor) throw badInput(`${programDir}: the program's output tensor '${compiled.layout.output.tensor}' is not in its integer model`);

  options.onProgress?.(`integer model and ISA simulator: ${inputs.length} image(s), layers ${split.fixedLayers}.. on the program`);
  if (split.frameBuffer === 'axi') checkSpillProgram(compiled, spillFrameBytes(compiled), accel.config.streamBlocks);
  const isa = checkProgramOnIsa(compiled, graph, model, inputs);
  const { isaMismatches } = isa;
  const isaFirst = isa.isaFirst === null ? null : `image ${isa.isaFirst.image}: ${isa.isaFirst.text}`;
  let fault = isa.fault;
  const expected = isa.checks;
  const reference = inputs.map((q) => model.chipAnswer(model.run(q)));

  const files = [...m.rtl, m.testbench.verilog].map((f) => ({ name: path.basename(f), text: readFileSync(design.pathOf(f), 'utf8') }));
  const tb = files.find((f) => f.name === path.basename(m.testbench.verilog))?.text ?? '';
  // A chip generated before the testbench took stalls and traces would silently ignore them.
  if ((options.stalls !== undefined || options.traceFile !== undefined) && !tb.includes('stall_in')) {
    throw badInput(`${dir}: its testbench (${m.testbench.verilog}) predates --stalls and --trace for chips; regenerate the design with fixynn generate`);
  }
  const build = await buildAccelFiles(files, accel.config, options.simulator, { top: CHIP_TB, trace: options.traceFile !== undefined, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  options.onProgress?.(`${options.simulator}: ${inputs.length} frame(s) streamed back to back through the chip${options.stalls ? ` with random stalls (seed ${options.stalls.seed})` : ''}`);
  const start = performance.now();
  // The frame buffer over AXI: the reference memory (the cycle model's) for the period, a hostile one with --stalls.
  const memory = split.frameBuffer !== 'axi' ? null : options.stalls === undefined ? { ...REFERENCE_MEMORY, name: 'the reference memory' } : { ...randomMemory(options.stalls.seed), name: `a random memory (seed ${options.stalls.seed})` };
  const run = await streamFrames(build.dir, options.simulator, compiled, inputs.map((q) => packFrame(q, ffe.input)), ffe.input.width, ffe.input.height * ffe.input.width, {
    ...(options.stalls ? { stalls: options.stalls } : {}), ...(options.traceFile !== undefined ? { traceFile: options.traceFile } : {}), ...(memory !== null ? { memory } : {}),
  });
  const simulationSeconds = (performance.now() - start) / 1000;

  let rtlMismatches = 0;
  let rtlFirst: string | null = null;
  if (run.error !== 0) {
    const ins = compiled.program[run.errorPc];
    fault = `${fault === null ? '' : `${fault}; `}the chip stopped with the accelerator's error bit at pc ${run.errorPc} (${CAUSES[run.errorCause] ?? `cause ${run.errorCause}`})${ins ? `: ${formatInstruction(ins)}` : ''}`;
  }
  if (run.framingErrors !== '') fault = `${fault === null ? '' : `${fault}; `}${run.framingErrors}`;
  const classes: number[] = [];
  inputs.forEach((_, i) => {
    const frame = run.frames[i];
    const want = expected[i];
    if (frame === undefined) {
      rtlMismatches++;
      rtlFirst ??= `image ${i}: no result from the chip (${run.frames.length} of ${inputs.length} frames came out in ${run.clocks} clocks)`;
      classes.push(-1);
      return;
    }
    if (frame.words.some((w) => Number.isNaN(w))) {
      rtlMismatches++;
      rtlFirst ??= `image ${i}: the result stream carried unknown (x/z) bits`;
      classes.push(-1);
      return;
    }
    const got = outputFromBeats(compiled, frame.words, outTensor);
    classes.push(got.class ?? -1);
    if (want === undefined) return;
    const c = got.output.findIndex((v, k) => v !== want.output[k]);
    if (c >= 0 || got.class !== want.class) {
      rtlMismatches++;
      rtlFirst ??= c >= 0 ? `image ${i}: score ${c}: ISA simulator ${want.output[c]}, chip ${got.output[c]}` : `image ${i}: class: ISA simulator ${want.class}, chip ${got.class}`;
    }
  });

  const reported = options.program === undefined ? split.cyclesPerFrame : chipFramePeriod(split.fixedCyclesPerFrame, compiled, split.frameBuffer ?? 'onchip').cyclesPerFrame;
  // Steady state: from the first frame's last result beat on (the first frame also fills the pipeline).
  const ends = run.frames.map((f) => f.end);
  const measured = ends.length >= 3 ? (ends[ends.length - 1]! - ends[0]!) / (ends.length - 1) : null;
  // Stalls slow the streams on purpose: the period is measured but not held to the reported one.
  const deviation = measured === null || options.stalls !== undefined ? null : (measured - reported) / reported;
  const labelled = labels === undefined ? null : { correct: classes.filter((c, i) => c === labels[i]).length, labelled: classes.length };
  if (classes.some((c, i) => c !== reference[i] && c >= 0) && rtlMismatches === 0 && isaMismatches === 0) {
    rtlMismatches++;
    rtlFirst ??= 'the chip\'s class differs from the integer model\'s';
  }
  // ONNX Runtime on the design's model copy, the same (preprocessed) inputs: its top-1 beside the chip's.
  const onnxRuntime = options.program === undefined ? await agreementWithOrt(design.pathOf(m.source.copy), data.images, graph.input.shape, classes) : null;
  return {
    onnxRuntime,
    design: m.top.module, program: programDir, fixedLayers: split.fixedLayers, images: inputs.length, dataSource: data.source, simulator: options.simulator,
    isaMismatches, isaFirst, rtlMismatches, rtlFirst, fault, classes, accuracy: labelled,
    framePeriod: { reported, measured, frames: ends.length, deviation }, memory,
    runCycles: run.runCycles.length === 0 ? null : { measured: Math.max(...run.runCycles), predicted: spillFrameCycles(compiled).program },
    stalls: options.stalls === undefined ? null : { ...options.stalls, heldInput: run.held.input, heldOutput: run.held.output },
    buildSeconds: build.buildSeconds, simulationSeconds,
  };
}

/** The chip verifies only programs whose front end is its own (compile --chip makes them so). */
function checkSameFront(ffe: FfePart, graph: QuantizedGraph, programDir: string): void {
  const front = ffe.quantization;
  for (let i = 0; i < ffe.fixedLayerCount; i++) {
    const a = front.layers[i];
    const b = graph.layers[i];
    const strip = (l: typeof a): string => JSON.stringify(l === undefined ? null : { ...l, name: '', nodes: [], inputs: [], output: '' });
    if (strip(a) !== strip(b)) throw badInput(`${programDir}: its model's layer ${i} '${b?.name ?? '?'}' is not the chip's fixed layer ${i} '${a?.name ?? '?'}' (compile it with fixynn compile --chip for this design)`);
  }
}

/** How many of the chip's classes equal ONNX Runtime's top-1 (argmax of the model's output) on the same inputs. */
async function agreementWithOrt(modelFile: string, images: readonly Float32Array[], shape: readonly number[], classes: readonly number[]): Promise<{ agree: number; images: number }> {
  const model = readOnnxFile(modelFile);
  const output = model.outputs[0]?.name ?? '';
  const runner = await openWithOutputs(model, [output], shape);
  let agree = 0;
  try {
    for (const [i, image] of images.entries()) {
      if (argmax((await runner.run(image)).get(output) ?? new Float32Array()) === classes[i]) agree++;
    }
  } finally {
    await runner.release();
  }
  return { agree, images: images.length };
}

function readLabels(file: string, images: number): Int32Array {
  const values = npyToNumbers(readNpy(file), file);
  if (values.length < images) throw badInput(`--labels ${file}: ${values.length} labels for ${images} images`);
  if (!values.every((v) => Number.isInteger(v))) throw badInput(`--labels ${file}: labels must be integers`);
  return Int32Array.from(values.subarray(0, images));
}



interface StreamRun {
  readonly frames: Array<{ words: number[]; end: number }>;
  readonly clocks: number;
  readonly error: number;
  readonly errorPc: number;
  readonly errorCause: number;
  readonly framingErrors: string;
  /** Clocks the testbench withheld a pixel resp. dropped m_tready (--stalls). */
  readonly held: { readonly input: number; readonly output: number };
  /** The frame buffer over AXI: each run's clocks. */
  readonly runCycles: readonly number[];
}

/** One testbench run: the program, the MEM image, the stream registers, then every frame's pixels. */
async function streamFrames(
  buildDir: string, simulator: SimulatorName, compiled: CompiledProgram, frames: readonly string[][], row: number, beats: number,
  extra: { readonly stalls?: Stalls; readonly traceFile?: string; readonly memory?: MemoryModel } = {},
): Promise<StreamRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fixynn-chip-run-'));
  try {
    const words = compiled.program.map(encode).flatMap((w) => [0, 1, 2, 3].map((k) => ((w >> BigInt(32 * k)) & 0xffffffffn).toString(16).padStart(8, '0')));
    writeFileSync(path.join(dir, 'prog.hex'), `${words.join('\n')}\n`);
    const memWords = Math.ceil(compiled.mem.length / 4);
    const mem: string[] = [];
    for (let i = 0; i < memWords; i++) {
      const v = (compiled.mem[4 * i] ?? 0) | ((compiled.mem[4 * i + 1] ?? 0) << 8) | ((compiled.mem[4 * i + 2] ?? 0) << 16) | ((compiled.mem[4 * i + 3] ?? 0) * 2 ** 24);
      mem.push((v >>> 0).toString(16).padStart(8, '0'));
    }
    writeFileSync(path.join(dir, 'mem.hex'), `${mem.join('\n')}\n`);
    writeFileSync(path.join(dir, 'frames.hex'), `${frames.flat().join('\n')}\n`);
    const regs = streamRegisters(compiled);
    const outBeats = regs.outWords + regs.outClass;
    const common = [`+dir=${dir}`, `+prog_words=${words.length}`, `+mem_words=${memWords}`, `+frames=${frames.length}`, `+beats=${beats}`, `+row=${row}`, `+max_cycles=${frames.length * 4_000_000}`];
    const mm = extra.memory;
    let args: string[];
    if (mm === undefined) {
      // The frame FIFO on chip: the stream registers through the host port, results from the result stream.
      const writes = streamRegisterWrites(compiled);
      writeFileSync(path.join(dir, 'regs.hex'), `${writes.map((r) => `${r.addr.toString(16).padStart(8, '0')}${(r.value >>> 0).toString(16).padStart(8, '0')}`).join('\n')}\n`);
      args = [...common, `+regs=${writes.length}`, `+out_beats=${outBeats}`, ...(extra.stalls ? [`+stall_in=${extra.stalls.input}`, `+stall_out=${extra.stalls.output}`, `+seed=${extra.stalls.seed}`] : [])];
    } else {
      // The frame buffer over AXI: the program's input region (frame slot 0), its results in MEM, the memory model.
      args = [...common, `+in_addr=${regs.inAddr}`, `+out_addr=${regs.outAddr}`, `+out_words=${regs.outWords}`, `+class_addr=${regs.classAddr}`, `+out_class=${regs.outClass}`,
        ...(extra.stalls ? [`+stall_in=${extra.stalls.input}`, `+seed=${extra.stalls.seed}`] : []),
        ...memoryModelArgs(mm, 'mem_seed')];
    }
    if (extra.traceFile !== undefined) args.push('+trace');
    const r = simulator === 'verilator' ? await runTool(path.join(buildDir, 'Vtb'), args, { cwd: dir }) : await runTool('vvp', ['-n', path.join(buildDir, 'tb.vvp'), ...args], { cwd: dir });
    if (r.exitCode !== 0) throw checkFailed(`${simulator} run of the chip failed (exit ${r.exitCode}): ${(r.stderr + r.stdout).trim().slice(-800)}`);
    if (extra.traceFile !== undefined) {
      if (!existsSync(path.join(dir, 'trace.vcd'))) throw checkFailed('the chip\'s testbench wrote no trace.vcd');
      copyFileSync(path.join(dir, 'trace.vcd'), extra.traceFile);
    }
    const lines = readFileSync(path.join(dir, 'result.txt'), 'utf8').split('\n').filter((l) => l !== '');
    checkAxiRun(simulator, lines, r.stdout);
    const beatsOut = lines.filter((l) => l.startsWith('o ')).map((l) => l.split(' '));
    const end = lines.find((l) => l.startsWith('end '));
    const e = end === undefined ? null : /clocks (\d+) sent (\d+) received (\d+) error (\S+) pc (\S+) cause (\S+) ffe_frame_error (\S+) accel_frame_error (\S+)(?: held_in (\d+) held_out (\d+))?(?: write_error (\S+))?/.exec(end);
    if (e === null) throw checkFailed(`chip testbench: no status line in ${lines.length} lines`);
    const result: StreamRun['frames'] = [];
    for (let f = 0; f * outBeats + outBeats <= beatsOut.length; f++) {
      const frame = beatsOut.slice(f * outBeats, (f + 1) * outBeats);
      const words = frame.map((b) => (/^[0-9a-fA-F]+$/.test(b[2] ?? '') ? Number.parseInt(b[2]!, 16) : Number.NaN));
      result.push({ words, end: Number(frame[frame.length - 1]![1]) });
    }
    const framing = [
      e[7] === '1' ? 'the fixed part saw a framing error (tuser/tlast)' : '', e[8] === '1' ? 'the accelerator\'s input stream saw a framing error (tuser/tlast)' : '',
      e[11] === '1' ? 'a frame write into DRAM got a non-OKAY response' : '',
    ].filter((x) => x !== '').join('; ');
    const runCycles = lines.filter((l) => l.startsWith('r ')).map((l) => Number(l.split(' ')[2]));
    return { runCycles, frames: result, clocks: Number(e[1]), error: Number(e[4]), errorPc: Number(e[5]), errorCause: Number(e[6]), framingErrors: framing, held: { input: Number(e[9] ?? 0), output: Number(e[10] ?? 0) } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatChipSummary(s: ChipVerifySummary): string {
  const p = s.framePeriod;
  const lines = [
    `chip ${s.design}: fixed part layers 0..${s.fixedLayers - 1}, program ${s.program}`,
    `images: ${s.images} from ${s.dataSource}; simulator ${s.simulator}${s.memory === null ? '' : `; frame buffer over AXI on ${s.memory.name} (read latency ${s.memory.readLatency}${s.memory.readJitter > 0 ? ` + 0..${s.memory.readJitter}` : ''}, write response ${s.memory.writeLatency}, ${s.memory.bytesPerCycle} bytes/clock, ${s.memory.stallPercent}% stalls)`}`,
    s.isaMismatches === 0 ? 'integer model -> ISA simulator: bit-exact (every layer after the split, every image)' : `ISA simulator MISMATCH in ${s.isaMismatches} image(s); first: ${s.isaFirst ?? ''}`,
    s.fault ?? (s.rtlMismatches === 0 ? `chip RTL: scores and class of all ${s.images} frames bit-exact with the ISA simulator and the integer model` : `chip RTL MISMATCH in ${s.rtlMismatches} frame(s); first: ${s.rtlFirst ?? ''}`),
    `classes: ${s.classes.slice(0, 20).join(' ')}${s.classes.length > 20 ? ' ...' : ''}${s.accuracy === null ? '' : `; top-1 ${s.accuracy.correct}/${s.accuracy.labelled} (${(100 * s.accuracy.correct / Math.max(1, s.accuracy.labelled)).toFixed(1)}%)`}`,
    ...(s.onnxRuntime === null ? [] : [`top-1 against ONNX Runtime (the design's model): ${s.onnxRuntime.agree}/${s.onnxRuntime.images} frames agree`]),
    p.measured === null
      ? `frame period: reported ${p.reported} clocks (measured needs 3 or more frames; ${p.frames} came out)`
      : s.stalls !== null
      ? `frame period: measured ${p.measured.toFixed(1)} clocks with random stalls (seed ${s.stalls.seed}: a pixel withheld ${s.stalls.heldInput} clocks, ${s.memory === null ? `m_tready low ${s.stalls.heldOutput}` : 'the random memory'}), reported ${p.reported} without: not compared`
      : `frame period: measured ${p.measured.toFixed(1)} clocks over ${p.frames} frames back to back, reported ${p.reported} (${(100 * (p.deviation ?? 0)).toFixed(2)}%)`,
    ...(s.runCycles === null ? [] : [`accelerator runs: ${s.runCycles.measured} clocks (the slowest), the program predicted ${s.runCycles.predicted} on the reference memory`]),
    `build ${s.buildSeconds.toFixed(1)} s, simulation ${s.simulationSeconds.toFixed(1)} s`,
  ];
  return `${lines.join('\n')}\n`;
}
