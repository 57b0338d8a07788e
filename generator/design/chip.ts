/**
 * The whole chip (issue 13): the fixed part (layers 0..K-1, one input pixel per clock) streaming its
 * output tensor into the accelerator, which runs layers K.. as a program. The two sides work on different
 * frames at once (frame n+1 streams through the fixed part while the accelerator runs frame n), so the
 * chip's frame period is the slower side's: clock / max(fixed-part cycles per frame, accelerator cycles
 * per frame). This file holds what the software side knows of that: the refusal of a split that leaves
 * the accelerator nothing to compute, the throughput figures, and the array size that would balance the
 * two sides.
 */
import { AXI_PORT_CLOCKS, type CompiledProgram, type MemoryModel, REFERENCE_MEMORY, replayCycles } from '../accel/index.js';
import { streamRegisters } from '../accel/run.js';
import { rowBytes } from '../accel/config.js';
import { STREAM_REG, STREAM_REGS_BASE } from '../accel/rtl/stream-ports.js';
import { badInput } from '../common/errors.js';
import type { HeaderInfo } from '../emit/index.js';
import type { QuantizedGraph } from '../quant/ir.js';
import { serializeQuantizedGraph } from '../quant/serialize.js';
import { accelChipConfig, buildAccelPart, compileForChip, PROGRAM_DIR, withAxiMemory } from './accel-part.js';
import type { MemoryKind } from '../accel/rtl/config.js';
import { buildChipTop } from './chip-top.js';
import { checkSpillProgram } from './chip-spill.js';
import type { CoreDesign } from './core.js';
import type { AccelPart, Manifest, ManifestCost, ManifestSplit } from './manifest.js';
import { FILE_LIST, renderFileList } from './testbench.js';

/** The clock at which figures in frames per second are quoted (a nominal ASIC clock, not a timing result). */
export const NOMINAL_CLOCK_MHZ = 500;

/** With --accel, the layers after the split must hold a conv or gemm (the accelerator's reason to exist). */
export function checkAcceleratorHasWork(graph: QuantizedGraph, k: number, accel: string): void {
  const rest = graph.layers.slice(k);
  if (rest.some((l) => l.kind === 'conv' || l.kind === 'gemm')) return;
  const left = rest.length === 0 ? 'no layer is left after the split' : `only ${rest.map((l) => `${l.kind} '${l.name}'`).join(', ')} ${rest.length === 1 ? 'is' : 'are'} left after the split`;
  throw badInput(`${graph.source.file}: --fixed-layers ${k} --accel ${accel}: ${left}, so the accelerator would have no weighted layer (conv/gemm) to run; fix fewer layers (the last weighted layer is layer ${lastWeighted(graph)}), or drop --accel for the fixed part alone`);
}

/**
 * The frame FIFO between the parts is on-chip memory holding one whole tensor crossing the cut (chip-top.ts),
 * each beat its channels plus tuser and tlast. This is its budget: 2 Mibit (256 KiB), which holds the cuts
 * of the example model at any K (51 kbit at most) and of MobileNetV1 0.25 at every K (the largest, K = 3:
 * 16x112x112, 1.63 Mibit; K = 5: 32x56x56, 0.81 Mibit).
 * A larger cut tensor spills over the accelerator's AXI master (frame buffer 'axi', chip-spill.ts).
 */
export const FRAME_FIFO_MAX_BITS = 2 ** 21;

/** The frame FIFO for the tensor crossing the cut after layer k: its depth in beats and its bits. */
export function frameFifoSize(graph: QuantizedGraph, k: number): { beats: number; beatBits: number; bits: number; shape: readonly number[] } {
  const name = graph.layers[k - 1]?.output;
  const tensor = name === undefined ? undefined : graph.tensors[name];
  if (tensor === undefined) throw new Error(`internal: no tensor after layer ${k - 1}`);
  const [c, h, w] = tensor.shape;
  const beatBits = c * tensor.quant.bits + 2;
  return { beats: h * w, beatBits, bits: h * w * beatBits, shape: tensor.shape };
}

/**
 * Where the chip keeps the frame crossing the cut: 'onchip', the frame FIFO (within FRAME_FIFO_MAX_BITS),
 * or 'axi', two frame slots in DRAM written through the accelerator's AXI4 master, whose MEM is then off
 * chip too (chip-spill.ts). 'axi' when asked for (`--accel-mem axi`) or when the FIFO would exceed the budget.
 */
export type FrameBuffer = MemoryKind;

export function chooseFrameBuffer(graph: QuantizedGraph, k: number, accel: string, requested: MemoryKind | undefined): FrameBuffer {
  const f = frameFifoSize(graph, k);
  const mode = requested === 'axi' || f.bits > FRAME_FIFO_MAX_BITS ? 'axi' : 'onchip';
  const bits = graph.tensors[graph.layers[k - 1]?.output ?? '']?.quant.bits;
  if (mode === 'axi' && bits !== 8) {
    throw badInput(`${graph.source.file}: --fixed-layers ${k} --accel ${accel}: the frame buffer over AXI (${requested === 'axi' ? '--accel-mem axi' : `the cut tensor ${f.shape.join('x')} needs ${f.bits.toLocaleString('en-US')} bits, over the on-chip frame FIFO's ${FRAME_FIFO_MAX_BITS.toLocaleString('en-US')}`}) writes 8-bit activations; the cut tensor has ${bits ?? '?'}-bit values`);
  }
  return mode;
}

function lastWeighted(graph: QuantizedGraph): number {
  for (let i = graph.layers.length - 1; i >= 0; i--) if (graph.layers[i]?.kind === 'conv' || graph.layers[i]?.kind === 'gemm') return i;
  return -1;
}

export type ChipSide = 'fixed part' | 'accelerator';

export interface ChipThroughput {
  readonly fixedCyclesPerFrame: number;
  readonly acceleratorCyclesPerFrame: number;
  /** max of the two: the chip's frame period in clocks. */
  readonly cyclesPerFrame: number;
  readonly bottleneck: ChipSide;
  readonly clockMHz: number;
  readonly framesPerSecond: number;
  /**
   * The smallest square array (of those tried) whose program takes no more cycles per frame than the fixed
   * part, i.e. the accelerator that keeps up with the fixed part; null when even the largest tried does not.
   */
  readonly balancingArray: { readonly rows: number; readonly cols: number; readonly cyclesPerFrame: number } | null;
}

/** The array sides tried for the balancing size (the generator's range, --accel 4x4 .. 32x32). */
export const BALANCE_SIDES = [4, 8, 12, 16, 20, 24, 28, 32] as const;

export function chipThroughput(graph: QuantizedGraph, k: number, fixedCyclesPerFrame: number, acceleratorCyclesPerFrame: number, frameBuffer: FrameBuffer = 'onchip', clockMHz = NOMINAL_CLOCK_MHZ): ChipThroughput {
  const cyclesPerFrame = Math.max(fixedCyclesPerFrame, acceleratorCyclesPerFrame);
  return {
    fixedCyclesPerFrame, acceleratorCyclesPerFrame, cyclesPerFrame,
    bottleneck: acceleratorCyclesPerFrame > fixedCyclesPerFrame ? 'accelerator' : 'fixed part',
    clockMHz,
    framesPerSecond: (clockMHz * 1e6) / cyclesPerFrame,
    balancingArray: balancingArray(graph, k, fixedCyclesPerFrame, frameBuffer),
  };
}

/**
 * The accelerator's side of a frame, in clocks: its input stream writing the frame into MEM (one MEM beat
 * per clock: pixels x ACT rows per pixel x beats per row), the program (the cycle model's prediction), and
 * the result stream (the scores' words and the class word, one per clock) with the clocks between them
 * (STREAM_OVERHEAD). A run needs its whole frame in MEM and the next frame's write waits for the run to end
 * (the input region is one buffer), so the three follow each other on the accelerator's side.
 */
export function acceleratorFrameCycles(compiled: CompiledProgram): { readonly input: number; readonly program: number; readonly output: number; readonly total: number } {
  const [, h, w] = compiled.layout.input.shape;
  const input = h * w * compiled.layout.input.blocks * (rowBytes(compiled.config, 'act') / compiled.config.memPortBytes);
  const program = replayCycles(compiled.config, compiled.program, compiled.layout.layers).total;
  const regs = streamRegisters(compiled);
  const output = regs.outWords + regs.outClass;
  return { input, program, output, total: input + program + output + STREAM_OVERHEAD };
}

/** Clocks per frame on the accelerator's side besides the input, the program and the result beats (measured in simulation). */
export const STREAM_OVERHEAD = 0;

/**
 * Clocks chip-spill.ts's write arbiter adds to a STORE: its burst is granted (registered) in the clock after
 * its AWVALID, so the AW goes out one clock later than from the accelerator alone. Measured in Verilator: the
 * example's K = 3 (8x8) and K = 9 (16x16) runs, two one-burst STOREs each, 2 clocks longer in the chip than the
 * same program alone on the reference memory. A STORE of several bursts also waits for each burst's W beats
 * before the next AW (the arbiter serves one burst at a time): not modelled; the chips' programs store their
 * scores, one burst a STORE.
 */
export const SPILL_STORE_GRANT_CLOCKS = 1;

/** The reference memory as a run of the chip reaches it: through the AXI4 master and the write arbiter. */
const SPILL_MEMORY: MemoryModel = { ...REFERENCE_MEMORY, portClocks: { load: AXI_PORT_CLOCKS.load, store: AXI_PORT_CLOCKS.store + SPILL_STORE_GRANT_CLOCKS } };

/**
 * The accelerator's side of a frame with the frame buffer over AXI: the program alone, its LOADs and
 * STOREs on the reference memory (generator/accel/costs.ts REFERENCE_MEMORY: the cycle model's memory
 * term, the AXI4 master's clocks included) and the write arbiter's grant clock per STORE, since the frame
 * is written into the other slot while the program runs and the results stay in MEM; plus SPILL_OVERHEAD,
 * the clocks from one run's end to the next one's start.
 */
export function spillFrameCycles(compiled: CompiledProgram): { readonly program: number; readonly total: number } {
  const program = replayCycles(compiled.config, compiled.program, compiled.layout.layers, { memory: SPILL_MEMORY }).total;
  return { program, total: program + SPILL_OVERHEAD };
}

/** Bytes of one frame in a DRAM slot: the program's input region (pixels x ACT rows per pixel x row bytes). */
export function spillFrameBytes(compiled: CompiledProgram): number {
  const [, h, w] = compiled.layout.input.shape;
  return h * w * compiled.layout.input.blocks * rowBytes(compiled.config, 'act');
}

/** Clocks between runs with the frame buffer over AXI: the accelerator idle in the clock its busy falls is seen, and in the next, when frame_start starts the next run (chip-spill.ts). */
export const SPILL_OVERHEAD = 2;

/** The accelerator's clocks per frame in either frame buffer mode. */
export function acceleratorCyclesPerFrame(compiled: CompiledProgram, frameBuffer: FrameBuffer): number {
  return frameBuffer === 'axi' ? spillFrameCycles(compiled).total : acceleratorFrameCycles(compiled).total;
}

/** The chip's frame period for a program: the slower side's clocks per frame. */
export function chipFramePeriod(fixedCyclesPerFrame: number, compiled: CompiledProgram, frameBuffer: FrameBuffer = 'onchip'): { cyclesPerFrame: number; bottleneck: ChipSide; accelerator: number } {
  const accelerator = acceleratorCyclesPerFrame(compiled, frameBuffer);
  return { cyclesPerFrame: Math.max(fixedCyclesPerFrame, accelerator), bottleneck: accelerator > fixedCyclesPerFrame ? 'accelerator' : 'fixed part', accelerator };
}

/**
 * The host writes of the accelerator's stream registers for a program (generator/accel/run.ts
 * streamRegisters: where its input and output regions are, the frame geometry), then autoLen: the program
 * to start on every complete frame, written last so that it arms the auto-start once the rest is in place.
 */
export function streamRegisterWrites(compiled: CompiledProgram): Array<{ name: keyof typeof STREAM_REG; addr: number; value: number }> {
  const values: Record<keyof typeof STREAM_REG, number> = { ...streamRegisters(compiled), autoLen: compiled.program.length };
  return (Object.keys(STREAM_REG) as Array<keyof typeof STREAM_REG>)
    .sort((a, b) => (a === 'autoLen' ? 1 : b === 'autoLen' ? -1 : STREAM_REG[a] - STREAM_REG[b]))
    .map((name) => ({ name, addr: STREAM_REGS_BASE + 4 * STREAM_REG[name], value: values[name] }));
}

/** Predicted accelerator cycles per frame (acceleratorFrameCycles) for layers k.. on an N x N chip; null where the compiler refuses it. */
export function acceleratorCycles(graph: QuantizedGraph, k: number, side: number, frameBuffer: FrameBuffer = 'onchip'): number | null {
  try {
    const chip = accelChipConfig(graph, side, side, k);
    const compiled = compileForChip(graph, chip, k);
    return acceleratorCyclesPerFrame(compiled, frameBuffer);
  } catch {
    // A size the compiler refuses (memory, program length) is not a candidate.
    return null;
  }
}

function balancingArray(graph: QuantizedGraph, k: number, fixedCycles: number, frameBuffer: FrameBuffer): ChipThroughput['balancingArray'] {
  for (const side of BALANCE_SIDES) {
    const cycles = acceleratorCycles(graph, k, side, frameBuffer);
    if (cycles !== null && cycles <= fixedCycles) return { rows: side, cols: side, cyclesPerFrame: cycles };
  }
  return null;
}

export function formatThroughput(t: ChipThroughput): string {
  const balance = t.balancingArray === null
    ? `no array up to ${BALANCE_SIDES[BALANCE_SIDES.length - 1]}x${BALANCE_SIDES[BALANCE_SIDES.length - 1]} keeps up with the fixed part`
    : `the smallest array keeping up with the fixed part: ${t.balancingArray.rows}x${t.balancingArray.cols} (${t.balancingArray.cyclesPerFrame} cycles per frame)`;
  return `throughput: fixed part ${t.fixedCyclesPerFrame} cycles/frame, accelerator ${t.acceleratorCyclesPerFrame} cycles/frame: the ${t.bottleneck} is the bottleneck, ${t.cyclesPerFrame} cycles per frame = ${Math.round(t.framesPerSecond).toLocaleString('en-US')} frames/s at ${t.clockMHz} MHz; ${balance}`;
}

export interface AssembledChip {
  /** Files of the design folder: rtl/*, files.f, the testbench, program/* (the model copy and the fixed part's integer model are the caller's). */
  readonly files: Map<string, string | Uint8Array>;
  readonly rtl: readonly string[];
  readonly top: Manifest['top'];
  /** The accelerator part but its quantization options (the manifest adds them: generate-design.ts). */
  readonly accel: Omit<AccelPart, 'options'>;
  readonly split: ManifestSplit;
  readonly cost: ManifestCost;
  readonly testbench: Manifest['testbench'];
  readonly compiled: CompiledProgram;
}

/**
 * The chip of a generated fixed part: the program for layers k.. on an R x C accelerator, the accelerator's
 * part section, the chip top joining the two (generator/design/chip-top.ts), its testbench and the split.
 */
export function assembleChip(design: CoreDesign, k: number, shape: { rows: number; cols: number }, header: HeaderInfo, frameBuffer: FrameBuffer = 'onchip'): AssembledChip {
  const graph = design.graph;
  const onChip = accelChipConfig(graph, shape.rows, shape.cols, k);
  const chip = frameBuffer === 'axi' ? withAxiMemory(onChip, { frameStart: true }) : onChip;
  const compiled = compileForChip(graph, chip, k);
  if (frameBuffer === 'axi') checkSpillProgram(compiled, spillFrameBytes(compiled), chip.rtl.streamBlocks);
  const part = buildAccelPart(graph, chip, compiled, k);
  if (design.module === undefined) throw new Error('internal: the fixed-part core gave no DSL module to instantiate in the chip top');
  const fixedCycles = design.idealCyclesPerFrame;
  const accelCycles = acceleratorCyclesPerFrame(compiled, frameBuffer);
  const throughput = chipThroughput(graph, k, fixedCycles, accelCycles, frameBuffer);
  const top = buildChipTop(design.module, design.output, part.module, chip.rtl, header);
  const files = new Map<string, string | Uint8Array>();
  const rtl = top.files.map((f) => `rtl/${f.name}`);
  top.files.forEach((f, i) => files.set(rtl[i] as string, f.text));
  for (const [name, data] of part.files) if (name.startsWith(`${PROGRAM_DIR}/`)) files.set(name, data);
  files.set(FILE_LIST, renderFileList(rtl));
  files.set(top.testbench.verilog, top.testbench.text);
  files.set(CHIP_INTEGER_MODEL, `${serializeQuantizedGraph(graph)}\n`);
  const tensor = graph.layers[k]?.inputs[0];
  if (tensor === undefined) throw new Error(`internal: no layer ${k} after the split`);
  return {
    files, rtl, compiled,
    top: {
      module: top.module,
      ports: [...top.ports],
      input: design.input,
      output: part.output,
      // With the frame buffer over AXI the program stores its scores and class in MEM (no result stream).
      transport: { input: 'stream', output: frameBuffer === 'axi' ? 'memory' : 'stream' },
      // The first frame: through the fixed part, then the program (which starts once the frame is in).
      latencyCycles: fixedCycles + design.latencyCycles + accelCycles,
      throughput: { inputPixelsPerCycle: (design.input.height * design.input.width) / throughput.cyclesPerFrame, idealCyclesPerFrame: throughput.cyclesPerFrame },
    },
    accel: { ...part.section, config: chip.rtl, integerModel: CHIP_INTEGER_MODEL, quantization: graph },
    split: {
      fixedLayers: k, tensor, frameBuffer, fixedCyclesPerFrame: fixedCycles, acceleratorCyclesPerFrame: accelCycles, cyclesPerFrame: throughput.cyclesPerFrame,
      bottleneck: throughput.bottleneck, clockMHz: throughput.clockMHz, framesPerSecond: throughput.framesPerSecond, balancingArray: throughput.balancingArray,
    },
    cost: top.cost,
    testbench: { module: top.testbench.module, verilog: top.testbench.verilog },
  };
}

/** The whole model's integer model (what the chip's scores answer to), beside the program it runs. */
export const CHIP_INTEGER_MODEL = `${PROGRAM_DIR}/integer-model.json`;
