/**
 * The whole chip (issue 13): `generate --fixed-layers K --accel RxC` on the example model, `verify` of the
 * chip's RTL (the fixed part streaming into the accelerator, frames back to back) bit-exact with the
 * integer model and the measured frame period within 2% of the reported one; `compile --chip` of a second
 * task with the same frozen front end (examples/chip/loops-k3.onnx) and `verify --program` on the same
 * chip; the refusals (a split leaving no weighted layer, a model with another front end).
 *
 * `verify --stalls` (random stalls on both streams, still bit-exact) and `--trace` (a VCD of the run).
 *
 * npm test: K = 3 on 8x8 in Verilator on a few digits (with and without stalls), the trace in Icarus on one. FIXYNN_FULL: K = 3 and K = 9 on 8x8 and 16x16,
 * 200 digits each, and Icarus on 5.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompile } from '../../generator/commands/compile.js';
import { runVerifyChip, STALL_CHANCE } from '../../generator/commands/verify-chip.js';
import { FixynnError } from '../../generator/common/errors.js';
import { ffeCore } from '../../generator/design/core.js';
import { generateDesign, type GenerateDesignOptions } from '../../generator/design/generate-design.js';
import { parseManifest, partOf, serializeManifest, type Manifest } from '../../generator/design/manifest.js';
import { verifyChip } from '../../verify/chip/verify-chip.js';
import { count, FULL } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODEL = path.join(here, '../../examples/mnist-mobilenet/model.onnx');
const LOOPS = path.join(here, '../../examples/chip/loops-k3.onnx');
const LOOP_LABELS = path.join(here, '../../examples/chip/loops-labels.npy');
const OTHER_FRONT = path.join(here, '../../examples/transfer/backbone.onnx');
const DIGITS = count('CHIP_DIGITS', 200, 4);
const quiet = { onProgress: (): void => {} };

let root: string;
const chips = new Map<string, { dir: string; manifest: Manifest }>();

function options(k: number, accel: string, out: string): GenerateDesignOptions {
  return { fixedLayers: String(k), accel, out, arith: 'shared', pipeline: 0, rawInput: false, ...quiet };
}

async function chip(k: number, accel: string): Promise<{ dir: string; manifest: Manifest }> {
  const key = `${k}-${accel}`;
  const known = chips.get(key);
  if (known) return known;
  const dir = path.join(root, `chip-k${k}-${accel}`);
  const { manifest } = await generateDesign(MODEL, options(k, accel, dir), ffeCore);
  const made = { dir, manifest };
  chips.set(key, made);
  return made;
}

async function refusal(run: () => Promise<unknown>): Promise<FixynnError> {
  const err = await run().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FixynnError);
  expect((err as FixynnError).exitCode).toBe(2);
  return err as FixynnError;
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'fixynn-chip-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the chip: the example model split at K = 3 on an 8x8 accelerator', () => {
  it('generate writes both parts, the split, the program and the chip top; the manifest reads back identically', async () => {
    const { dir, manifest } = await chip(3, '8x8');
    expect(manifest.parts.map((p) => p.kind)).toEqual(['ffe', 'accel']);
    const ffe = partOf(manifest, 'ffe');
    const accel = partOf(manifest, 'accel');
    expect(ffe.fixedLayerCount).toBe(3);
    expect(accel.fromLayer).toBe(3);
    expect(accel.program.layers.map((l) => l.index)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    const split = manifest.split!;
    expect(split.fixedLayers).toBe(3);
    expect(split.fixedCyclesPerFrame).toBe(28 * 28);
    expect(split.cyclesPerFrame).toBe(Math.max(split.fixedCyclesPerFrame, split.acceleratorCyclesPerFrame));
    expect(split.acceleratorCyclesPerFrame).toBeGreaterThan(accel.program.predictedCycles);
    expect(split.bottleneck).toBe(split.acceleratorCyclesPerFrame > split.fixedCyclesPerFrame ? 'accelerator' : 'fixed part');
    expect(split.framesPerSecond).toBeCloseTo((split.clockMHz * 1e6) / split.cyclesPerFrame, 6);
    expect(manifest.top.module).toBe('fixynn_chip');
    expect(manifest.top.input).toEqual(ffe.input);
    expect(manifest.top.output).toEqual(accel.output);
    // The chip's cost counts both parts and the frame FIFO.
    expect(manifest.cost.productAdders).toBe(ffe.cost.productAdders);
    expect(manifest.cost.multipliers).toBeGreaterThanOrEqual(accel.cost.multipliers);
    expect(manifest.cost.memoryBits).toBeGreaterThan(accel.cost.memoryBits);
    for (const f of ['rtl/fixynn_chip.v', 'rtl/fixynn_ffe.v', 'rtl/fixynn_accel.v', 'tb/fixynn_chip_tb.v', 'program/program.bin', 'program/mem.bin', 'program/integer-model.json', 'integer-model.json']) {
      expect(existsSync(path.join(dir, f)), f).toBe(true);
    }
    const text = readFileSync(path.join(dir, 'manifest.json'), 'utf8');
    expect(serializeManifest(parseManifest(text, 'manifest.json'))).toBe(text);
    // The split must agree with the parts.
    const data = JSON.parse(text) as { split: Record<string, unknown> };
    expect(() => parseManifest(JSON.stringify({ ...data, split: { ...data.split, fixedLayers: 4 } }), 'm.json')).toThrow(/split after 4 layers, but the fixed part has 3 and the accelerator starts at layer 3/);
    expect(() => parseManifest(JSON.stringify({ ...data, split: { ...data.split, tensor: 'x' } }), 'm.json')).toThrow(/split tensor 'x', but the fixed part outputs/);
  }, 600_000);

  it('verify: bit-exact with the integer model in Verilator, frames back to back at the reported period (2%)', async () => {
    const { dir, manifest } = await chip(3, '8x8');
    const s = await verifyChip(dir, { simulator: 'verilator', images: Math.max(DIGITS, 4), ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
    expect(s.framePeriod.reported).toBe(manifest.split!.cyclesPerFrame);
    expect(s.framePeriod.measured).not.toBeNull();
    expect(Math.abs(s.framePeriod.deviation!)).toBeLessThanOrEqual(0.02);
  }, 1_200_000);

  it('verify --stalls: random stalls on both streams leave every frame bit-exact (the plain verify\'s build)', async () => {
    const { dir } = await chip(3, '8x8');
    const s = await quietly(() => runVerifyChip(dir, { images: '3', stalls: true, seed: '7', json: true }, 3));
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
    expect(s.stalls).toMatchObject({ input: STALL_CHANCE, output: STALL_CHANCE, seed: 7 });
    expect(s.stalls!.heldInput).toBeGreaterThan(100);
    expect(s.stalls!.heldOutput).toBeGreaterThan(100);
    expect(s.framePeriod.deviation).toBeNull();
  }, 1_200_000);

  it('verify --trace writes the run\'s VCD waveform (Icarus, one digit: no second Verilator build)', async () => {
    const { dir } = await chip(3, '8x8');
    const trace = path.join(root, 'chip.vcd');
    const s = await quietly(() => runVerifyChip(dir, { sim: 'icarus', images: '1', trace, json: true }, 1));
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
    const vcd = readFileSync(trace, 'utf8').slice(0, 8192);
    expect(vcd).toMatch(/\$scope module fixynn_chip_tb \$end/);
    expect(vcd).toMatch(/\$var \w+ +1 \S+ s_tvalid \$end/);
    rmSync(trace);
  }, 1_200_000);

  it('compile --chip: the second task (same frozen front, a loops head) runs bit-exact on the same chip; another front end is refused', async () => {
    const { dir } = await chip(3, '8x8');
    const prog = path.join(root, 'loops');
    await runCompile(LOOPS, { chip: dir, out: prog, json: true });
    const s = await verifyChip(dir, { simulator: 'verilator', images: Math.max(DIGITS, 4), program: prog, labels: LOOP_LABELS, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
    expect(s.classes.every((c) => c >= 0 && c < 3)).toBe(true);
    expect(Math.abs(s.framePeriod.deviation!)).toBeLessThanOrEqual(0.02);
    const err = await refusal(() => runCompile(OTHER_FRONT, { chip: dir, out: path.join(root, 'other'), json: true }));
    expect(err.message).toMatch(/layer 0 '.*' differs from the chip's fixed layer 0 .*: weight \[\d+, \d+, \d+, \d+\] \S+ quantizes to -?\d+ under the chip's scale \S+, the chip holds -?\d+; the model's front end is not the chip's/);
    expect(existsSync(path.join(root, 'other'))).toBe(false);
  }, 1_200_000);

  it('compile --chip refuses a back end needing more than the chip\'s accelerator has', async () => {
    const { dir } = await chip(3, '8x8');
    // The same chip with a smaller MEM: the loops program's weights no longer fit.
    const small = path.join(root, 'small-chip');
    cpSync(dir, small, { recursive: true });
    const file = path.join(small, 'manifest.json');
    const data = JSON.parse(readFileSync(file, 'utf8')) as { parts: Array<{ kind: string; config: Record<string, number> }> };
    const accel = data.parts.find((p) => p.kind === 'accel')!;
    accel.config = { ...accel.config, memBytes: 4096 };
    writeFileSync(file, JSON.stringify(data));
    const err = await refusal(() => runCompile(LOOPS, { chip: small, out: path.join(root, 'too-big'), json: true }));
    expect(err.message).toMatch(/loops-k3\.onnx for the chip .*small-chip: the back end needs more than the chip's 8x8 accelerator has: .*MEM/);
    expect(existsSync(path.join(root, 'too-big'))).toBe(false);
  }, 300_000);

  it('a split leaving the accelerator no weighted layer is refused (exit 2), writing nothing', async () => {
    const out = path.join(root, 'k11');
    const err = await refusal(() => generateDesign(MODEL, options(11, '8x8', out), ffeCore));
    expect(err.message).toMatch(/--fixed-layers 11 --accel 8x8: no layer is left after the split.*no weighted layer/);
    expect(existsSync(out)).toBe(false);
  }, 300_000);
});

describe.runIf(FULL)('the chip at K = 3 and K = 9, 8x8 and 16x16 (FIXYNN_FULL)', () => {
  for (const [k, accel] of [[3, '8x8'], [3, '16x16'], [9, '8x8'], [9, '16x16']] as const) {
    it(`K = ${k}, ${accel}: ${DIGITS} digits bit-exact in Verilator, frame period within 2%`, async () => {
      const { dir } = await chip(k, accel);
      const s = await verifyChip(dir, { simulator: 'verilator', images: DIGITS, ...quiet });
      expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
      expect(Math.abs(s.framePeriod.deviation!)).toBeLessThanOrEqual(0.02);
    }, 3_600_000);
  }
  it('K = 3, 8x8: 5 digits bit-exact in Icarus', async () => {
    const { dir } = await chip(3, '8x8');
    const s = await verifyChip(dir, { simulator: 'icarus', images: 5, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
  }, 3_600_000);
});
