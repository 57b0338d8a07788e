/**
 * The accelerator as a design (part kind `accel`): `generate --fixed-layers 0 --accel 8x8` on the example
 * model, `verify` (integer model -> ISA simulator -> RTL) in Verilator on a few digits (FIXYNN_FULL: 200)
 * and Icarus on one, per-layer cycles measured vs predicted, `compile` + `verify --program`, the manifest
 * round trip, and the refusals (K = 0 without --accel, K > 0 with it, a chip too small for a layer, a
 * corrupted image, a program for another chip, a faulting program); `--accel-mem axi` (the AXI variant in
 * Icarus on the reference memory, cycles per layer against the reference prediction). The 8x8 build is the one
 * test/accel/rtl-programs.test.ts uses (same sources, one cache entry).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifestPorts } from '../helpers/verilog-ports.js';
import { readCompiled } from '../../generator/accel/image.js';
import { encode, decode } from '../../generator/accel/isa.js';
import { runCompile } from '../../generator/commands/compile.js';
import { runGenerate } from '../../generator/commands/generate.js';
import { runGenerateAccel } from '../../generator/commands/generate-accel.js';
import { FixynnError } from '../../generator/common/errors.js';
import { accelChipConfig, compileForChip, programFiles } from '../../generator/design/accel-part.js';
import { generateAccelDesign } from '../../generator/design/generate-accel-design.js';
import { parseManifest, partOf, serializeManifest, type Manifest } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { verifyAccelDesign } from '../../verify/accel/verify-design.js';
import { count } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');
const DIGITS = count('ACCEL_DESIGN_DIGITS', 200, 3);
const quiet = { onProgress: (): void => {} };

let root: string;
let dir: string;
let manifest: Manifest;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-design-'));
  dir = path.join(root, 'd8');
  manifest = (await generateAccelDesign(MODEL, { fixedLayers: '0', accel: '8x8', out: dir, ...quiet })).manifest;
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function refusal(run: () => Promise<unknown>): Promise<FixynnError> {
  const err = await run().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FixynnError);
  expect((err as FixynnError).exitCode).toBe(2);
  return err as FixynnError;
}

describe('generate --fixed-layers 0 --accel 8x8 on the example model', () => {
  it('writes the accelerator part: parameters, program figures, files, and reads back identically', () => {
    const part = partOf(manifest, 'accel');
    expect(part.array).toEqual({ rows: 8, cols: 8 });
    expect(part.peakMacsPerCycle.array).toBe(64);
    expect(part.widths.accumulator).toBe(32);
    expect(part.program.layers).toHaveLength(11);
    expect(part.program.predictedCycles).toBeGreaterThan(0);
    expect(manifest.cost.multipliers).toBeGreaterThan(64);
    for (const f of ['program/program.bin', 'program/mem.bin', 'program/program.s', 'tb/fixynn_accel_tb.v', 'rtl/fixynn_accel.v', 'integer-model.json']) expect(existsSync(path.join(dir, f))).toBe(true);
    const text = readFileSync(path.join(dir, 'manifest.json'), 'utf8');
    expect(serializeManifest(parseManifest(text, 'manifest.json'))).toBe(text);
    expect(readDesign(dir).manifest.parts[0]?.kind).toBe('accel');
  });

  it('lists every port of the accelerator top with its meaning, as the Verilog declares them', () => {
    expect(checkManifestPorts(dir)).toEqual(['fixynn_accel']);
    expect(readFileSync(path.join(dir, 'rtl/fixynn_accel.v'), 'utf8')).toMatch(/^\/\/ Ports:\n\/\/   clk \(input\): /m);
  });

  it('verifies bit-exact in Verilator (ISA simulator and RTL), cycles per layer as predicted', async () => {
    const s = await verifyAccelDesign(dir, { simulator: 'verilator', images: DIGITS, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
    expect(s.images).toBe(DIGITS);
    expect(s.totalCycles.measured).toBe(s.totalCycles.predicted);
    for (const l of s.layers) expect(Math.abs((l.measured ?? -1e9) - l.predicted)).toBeLessThanOrEqual(Math.max(64, 0.05 * l.predicted));
  }, 900_000);

  it('verifies bit-exact in Icarus on one digit', async () => {
    const s = await verifyAccelDesign(dir, { simulator: 'icarus', images: 1, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
  }, 900_000);

  it('compile --accel 8x8 then verify --program runs it bit-exact; a corrupted image and a program for another chip are refused', async () => {
    const prog = path.join(root, 'prog8');
    await runCompile(MODEL, { accel: '8x8', out: prog, json: true });
    const s = await verifyAccelDesign(dir, { simulator: 'verilator', images: 2, program: prog, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });

    const bad = path.join(root, 'prog-bad');
    cpSync(prog, bad, { recursive: true });
    const mem = readFileSync(path.join(bad, 'mem.bin'));
    mem[mem.length - 3] = (mem[mem.length - 3] as number) ^ 0x40;
    writeFileSync(path.join(bad, 'mem.bin'), mem);
    const corrupt = await refusal(() => verifyAccelDesign(dir, { simulator: 'verilator', images: 1, program: bad, ...quiet }));
    expect(corrupt.message).toMatch(/mem\.bin: body checksum mismatch/);

    const prog16 = path.join(root, 'prog16');
    await runCompile(MODEL, { accel: '16x16', out: prog16, json: true });
    const other = await refusal(() => verifyAccelDesign(dir, { simulator: 'verilator', images: 1, program: prog16, ...quiet }));
    expect(other.message).toMatch(/compiled for another accelerator configuration: rows 16 \(chip 8\)/);
  }, 900_000);

  it('a faulting program stops the RTL with the error bit; verify names the pc', async () => {
    const compiled = readCompiled(path.join(dir, 'program'));
    const at = compiled.program.findIndex((ins) => ins.op === 'load');
    const load = compiled.program[at]!;
    const broken = { ...compiled, program: compiled.program.map((ins, pc) => (pc === at ? decode(encode({ ...(load as typeof load & { op: 'load' }), sramAddr: 65535 })) : ins)) };
    const prog = path.join(root, 'prog-fault');
    const files = programFiles(broken);
    files.set('integer-model.json', readFileSync(path.join(dir, 'integer-model.json')));
    for (const [name, data] of files) {
      if (!existsSync(prog)) cpSync(path.join(dir, 'program'), prog, { recursive: true });
      writeFileSync(path.join(prog, name), data);
    }
    const s = await verifyAccelDesign(dir, { simulator: 'verilator', images: 1, program: prog, ...quiet });
    expect(s.fault).toContain(`ISA simulator faults at pc ${at}`);
    expect(s.fault).toContain(`RTL stopped with the error bit at pc ${at} (address)`);
  }, 900_000);
});

describe('generate --accel-mem axi: MEM behind the AXI4 master', () => {
  it('writes the AXI variant (AXI4 master and AXI4-Lite ports, no streams) and verifies it in Icarus on the reference memory: bit-exact, every layer within 5% (or 64 cycles) of the reference prediction', async () => {
    const out = path.join(root, 'axi8');
    await quietly(() => runGenerateAccel(MODEL, { fixedLayers: '0', accel: '8x8', accelMem: 'axi', out, json: true }));
    const { manifest: m } = readDesign(out);
    expect(partOf(m, 'accel').config.memory).toBe('axi');
    const ports = m.top.ports.map((p) => p.name);
    expect(ports).toEqual(expect.arrayContaining(['m_axi_arvalid', 'm_axi_rdata', 'm_axi_wdata', 's_axil_awaddr', 's_axil_rdata']));
    expect(ports.filter((p) => p.startsWith('s_axis') || p.startsWith('m_axis'))).toEqual([]);
    expect(m.top.transport).toEqual({ input: 'memory', output: 'memory' });
    expect(checkManifestPorts(out)).toEqual(['fixynn_accel']);
    // The testbench file carries the AXI4 protocol checker it instantiates.
    expect(readFileSync(path.join(out, 'tb/fixynn_accel_tb.v'), 'utf8')).toMatch(/module fixynn_axi4_checker[\s\S]*module fixynn_accel_tb/);
    const s = await verifyAccelDesign(out, { simulator: 'icarus', images: 1, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault, memory: s.memory }).toEqual({ isa: 0, rtl: 0, fault: null, memory: 'axi' });
    const off = s.layers.filter((l) => l.measured === null || Math.abs(l.measured - l.predictedReferenceMemory) > Math.max(64, 0.05 * l.predictedReferenceMemory));
    expect(off.map((l) => `layer ${l.index}: RTL ${l.measured}, model ${l.predictedReferenceMemory}`)).toEqual([]);
    expect(Math.abs(s.totalCycles.measured! - s.totalCycles.predictedReferenceMemory)).toBeLessThanOrEqual(0.02 * s.totalCycles.predictedReferenceMemory);
  }, 600_000);

  it('a bad --accel-mem and --accel-mem without --accel are refused, writing nothing (--accel-mem axi for the chip: test/design/chip-spill.test.ts)', async () => {
    const bad = path.join(root, 'mem-bad');
    expect((await refusal(() => runGenerateAccel(MODEL, { fixedLayers: '0', accel: '8x8', accelMem: 'dram', out: bad }))).message)
      .toBe('--accel-mem dram: supported are onchip (MEM inside the accelerator, the default) and axi (MEM off chip behind an AXI4 master, control over AXI4-Lite)');
    expect((await refusal(() => runGenerate(MODEL, { fixedLayers: '3', accelMem: 'axi', out: bad }))).message).toBe('--accel-mem axi: applies to the accelerator; add --accel RxC');
    expect(existsSync(bad)).toBe(false);
  });
});

describe('the quantization flags of the fixed part (generator/commands/input-flags.ts)', () => {
  it('the accelerator part records how it was quantized; compile takes --calib-count/--calib-method and records them; a bad value is refused before any work', async () => {
    const part = partOf(manifest, 'accel');
    expect(part.options.preprocess).toEqual({ scale: 1 / 255, mean: [0], std: [1] });
    expect(part.options.calibration).toMatch(/MNIST/i);
    const prog = path.join(root, 'prog-minmax');
    await quietly(() => runCompile(MODEL, { accel: '8x8', out: prog, calibCount: '16', calibMethod: 'minmax', json: true }));
    const record = JSON.parse(readFileSync(path.join(prog, 'quantization.json'), 'utf8')) as { calibration: string; preprocess: unknown };
    expect(record.preprocess).toEqual({ scale: 1 / 255, mean: [0], std: [1] });
    expect(record.calibration).toMatch(/16/);
    const err = await refusal(() => runGenerateAccel(MODEL, { fixedLayers: '0', accel: '8x8', out: path.join(root, 'never-q'), calibMethod: 'guess' }));
    expect(err.message).toMatch(/--calib-method guess: supported methods are/);
    expect(existsSync(path.join(root, 'never-q'))).toBe(false);
  }, 300_000);
});

describe('refusals', () => {
  it('--fixed-layers 0 without --accel says what K = 0 needs, and writes nothing', async () => {
    const out = path.join(root, 'k0');
    const err = await refusal(() => runGenerate(MODEL, { fixedLayers: '0', out }));
    expect(err.message).toMatch(/K = 0 .* add --accel RxC/);
    expect(existsSync(out)).toBe(false);
  });

  it('K > 0 with --accel is refused clearly (issue 13), writing nothing', async () => {
    const out = path.join(root, 'k3');
    const err = await refusal(() => generateAccelDesign(MODEL, { fixedLayers: '3', accel: '8x8', out, ...quiet }));
    expect(err.message).toMatch(/K > 0.*issue 13/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('an array shape outside 4x4..32x32 is refused', async () => {
    const err = await refusal(() => generateAccelDesign(MODEL, { fixedLayers: '0', accel: '8x16', out: path.join(root, 'x'), ...quiet }));
    expect(err.message).toMatch(/--accel 8x16: supported arrays are square/);
  });

  it('a layer needing more than the chip has is named', () => {
    const graph = partOf(manifest, 'accel').quantization;
    const chip = accelChipConfig(graph, 8, 8);
    expect(() => compileForChip(graph, { config: { ...chip.config, imemWords: 64 }, rtl: chip.rtl }, 0)).toThrow(/program has \d+ instructions; the program memory holds 64/);
    // ACT of 64 rows: the compiler tiles through MEM, and refuses the layer whose one output row does not fit a band slot.
    expect(() => compileForChip(graph, { config: { ...chip.config, actRows: 64 }, rtl: chip.rtl }, 0)).toThrow(/accelerator: layer \d+ '[^']+' \([\w ]+\): one output row needs \d+ ACT rows of a band slot .* ACT's 64; raise actRows/);
  });
});
