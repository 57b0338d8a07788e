/**
 * The chip's frame buffer over AXI (generator/design/chip-spill.ts): `generate --fixed-layers 3 --accel 8x8
 * --accel-mem axi` on the example model writes the fixed part's frames into two DRAM frame slots through
 * the accelerator's AXI4 master, and each run reads its frame from there. `verify` streams the digits back to
 * back through the whole chip on the testbench's memory model with the AXI4 protocol checker watching:
 * scores and class bit-exact with the ISA simulator and the integer model; on the reference memory the
 * measured frame period within 2% of the reported one (the program on the reference memory, frames written
 * beside it); on random memories (latency, jitter, narrow bandwidth, stalls on every handshake) with random
 * gaps in the pixel stream, still bit-exact (the fixed part stalls while no slot is free).
 *
 * npm test: Verilator, 4 digits on the reference memory and 3 on one random memory. FIXYNN_FULL: 60 digits
 * on the reference memory, 20 on each of 3 random memories, and Icarus on 3; K = 9 on 16x16 (a run shorter
 * than the fixed part's frame once the pixel stream has gaps: the runs wait for frames) on a random memory, and
 * on the reference memory with its period within 2% of the reported one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotStride } from '../../generator/design/chip-spill.js';
import { ffeCore } from '../../generator/design/core.js';
import { generateDesign } from '../../generator/design/generate-design.js';
import { partOf, type Manifest } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { synthIce40 } from '../../verify/synth/fpga.js';
import { verifyChip } from '../../verify/chip/verify-chip.js';
import { lint } from '../../verify/sim/lint.js';
import { count, FULL } from '../helpers/env.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODEL = path.join(here, '../../examples/mnist-mobilenet/model.onnx');
const DIGITS = count('SPILL_DIGITS', 60, 4);
const RANDOM_DIGITS = count('SPILL_RANDOM_DIGITS', 20, 3);
const RANDOM_SEEDS = FULL ? [3, 7, 11] : [3];
const quiet = { onProgress: (): void => {} };

let root: string;
let dir: string;
let manifest: Manifest;
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'fixynn-spill-'));
  dir = path.join(root, 'chip-k3-8x8-axi');
  ({ manifest } = await generateDesign(MODEL, { fixedLayers: '3', accel: '8x8', accelMem: 'axi', out: dir, arith: 'shared', pipeline: 0, rawInput: false, ...quiet }, ffeCore));
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the chip with its frame buffer over AXI (example, K = 3, 8x8)', () => {
  it('records the mode and the AXI ports in the manifest; no result stream', () => {
    expect(manifest.split?.frameBuffer).toBe('axi');
    const accel = partOf(manifest, 'accel', dir);
    expect([accel.config.memory, accel.config.frameStart]).toEqual(['axi', true]);
    const ports = manifest.top.ports.map((p) => p.name);
    expect(ports).toEqual(expect.arrayContaining(['spill_in_addr', 'spill_slots_full', 'm_axi_awaddr', 'm_axi_wdata', 'm_axi_araddr', 'm_axi_bvalid', 's_axil_awaddr', 'irq']));
    expect(ports.filter((p) => /^m_t|^host_|^mem_base$|^frame_start$/.test(p))).toEqual([]);
    expect(manifest.top.transport).toEqual({ input: 'stream', output: 'memory' });
    // The accelerator's side of a frame is its program on the reference memory (plus the clocks between runs).
    expect(manifest.split?.bottleneck).toBe('accelerator');
    expect(slotStride(accel.config.memBytes) % 4096).toBe(0);
  });

  it('is refused by synth --target ice40 with one clear message (the iCE40 wrapper takes a fixed part alone)', async () => {
    await expect(synthIce40(readDesign(dir))).rejects.toThrow(/--target ice40 places and routes a fixed part alone.*holds ffe \+ accel: use --target generic, asic or xilinx/);
  });

  it('the chip\'s Verilog is lint-clean (verilator --lint-only -Wall)', async () => {
    const files = manifest.rtl.map((f) => ({ name: path.basename(f), text: readFileSync(path.join(dir, f), 'utf8') }));
    expect(await lint(files, manifest.top.module)).toEqual([]);
  }, 120_000);

  it(`Verilator, ${DIGITS} digits on the reference memory: bit-exact, frames back to back, period within 2% of the reported one`, async () => {
    const s = await verifyChip(dir, { simulator: 'verilator', images: DIGITS, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, first: s.rtlFirst, fault: s.fault }).toEqual({ isa: 0, rtl: 0, first: null, fault: null });
    expect(s.memory?.name).toBe('the reference memory');
    expect(s.framePeriod.frames).toBe(DIGITS);
    expect(s.framePeriod.reported).toBe(manifest.split?.cyclesPerFrame);
    expect(Math.abs(s.framePeriod.deviation ?? 1)).toBeLessThanOrEqual(0.02);
  }, 900_000);

  it.each(RANDOM_SEEDS)(`Verilator, ${RANDOM_DIGITS} digits on random memory %i with pixel gaps: bit-exact, no protocol violation`, async (seed) => {
    const s = await verifyChip(dir, { simulator: 'verilator', images: RANDOM_DIGITS, stalls: { input: 64, output: 0, seed }, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, first: s.rtlFirst, fault: s.fault }).toEqual({ isa: 0, rtl: 0, first: null, fault: null });
    expect(s.memory?.stallPercent).toBeGreaterThan(0);
    expect(s.stalls?.heldInput).toBeGreaterThan(0);
    expect(s.framePeriod.frames).toBe(RANDOM_DIGITS);
  }, 900_000);

  it.runIf(FULL)('K = 9 on 16x16, 20 digits on the reference memory: bit-exact, period within 2% of the reported one; on random memory 5 with pixel gaps: bit-exact, the fixed part the bottleneck (the runs wait for frames)', async () => {
    const k9 = path.join(root, 'chip-k9-16x16-axi');
    const { manifest: m9 } = await generateDesign(MODEL, { fixedLayers: '9', accel: '16x16', accelMem: 'axi', out: k9, arith: 'shared', pipeline: 0, rawInput: false, ...quiet }, ffeCore);
    // A short program (4 LOADs, 2 STOREs in a row): the AXI4 master's own clocks per LOAD/STORE are most of its error if unmodelled.
    const r = await verifyChip(k9, { simulator: 'verilator', images: 20, ...quiet });
    expect({ isa: r.isaMismatches, rtl: r.rtlMismatches, first: r.rtlFirst, fault: r.fault }).toEqual({ isa: 0, rtl: 0, first: null, fault: null });
    expect([r.framePeriod.frames, r.framePeriod.reported]).toEqual([20, m9.split?.cyclesPerFrame]);
    expect(Math.abs(r.framePeriod.deviation ?? 1)).toBeLessThanOrEqual(0.02);
    const s = await verifyChip(k9, { simulator: 'verilator', images: 20, stalls: { input: 64, output: 0, seed: 5 }, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, first: s.rtlFirst, fault: s.fault }).toEqual({ isa: 0, rtl: 0, first: null, fault: null });
    expect(s.framePeriod.measured).toBeGreaterThan((s.runCycles?.measured ?? Infinity) + 2);
  }, 1_800_000);

  it.runIf(FULL)('Icarus, 3 digits on the reference memory: bit-exact, period within 2%', async () => {
    const s = await verifyChip(dir, { simulator: 'icarus', images: 3, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, first: s.rtlFirst, fault: s.fault }).toEqual({ isa: 0, rtl: 0, first: null, fault: null });
    expect(Math.abs(s.framePeriod.deviation ?? 1)).toBeLessThanOrEqual(0.02);
  }, 1_800_000);
});
