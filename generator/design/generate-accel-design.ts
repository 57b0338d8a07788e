/**
 * `fixynn generate model.onnx --fixed-layers 0 --accel RxC` without the command line: the accelerator
 * alone (part kind `accel`, generator/design/accel-part.ts) running every layer of the model, written
 * atomically as a design folder:
 *
 *   rtl/*.v                  the accelerator's Verilog (its top is the design's top, fixynn_accel)
 *   files.f                  RTL compile order
 *   tb/fixynn_accel_tb.v     the testbench: program and MEM image through the host port, then each frame's
 *                            pixels through the input stream (the program starts on the complete frame),
 *                            scores and class from the output stream, to FINISH or the error bit (Icarus,
 *                            or `verilator --binary --timing`); host mode (images with the input) as well.
 *                            With `--accel-mem axi` (MEM off chip behind the AXI4 master, control over
 *                            AXI4-Lite, no streams): the AXI testbench, its memory model and the AXI4
 *                            protocol checker; images with the input, results read from MEM
 *   program/                 program.bin, mem.bin (images with CRC-32 and configuration fingerprint),
 *                            program.json (configuration and layout), program.s (the program as text)
 *   model.onnx, integer-model.json, manifest.json (as for every design)
 *
 * K > 0 with --accel (the fixed part feeding the accelerator: the chip, issue 13) is generateDesign's
 * (generate-design.ts, option `accel`); `fixynn generate` sends it there.
 */
import path from 'node:path';
import { badInput } from '../common/errors.js';
import { version } from '../common/version.js';
import { serializeQuantizedGraph } from '../quant/serialize.js';
import type { MemoryKind } from '../accel/rtl/config.js';
import { accelChipConfig, accelShape, buildAccelPart, compileForChip, withAxiMemory } from './accel-part.js';
import { INTEGER_MODEL, loadAndQuantize, MANIFEST, MODEL_COPY, type QuantizeOptions } from './generate-design.js';
import { type AccelPart, MANIFEST_FORMAT, MANIFEST_VERSION, serializeManifest, type Manifest } from './manifest.js';
import { assertReplaceable, writeFolderAtomically } from './output-dir.js';
import { FILE_LIST, renderFileList } from './testbench.js';
import { DEFAULT_CLOCK_MHZ, renderHandoff } from './handoff.js';
import { createHash } from 'node:crypto';

export interface GenerateAccelOptions extends QuantizeOptions {
  readonly fixedLayers: string;
  /** `--accel RxC`. */
  readonly accel: string;
  /** `--accel-mem`: MEM on chip (default) or behind the AXI4 master. */
  readonly accelMem?: MemoryKind;
  readonly out: string;
}

export async function generateAccelDesign(modelPath: string, options: GenerateAccelOptions): Promise<{ manifest: Manifest; seconds: number }> {
  const start = performance.now();
  const shape = accelShape(options.accel);
  assertReplaceable(options.out, MANIFEST);
  const { modelBytes, sha256, graph, k, quantized, calibration, preprocess } = await loadAndQuantize(modelPath, options);
  if (k > 0) {
    throw badInput(`--fixed-layers ${options.fixedLayers} with --accel: K > 0 is the chip (issue 13), built by generateDesign with its accel option (fixynn generate does this); this function builds the accelerator alone (--fixed-layers 0)`);
  }
  if (!quantized.layers.some((l) => l.kind === 'conv' || l.kind === 'gemm')) {
    throw badInput(`${graph.source.file}: --accel: no weighted layer (conv/gemm) runs on the accelerator; it needs at least one`);
  }
  const onChip = accelChipConfig(quantized, shape.rows, shape.cols, k);
  const chip = options.accelMem === 'axi' ? withAxiMemory(onChip) : onChip;
  options.onProgress?.(`compiling ${quantized.layers.length} layers for the ${shape.rows}x${shape.cols} accelerator`);
  const compiled = compileForChip(quantized, chip, k);
  options.onProgress?.('generating the accelerator\'s Verilog');
  const part = buildAccelPart(quantized, chip, compiled, k);
  const files = new Map(part.files);
  files.set(FILE_LIST, renderFileList(part.rtl));
  files.set(MODEL_COPY, modelBytes);
  files.set(INTEGER_MODEL, `${serializeQuantizedGraph(quantized)}\n`);
  // The synthesis hand-off bundle (SDC at the default clock, Yosys scripts, FuseSoC core), as for the fixed part.
  const handoff = renderHandoff({
    top: part.top, rtl: part.rtl, ports: part.ports, testbench: part.testbench,
    header: { modelFile: path.basename(modelPath), modelSha256: sha256, options: { accel: options.accel, 'fixed-layers': k, ...(options.accelMem === 'axi' ? { 'accel-mem': 'axi' } : {}) } },
  }, DEFAULT_CLOCK_MHZ);
  for (const [name, text] of handoff) files.set(name, text);
  const hashes: Record<string, string> = {};
  for (const [name, data] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) hashes[name] = createHash('sha256').update(data).digest('hex');
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    generator: { name: 'fixynn', version },
    source: { file: path.basename(modelPath), copy: MODEL_COPY, sha256 },
    // One part, whose module is the top: pixels in on the input stream, scores and class out on the output
    // stream (docs/accel-rtl.md "Streams"; the host port reads them too), or both in MEM with MEM over AXI;
    // one frame takes the program's cycles.
    top: {
      module: part.top,
      ports: [...part.ports],
      input: part.input,
      output: part.output,
      // MEM off chip: the input is written into it before a run and the results read from it (no stream ports).
      transport: options.accelMem === 'axi' ? { input: 'memory', output: 'memory' } : { input: 'stream', output: 'stream' },
      latencyCycles: part.section.program.predictedCycles,
      throughput: {
        inputPixelsPerCycle: (part.input.height * part.input.width) / part.section.program.predictedCycles,
        idealCyclesPerFrame: part.section.program.predictedCycles,
      },
    },
    parts: [{ ...part.section, options: quantizationRecord(options, calibration, preprocess), integerModel: INTEGER_MODEL, quantization: quantized }],
    cost: part.cost,
    rtl: [...part.rtl],
    fileList: FILE_LIST,
    testbench: part.testbench,
    files: hashes,
  };
  files.set(MANIFEST, serializeManifest(manifest));
  writeFolderAtomically(options.out, files, MANIFEST);
  return { manifest, seconds: (performance.now() - start) / 1000 };
}

/** What shaped the accelerator's quantization, recorded in its part (verify reads its images the same way). */
export function quantizationRecord(options: QuantizeOptions, calibration: string, preprocess: { scale: number; mean: number[]; std: number[] }): AccelPart['options'] {
  return {
    ...(options.weightBits !== undefined ? { weightBits: options.weightBits } : {}),
    ...(options.actBits !== undefined ? { actBits: options.actBits } : {}),
    ...(options.requantBits !== undefined ? { requantBits: options.requantBits } : {}),
    calibration,
    preprocess,
  };
}
