/**
 * The example MNIST model with all nine convolution layers fixed, with the real FFE core: bit-exact with
 * the integer model on the test digits in Verilator and Icarus, under random stalls, at one pixel per
 * clock over back-to-back frames; lint clean; byte-identical when generated twice; Yosys synthesis under
 * FIXYNN_FULL. Counts: FIXYNN_FULL 1,000 digits in Verilator and 20 in Icarus; npm test 20 in Verilator, and
 * in Icarus the whole network (K = 11, the nine layers included) on 2.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../generator/cli.js';
import { readDesign } from '../../generator/design/read-design.js';
import { partOf } from '../../generator/design/manifest.js';
import { describeMismatch, verifyDesign, type VerifySummary } from '../../verify/ffe/index.js';
import { lint, runTool, withSourcePaths } from '../../verify/sim/index.js';
import { generate, rtlOf } from './ladder.js';
import { count, FULL } from '../helpers/env.js';
import { verilogPorts } from '../helpers/verilog-ports.js';

const MODEL = path.resolve('examples/mnist-mobilenet/model.onnx');
const CONV_LAYERS = '9';
const VERILATOR_DIGITS = count('EXAMPLE_VERILATOR_IMAGES', 1000, 20);
const ICARUS_DIGITS = count('EXAMPLE_ICARUS_IMAGES', 20, 2);
const work = mkdtempSync(path.join(tmpdir(), 'fixynn-example-'));
const design = path.join(work, 'design');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function bitExact(s: VerifySummary): void {
  expect(s.mismatches, s.firstMismatch ? describeMismatch(s.firstMismatch) : '').toBe(0);
}

function bytesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else out[r] = readFileSync(path.join(dir, r)).toString('base64');
    }
  };
  walk('');
  return out;
}

describe('example MNIST model, all conv layers fixed', () => {
  beforeAll(async () => {
    await generate(MODEL, { fixedLayers: CONV_LAYERS, out: design });
  });

  it(`is bit-exact on ${VERILATOR_DIGITS} test digits in Verilator at one pixel per clock`, async () => {
    const s = await verifyDesign(design, { simulator: 'verilator', images: VERILATOR_DIGITS, imagesPerRun: 250 });
    bitExact(s);
    expect(s.images).toBe(VERILATOR_DIGITS);
    expect(s.idealCyclesPerFrame).toBe(784);
    // Every layer, the depthwise layers fused into their pointwise neighbours too, is compared on its own tap.
    expect(partOf(readDesign(design).manifest, 'ffe').layers.map((l) => l.tap)).not.toContain(null);
    expect(s.cyclesPerFrame as number).toBeLessThanOrEqual(1.05 * 784);
    // The manifest's latency is the core's estimate from window geometry; the measured one may be lower.
    expect(s.latency as number).toBeGreaterThan(0);
    expect(s.latency as number).toBeLessThanOrEqual(readDesign(design).manifest.top.latencyCycles);
  });

  // FIXYNN_FULL only: in npm test the whole network (below: these nine layers, then global pooling and the
  // Gemm) runs in Icarus and every layer's tap is compared, which covers this case (about 21 s of npm test).
  it.runIf(FULL)(`is bit-exact on ${ICARUS_DIGITS} digits in Icarus`, async () => {
    bitExact(await verifyDesign(design, { simulator: 'icarus', images: ICARUS_DIGITS }));
  });

  it('stays bit-exact under random stalls on s_tvalid and m_tready (nothing lost or repeated)', async () => {
    for (const seed of [3, 11]) {
      const s = await verifyDesign(design, { simulator: 'verilator', images: 3, stalls: { input: 80, output: 100, seed } });
      bitExact(s);
      expect(s.cyclesPerFrame as number).toBeGreaterThan(784);
    }
  });

  // FIXYNN_FULL only: pipelined layers are checked bit-exact, at one pixel per clock and under stalls by
  // test/ffe/pipeline.test.ts, and whole pipelined networks by test/ffe/random-networks.test.ts (odd seeds);
  // this case adds the example's nine layers at once, which took about 250 s of npm test.
  it.runIf(FULL)('--pipeline 2: registered constant products, still bit-exact at one pixel per clock and under stalls, lint clean', async () => {
    const pipelined = path.join(work, 'pipelined');
    await generate(MODEL, { fixedLayers: CONV_LAYERS, out: pipelined, pipeline: '2' });
    const { manifest } = readDesign(pipelined);
    expect(manifest.top.latencyCycles).toBeGreaterThan(readDesign(design).manifest.top.latencyCycles);
    const steady = await verifyDesign(pipelined, { simulator: 'verilator', images: 3 });
    bitExact(steady);
    expect(steady.cyclesPerFrame).toBe(784);
    expect(steady.latency).toBe(manifest.top.latencyCycles);
    bitExact(await verifyDesign(pipelined, { simulator: 'verilator', images: 3, stalls: { input: 80, output: 100, seed: 5 } }));
    const { files, top } = rtlOf(pipelined);
    expect(await lint(files, top)).toEqual([]);
  });

  it('passes verilator --lint-only -Wall with no warnings, the verification wrapper too', async () => {
    const { files, top } = rtlOf(design);
    expect(await lint(files, top)).toEqual([]);
    const wrapper = readDesign(design).manifest.testbench.wrapper!;
    expect(await lint([...files, { name: path.basename(wrapper.verilog), text: readFileSync(path.join(design, wrapper.verilog), 'utf8') }], wrapper.module)).toEqual([]);
  });

  it('the synthesis top has only the stream ports and frame_error; the taps are on the verification wrapper the testbench uses', () => {
    const { manifest } = readDesign(design);
    const { files, top } = rtlOf(design);
    const ports = verilogPorts(files.find((f) => f.name === `${top}.v`)!.text, top).map((p) => p.name);
    expect(ports.sort()).toEqual(['clk', 'rst', 's_tvalid', 's_tready', 's_tdata', 's_tuser', 's_tlast', 'm_tvalid', 'm_tready', 'm_tdata', 'm_tuser', 'm_tlast', 'frame_error'].sort());
    // The synthesis file list is the RTL alone; the wrapper and the testbench sit in tb/.
    expect(readFileSync(path.join(design, manifest.fileList), 'utf8').trim().split('\n')).toEqual(manifest.rtl);
    const wrapper = manifest.testbench.wrapper!;
    const wrapperPorts = verilogPorts(readFileSync(path.join(design, wrapper.verilog), 'utf8'), wrapper.module).map((p) => p.name);
    for (const layer of partOf(manifest, 'ffe').layers) expect(wrapperPorts).toEqual(expect.arrayContaining([`${layer.tap}_valid`, `${layer.tap}_data`]));
    expect(readFileSync(path.join(design, manifest.testbench.verilog), 'utf8')).toMatch(new RegExp(`^\\s*${wrapper.module} dut \\(`, 'm'));
  });

  it('generates byte-identical folders twice; a node name selects the same K; verify --json reports the summary', async () => {
    const again = path.join(work, 'again');
    await generate(MODEL, { fixedLayers: CONV_LAYERS, out: again });
    expect(bytesOf(again)).toEqual(bytesOf(design));
    const byName = path.join(work, 'by-name');
    await generate(MODEL, { fixedLayers: '/features/features.8/features.8.2/Clip', out: byName });
    const { manifest } = readDesign(byName);
    expect(partOf(manifest, 'ffe').fixedLayerCount).toBe(9);
    for (const rtl of manifest.rtl) expect(readFileSync(path.join(byName, rtl), 'utf8')).toBe(readFileSync(path.join(design, rtl), 'utf8'));
    let printed = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => { printed += chunk; return true; }) as typeof process.stdout.write;
    try {
      expect(await quietlyStderr(() => main(['node', 'fixynn', 'verify', again, '--images', '3', '--json']))).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const json = JSON.parse(printed) as Record<string, unknown>;
    expect(json).toMatchObject({ images: 3, mismatches: 0, idealCyclesPerFrame: 784, simulator: 'verilator' });
    expect(String(json.simulatorVersion)).toMatch(/Verilator 5/);
  });

  it('--raw-input: takes raw 8-bit pixels (preprocessing folded into layer 0), bit-exact in Icarus', async () => {
    const raw = path.join(work, 'raw');
    await generate(MODEL, { fixedLayers: '2', out: raw, rawInput: true });
    const { manifest } = readDesign(raw);
    expect(manifest.top.input.type).toEqual({ bits: 8, signed: false });
    expect(partOf(manifest, 'ffe').quantization.input.preprocess.scale).toEqual([1]);
    bitExact(await verifyDesign(raw, { simulator: 'icarus', images: 3 }));
  });

  it('the whole network (global pooling and the classifier Gemm too) is bit-exact in Icarus, one score beat per frame', async () => {
    const whole = path.join(work, 'whole');
    await generate(MODEL, { fixedLayers: '11', out: whole });
    expect(readDesign(whole).manifest.top.output).toMatchObject({ channels: 10, height: 1, width: 1 });
    const s = await verifyDesign(whole, { simulator: 'icarus', images: 2 });
    bitExact(s);
    expect(s.cyclesPerFrame).toBe(784);
  });

  it.runIf(FULL)('synthesizes in Yosys (synth -top)', async () => {
    const { files, top } = rtlOf(design);
    const r = await withSourcePaths(files, (paths) => runTool('yosys', ['-q', '-p', `read_verilog ${paths.join(' ')}; synth -top ${top}; stat`], { timeoutMs: 40 * 60_000 }));
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
  }, 45 * 60_000); // about 9 minutes on 2 busy cores (bench:ffe measures it)
});

async function quietlyStderr<T>(body: () => Promise<T>): Promise<T> {
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await body();
  } finally {
    process.stderr.write = writeErr;
  }
}
