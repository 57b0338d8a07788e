/**
 * Part kind `accel`: the programmable accelerator (generator/accel) as a part of a design. At K = 0
 * (`fixynn generate model.onnx --fixed-layers 0 --accel RxC`) it is the whole design: the accelerator's
 * Verilog, its testbench, the model's program and MEM images, the integer model and the manifest.
 *
 * The chip: an R x C array with the memories the accelerator's verification uses (verify/accel/configs.ts
 * takes its configuration from here, so a design and the tests of one array size share one simulator
 * build); operand widths at least 8 bits and as wide as the model needs, 32-bit accumulators and PPU
 * multipliers (ACC lanes are 4 bytes in MEM). A model needing more than that chip has is refused with
 * the layer named by the compiler (a layer kind it lacks, a tensor larger than ACT, MEM, the program
 * memory, a pooling window beyond the depthwise engine).
 */
import { createHash } from 'node:crypto';
import { type AccelConfig, type AcceleratorDescription, type CompiledProgram, compileProgram, configForModel, describeAccelerator, parseArrayShape, replayCycles, summarizeProgram } from '../accel/index.js';
import { disassemble } from '../accel/asm.js';
import { type Accesses, programAccesses } from '../accel/accesses.js';
import { FILES, memoryImage, programImage } from '../accel/image.js';
import { type MemoryKind, type RtlConfig, rtlConfig } from '../accel/rtl/config.js';
import { accelSources } from '../accel/rtl/sources.js';
import { badInput } from '../common/errors.js';
import { streamOfTensor, type Stream } from '../contract/stream.js';
import type { Module } from '../hdl/index.js';
import { designCosts } from '../hdl/stats.js';
import type { QuantTensor, QuantizedGraph } from '../quant/ir.js';
import type { EmittedPort } from '../emit/index.js';

/** Memory sizes of a generated accelerator (rows of C lanes; MEM in bytes) and its RTL limits. */
export const ACCEL_CHIP = {
  memBytes: 1 << 17, actRows: 4096, wgtRows: 1024, accRows: 1024, qpRows: 256, queueDepth: 8, dwTaps: 25, dwMaxWidth: 32, imemWords: 512,
} as const;

/**
 * The large chip, for a model the standard one cannot hold (MobileNetV1 at 224x224): twice the ACT rows
 * (band slots of 2,048 rows: the first layer's output row with its input rows needs 784 at 16x16) and QP
 * (ARGMAX over 1001 classes needs 189 rows of a QP half); MEM and the program memory are sized to the
 * program (the next power of two of what it uses), so the RTL holds exactly what the model needs.
 */
export const ACCEL_CHIP_LARGE = { actRows: 8192, qpRows: 512 } as const;

/** Probe sizes for MEM and the program memory while sizing the large chip (the compiler's own limits). */
const PROBE = { memBytes: 2 ** 31, imemWords: 1 << 16 } as const;

/**
 * The chip of an R x C array for a model's layers from `fromLayer` on: the standard chip (ACCEL_CHIP, the
 * example model's, shared with the tests' builds) when the program fits it, else the large chip
 * (ACCEL_CHIP_LARGE, MEM and program memory sized to the program). A model the large chip cannot hold
 * either is refused by the compiler with the layer named.
 */
export function accelChipConfig(graph: QuantizedGraph, rows: number, cols: number, fromLayer = 0): { config: AccelConfig; rtl: RtlConfig } {
  const standard = chipOf(graph, rows, cols, fromLayer, ACCEL_CHIP);
  if (fits(graph, standard.config, fromLayer)) return standard;
  const probe = compileProgram(graph, chipOf(graph, rows, cols, fromLayer, { ...ACCEL_CHIP, ...ACCEL_CHIP_LARGE, ...PROBE }).config, { fromLayer });
  const memBytes = Math.max(ACCEL_CHIP.memBytes, nextPowerOfTwo(Math.max(probe.mem.length, probe.layout.memUsed)));
  const imemWords = Math.max(ACCEL_CHIP.imemWords, nextPowerOfTwo(probe.program.length));
  return chipOf(graph, rows, cols, fromLayer, { ...ACCEL_CHIP, ...ACCEL_CHIP_LARGE, memBytes, imemWords });
}

function chipOf(graph: QuantizedGraph, rows: number, cols: number, fromLayer: number, sizes: Partial<AccelConfig>): { config: AccelConfig; rtl: RtlConfig } {
  const model = configForModel(graph, rows, cols, {}, { fromLayer });
  const config = configForModel(graph, rows, cols, { ...sizes, memPortBytes: Math.min(16, cols), weightBits: model.weightBits, accBits: 32, multiplierBits: 32 }, { fromLayer });
  return { config, rtl: rtlConfig(config, { streamBlocks: Math.ceil(acceleratorInput(graph, fromLayer).shape[0] / cols) }) };
}

/** Whether the program for layers fromLayer.. compiles for a configuration (any refusal: it does not fit). */
function fits(graph: QuantizedGraph, config: AccelConfig, fromLayer: number): boolean {
  try {
    compileProgram(graph, config, { fromLayer });
    return true;
  } catch {
    return false;
  }
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/**
 * The tensor the accelerator's pixel stream carries: the input of its first layer (the image at K = 0,
 * the fixed part's output at K > 0).
 */
export function acceleratorInput(graph: QuantizedGraph, fromLayer: number): QuantTensor {
  const name = fromLayer === 0 ? graph.input.tensor : graph.layers[fromLayer]?.inputs[0];
  const t = name === undefined ? undefined : graph.tensors[name];
  if (t === undefined) throw new Error(`internal: no input tensor of layer ${fromLayer}`);
  return t;
}

/** `--accel RxC` parsed and checked (4x4 to 32x32, R = C in this version). */
export function accelShape(text: string): { rows: number; cols: number } {
  const shape = parseArrayShape(text);
  if (shape.rows !== shape.cols || shape.rows < 4 || shape.rows > 32) throw badInput(`--accel ${text}: supported arrays are square, 4x4 to 32x32 (e.g. 8x8, 16x16)`);
  return shape;
}

/** `--accel-mem`: where the accelerator's MEM lives (generator/accel/rtl/config.ts MemoryKind). */
export const ACCEL_MEMORIES: readonly MemoryKind[] = ['onchip', 'axi'];

export function accelMemory(text: string): MemoryKind {
  const kind = ACCEL_MEMORIES.find((m) => m === text.trim());
  if (kind === undefined) throw badInput(`--accel-mem ${text}: supported are onchip (MEM inside the accelerator, the default) and axi (MEM off chip behind an AXI4 master, control over AXI4-Lite)`);
  return kind;
}

/**
 * A chip with its MEM behind the AXI4 master instead of on chip (the same AccelConfig, so the same program;
 * the AXI variant has no stream ports: the host writes the input into MEM and reads the results from it).
 */
export function withAxiMemory(chip: { config: AccelConfig; rtl: RtlConfig }, options: { frameStart?: boolean } = {}): { config: AccelConfig; rtl: RtlConfig } {
  const { config, rtl } = chip;
  return { config, rtl: rtlConfig(config, { dwKernel: rtl.dwKernel, dwMaxWidth: rtl.dwMaxWidth, imemWords: rtl.imemWords, streamBlocks: rtl.streamBlocks, memory: 'axi', ...(options.frameStart === true ? { frameStart: true } : {}) }) };
}

/** Compiles for the chip (the compiler refuses what exceeds it, the RTL's limits included, naming the layer). */
export function compileForChip(graph: QuantizedGraph, chip: { config: AccelConfig; rtl: RtlConfig }, fromLayer: number): CompiledProgram {
  return compileProgram(graph, chip.config, { fromLayer });
}

/** The program files of a design (or of `fixynn compile --out`), by name inside the program folder. */
export function programFiles(compiled: CompiledProgram): Map<string, string | Uint8Array> {
  return new Map<string, string | Uint8Array>([
    [FILES.program, programImage(compiled.program, compiled.config)],
    [FILES.memory, memoryImage(compiled.mem, compiled.config)],
    [FILES.layout, JSON.stringify({ format: 1, config: compiled.config, layout: compiled.layout }, null, 2) + '\n'],
    [FILES.text, disassemble(compiled.program, compiled.layout.layers)],
  ]);
}

export const PROGRAM_DIR = 'program';
export const ACCEL_TB_FILE = 'tb/fixynn_accel_tb.v';

export interface AccelPartBuild {
  readonly files: Map<string, string | Uint8Array>;
  readonly rtl: readonly string[];
  readonly top: string;
  readonly ports: readonly EmittedPort[];
  readonly testbench: { module: string; verilog: string };
  readonly input: Stream;
  readonly output: Stream;
  readonly section: Omit<AccelPartSection, 'integerModel' | 'quantization'>;
  readonly cost: ReturnType<typeof costOf>;
  /** The accelerator's DSL top (a chip's top instantiates it). */
  readonly module: Module;
}

/** The accelerator's section of a manifest (the schema is accelPartSchema in manifest.ts). */
export interface AccelPartSection extends Omit<AcceleratorDescription, 'config'> {
  readonly kind: 'accel';
  readonly name: string;
  readonly module: string;
  readonly fromLayer: number;
  readonly input: Stream;
  readonly output: Stream;
  /** The RTL's configuration (the accelerator's, plus what only the RTL needs). */
  readonly config: RtlConfig;
  readonly program: {
    readonly dir: string;
    readonly sha256: string;
    readonly instructions: number;
    readonly predictedCycles: number;
    readonly macs: number;
    readonly utilization: number;
    readonly layers: Array<{ index: number; name: string; kind: string; instructions: number; predictedCycles: number; macs: number; utilization: number; accesses?: Accesses }>;
    /** Memory accesses per image (generator/accel/accesses.ts), priced by the accelerator's energy model. */
    readonly accesses?: Accesses;
  };
  readonly cost: ReturnType<typeof costOf>;
  readonly integerModel: string;
  readonly quantization: QuantizedGraph;
}

function costOf(module: Parameters<typeof designCosts>[0]): import('../hdl/stats.js').CostFigures & { productAdders: number; productAdderBits: number } {
  const c = designCosts(module);
  return {
    adders: c.adders, adderBits: c.adderBits, comparators: c.comparators, comparatorBits: c.comparatorBits, multipliers: c.multipliers,
    multiplierBits: c.multiplierBits, registerBits: c.registerBits, memoryBits: c.memoryBits, adderDepth: c.adderDepth,
    // No constant products in a programmable part.
    productAdders: 0, productAdderBits: 0,
  };
}

/** The part's files (relative to the design folder) and manifest section. */
export function buildAccelPart(graph: QuantizedGraph, chip: { config: AccelConfig; rtl: RtlConfig }, compiled: CompiledProgram, fromLayer: number): AccelPartBuild {
  const sources = accelSources(chip.rtl);
  const files = new Map<string, string | Uint8Array>();
  const rtl = sources.rtl.map((f) => `rtl/${f.name}`);
  sources.rtl.forEach((f, i) => files.set(rtl[i] as string, f.text));
  // The AXI variant's testbench instantiates the AXI4 protocol checker: one file holds both, so the design
  // has one testbench file as every design does.
  files.set(ACCEL_TB_FILE, [...sources.testbenchSupport.map((f) => f.text), sources.testbench.text].join('\n'));
  const program = programFiles(compiled);
  for (const [name, data] of program) files.set(`${PROGRAM_DIR}/${name}`, data);
  const cycles = replayCycles(compiled.config, compiled.program, compiled.layout.layers);
  const summary = summarizeProgram(compiled, cycles);
  const accesses = programAccesses(compiled.config, compiled.program, compiled.layout.layers);
  const d = describeAccelerator(chip.config);
  const inTensor = graph.tensors[compiled.layout.input.tensor];
  if (!inTensor) throw new Error(`internal: no tensor '${compiled.layout.input.tensor}'`);
  const input = streamOfTensor(inTensor);
  const [classes, oh, ow] = compiled.layout.output.shape;
  // Scores leave at accumulator precision (acc + bias, 32-bit lanes in MEM) when the last layer is weighted.
  const output: Stream = compiled.layout.output.memory === 'acc'
    ? { channels: classes, height: oh, width: ow, type: { bits: 32, signed: true } }
    : streamOfTensor(graph.tensors[compiled.layout.output.tensor]!);
  const hash = createHash('sha256');
  for (const [name, data] of program) hash.update(`${name}\n`).update(data);
  const cost = costOf(sources.module);
  return {
    files, rtl, top: sources.top, module: sources.module, ports: sources.ports, testbench: { module: sources.testbench.name.replace(/\.v$/, ''), verilog: ACCEL_TB_FILE }, input, output, cost,
    section: {
      kind: 'accel', name: 'accel', module: sources.top, fromLayer, input, output,
      isaVersion: d.isaVersion, array: d.array, peakMacsPerCycle: d.peakMacsPerCycle, widths: d.widths, memoryBytes: d.memoryBytes, config: chip.rtl,
      program: {
        dir: PROGRAM_DIR, sha256: hash.digest('hex'), instructions: summary.instructions, predictedCycles: summary.predictedCycles, macs: summary.macs, utilization: summary.utilization,
        layers: summary.layers.map((l, i) => ({
          index: l.index, name: l.name, kind: l.kind, instructions: Object.values(l.instructions).reduce((a, b) => a + b, 0), predictedCycles: l.predictedCycles, macs: l.macs, utilization: l.utilization,
          accesses: accesses.layers[i] as Accesses,
        })),
        accesses: accesses.total,
      },
      cost,
    },
  };
}
