/**
 * The accelerator with MEM off chip (memory: 'axi', issue 12): the burst sequencer in the DSL evaluator
 * (random blocks: bursts cover the block in order, never cross 4 KB, never exceed the burst or
 * outstanding limits); the AXI4 protocol checker catches each kind of violation in a scripted master; the
 * Verilog is lint-clean and deterministic; whole programs through the AXI testbench with random latency,
 * bandwidth and stalls (seeded) are bit-exact with the ISA simulator and the integer model (the example
 * at K = 0 and random back ends), the AXI4-Lite registers report status, cycles, counters and a fault's pc.
 * npm test runs two random back ends in Icarus; FIXYNN_FULL adds a Verilator build with the example at
 * K = 0 on 8 digits under 3 memory seeds, 5 random back ends and 5 random back ends larger than ACT (tiled
 * through MEM), each under its own random memory.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileProgram, type CompiledProgram } from '../../generator/accel/compile.js';
import { type Instruction, encode } from '../../generator/accel/isa.js';
import { runOnSimulator } from '../../generator/accel/run.js';
import { buildBurstSequencer } from '../../generator/accel/rtl/axi-master.js';
import type { RtlConfig } from '../../generator/accel/rtl/config.js';
import { AXI4_CHECKER, axi4CheckerText } from '../../generator/accel/rtl/sources.js';
import { FAULT, generateAccelerator } from '../../generator/accel/rtl/top.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { DEFAULT_MNIST_CALIBRATION, loadInputs, mnistCalibration } from '../../generator/data/index.js';
import { mnistTest } from '../../generator/data/mnist.js';
import { emitDesign } from '../../generator/emit/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { Simulator } from '../../generator/hdl/index.js';
import { importModel } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import type { QuantTensor } from '../../generator/quant/ir.js';
import { axiVerificationConfig } from '../../verify/accel/configs.js';
import { type AccelBuild, FAST_MEMORY, buildAccel, randomMemory, runAccel } from '../../verify/accel/rtl-sim.js';
import { runProgramOnRtl } from '../../verify/accel/run-program.js';
import { lint, runTool } from '../../verify/sim/index.js';
import { FULL, count } from '../helpers/env.js';
import { randomNetwork } from '../helpers/random-network.js';
import { chipAnswer, finalAccumulators } from './reference.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');
const DIGITS = count('AXI_DIGITS', 8, 8);
/** Random back ends: npm test in Icarus, test:full in Verilator. */
const NPM_RANDOM = 2;
const RANDOM = count('AXI_RANDOM', 5, 5);
/** Random back ends larger than ACT (tiled through MEM) under random memories: test:full in Verilator. */
const TILED = count('AXI_TILED', 5, 5);

describe('the burst sequencer (DSL evaluator)', () => {
  it('splits random blocks into INCR bursts that cover them in order, never cross 4 KB and respect the limits', () => {
    const beatBytes = 16;
    const axi = { maxBurst: 16, maxOutstanding: 3 };
    const sim = new Simulator(buildBurstSequencer('seq', { beatBytes, maxLines: 63, maxLineBeats: 600, maxStride: 1 << 16 }, axi));
    let rnd = 12345;
    const next = (n: number): number => {
      rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
      return rnd % n;
    };
    for (let block = 0; block < 40; block++) {
      const base = 0x2000_0000 + beatBytes * next(1024);
      const lines = 1 + next(5);
      const lineBeats = 1 + next(block % 2 === 0 ? 40 : 600);
      const stride = beatBytes * (lineBeats + next(300));
      const expected: number[] = [];
      for (let y = 0; y < lines; y++) for (let b = 0; b < lineBeats; b++) expected.push(base + y * stride + b * beatBytes);
      sim.setAll({ rst: 1, start: 0, base: 0, stride: 0, lines: 0, line_beats: 0, ready: 0, retire: 0 }).step();
      sim.setAll({ rst: 0, start: 1, base, stride, lines, line_beats: lineBeats }).step();
      sim.set('start', 0);
      const seen: number[] = [];
      let inFlight = 0;
      for (let t = 0; t < 20_000 && Number(sim.get('idle')) === 0; t++) {
        const ready = next(3) !== 0 ? 1 : 0;
        const retire = inFlight > 0 && next(4) === 0 ? 1 : 0;
        sim.set('ready', ready).set('retire', retire);
        const valid = Number(sim.get('valid'));
        if (inFlight === axi.maxOutstanding) expect(valid, 'a burst offered beyond the outstanding limit').toBe(0);
        if (valid === 1 && ready === 1) {
          const addr = Number(sim.get('addr'));
          const beats = Number(sim.get('len')) + 1;
          expect(beats).toBeLessThanOrEqual(axi.maxBurst);
          expect((addr % 4096) + beats * beatBytes, `burst at ${addr.toString(16)}`).toBeLessThanOrEqual(4096);
          for (let b = 0; b < beats; b++) seen.push(addr + b * beatBytes);
          inFlight++;
        }
        inFlight -= retire;
        expect(inFlight).toBeLessThanOrEqual(axi.maxOutstanding);
        sim.step();
      }
      expect(seen, `block ${block}: ${lines} lines of ${lineBeats} beats at ${base.toString(16)} stride ${stride}`).toEqual(expected);
    }
  });
});

/**
 * A scripted AXI4 master around the checker (Icarus): +case=N makes one kind of mistake; case 0 is a
 * clean read and write burst.
 */
const HARNESS = `\`timescale 1ns/1ps
module checker_harness;
  reg clk = 0, rst = 1;
  reg arvalid = 0, arready = 0, rvalid = 0, rready = 1, rlast = 0, awvalid = 0, awready = 0, wvalid = 0, wready = 0, wlast = 0, bvalid = 0, bready = 1;
  reg [31:0] araddr = 0, awaddr = 0;
  reg [7:0] arlen = 0, awlen = 0;
  reg [2:0] arsize = 4, awsize = 4;
  reg [1:0] arburst = 1, awburst = 1;
  reg [127:0] wdata = 0;
  reg [15:0] wstrb = 16'hffff;
  wire failed;
  integer which;
  fixynn_axi4_checker #(.DATA_BYTES(16)) chk (.clk(clk), .rst(rst), .arvalid(arvalid), .arready(arready), .araddr(araddr), .arlen(arlen),
    .arsize(arsize), .arburst(arburst), .rvalid(rvalid), .rready(rready), .rlast(rlast), .awvalid(awvalid), .awready(awready), .awaddr(awaddr),
    .awlen(awlen), .awsize(awsize), .awburst(awburst), .wvalid(wvalid), .wready(wready), .wdata(wdata), .wstrb(wstrb), .wlast(wlast),
    .bvalid(bvalid), .bready(bready), .failed(failed));
  always #5 clk = ~clk;
  task tick; begin @(posedge clk); #1; end endtask
  initial begin
    if (!$value$plusargs("case=%d", which)) which = 0;
    tick; rst = 0; tick;
    // AR: a 2-beat burst waiting one clock for ARREADY.
    arburst = (which == 7) ? 2 : 1;
    arvalid = 1; araddr = (which == 3) ? 32'h1000_0fe0 + 16 : 32'h1000_0fe0; arlen = (which == 3) ? 1 : 1; tick;
    if (which == 1) arvalid = 0;
    arready = 1; tick; arvalid = 0; arready = 0;
    rvalid = 1; tick; rlast = 1; tick; rvalid = 0; rlast = 0;
    // AW then W: a 3-beat burst (case 5: data first).
    if (which != 5) begin awvalid = 1; awaddr = 32'h2000_0000; awlen = 2; tick; if (which == 2) awaddr = 32'h2000_0010; awready = 1; tick; awvalid = 0; awready = 0; end
    wvalid = 1; wdata = 1; tick;
    if (which == 6) wdata = 99;
    wready = 1; tick; wdata = 2; wlast = (which == 4); tick; wdata = 3; wlast = (which != 4); tick; wvalid = 0; wready = 0; wlast = 0;
    bvalid = 1; tick; bvalid = 0; tick; tick;
    if (!failed) $display("clean");
    $finish;
  end
endmodule
`;

describe('the AXI4 protocol checker (Icarus, a scripted master)', () => {
  it('passes a clean burst and stops each kind of violation with its message', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'fixynn-axi-checker-'));
    try {
      writeFileSync(path.join(work, AXI4_CHECKER.name), axi4CheckerText());
      writeFileSync(path.join(work, 'harness.v'), HARNESS);
      const b = await runTool('iverilog', ['-g2005', '-o', path.join(work, 'h.vvp'), '-s', 'checker_harness', path.join(work, AXI4_CHECKER.name), path.join(work, 'harness.v')], { cwd: work });
      expect(b.exitCode, b.stderr).toBe(0);
      const cases: Array<[number, RegExp]> = [
        [0, /^clean$/m],
        [1, /AR: ARVALID dropped before ARREADY/],
        [2, /AW: payload changed while AWVALID waited/],
        [3, /AR: burst at 10000ff0 of 2 beats crosses a 4 KB boundary/],
        [4, /W: WLAST 1 on beat 2 of a 3-beat burst/],
        [5, /W: write data before its burst's address/],
        [6, /W: payload changed while WVALID waited/],
        [7, /AR: burst type 2, the subset has INCR \(1\) only/],
      ];
      for (const [k, message] of cases) {
        const r = await runTool('vvp', ['-n', path.join(work, 'h.vvp'), `+case=${k}`], { cwd: work });
        expect(r.stdout, `case ${k}`).toMatch(message);
        if (k !== 0) expect(r.stdout).not.toMatch(/^clean$/m);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});

/** A random back end compiled for the 8x8 AXI configuration, with its integer model and inputs. */
interface BackEnd {
  readonly why: string;
  readonly program: CompiledProgram;
  readonly rtl: RtlConfig;
  readonly inputs: Int32Array[];
  readonly expected: Int32Array[];
  readonly outT: QuantTensor;
}

/** Random back ends (test/helpers/random-network.ts) whose RTL configuration equals `rtl` (the first one's when undefined). */
async function randomBackEnds(wanted: number, rtl: RtlConfig | undefined, tiled = false): Promise<BackEnd[]> {
  const work = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-axi-random-'));
  const out: BackEnd[] = [];
  try {
    for (let seed = 1; out.length < wanted && seed < 10 * wanted + 10; seed++) {
      // Tiled: maps of 4,224 to 4,800 ACT rows a tensor on the 8x8 chip's 4,096-row ACT (bands through MEM).
      const net = tiled
        ? randomNetwork({ seed: 900 + seed, layers: 2 + (seed % 2), head: seed % 3 === 0, size: [66 + 2 * (seed % 4), 64] })
        : randomNetwork({ seed: 700 + seed, layers: 2 + (seed % 4) });
      const onnx = net.builder.save(path.join(work, `net${seed}.onnx`));
      const imported = importModel(onnx);
      const quantized = await quantizeModel(readOnnxFile(onnx), imported, { calibImages: loadInputs('random', imported.input.shape, { count: 8, seed: 3000 + seed }).images });
      if (!quantized.layers.some((l) => l.kind === 'conv' || l.kind === 'gemm')) continue;
      let cfg: ReturnType<typeof axiVerificationConfig>;
      try {
        cfg = axiVerificationConfig(quantized, 8);
      } catch (e) {
        // Sizing the chip compiles the program: a layer beyond the depthwise engine or the large chip is refused.
        if (tiled && /raise dwTaps|bytes of MEM|band slot|program memory/.test(String(e))) continue;
        throw e;
      }
      const want = rtl ?? out[0]?.rtl;
      if (want !== undefined && JSON.stringify(cfg.rtl) !== JSON.stringify(want)) continue; // other widths than the build's
      let program: CompiledProgram;
      try {
        program = compileProgram(quantized, cfg.config);
      } catch (e) {
        if (tiled && /bytes of MEM|band slot|program memory/.test(String(e))) continue; // beyond this chip's MEM, slots or program RAM
        throw e;
      }
      if (tiled && program.layout.bandRows === 0) continue; // a network whose maps shrank enough to fit ACT
      const integer = new IntegerModel(quantized);
      const last = quantized.layers[quantized.layers.length - 1]!;
      const qs = loadInputs('random', imported.input.shape, { count: 1, seed: 4000 + seed }).images.map((img) => integer.quantizeInput(img));
      const expected = qs.map((q) => {
        const values = integer.run(q);
        return program.layout.output.memory === 'acc' ? finalAccumulators(quantized, last, values.get(last.inputs[0]!)!) : values.get(quantized.output)!;
      });
      out.push({ why: `${tiled ? 'tiled network' : 'network'} ${(tiled ? 900 : 700) + seed}:\n  ${net.description.join('\n  ')}`, program, rtl: cfg.rtl, inputs: qs, expected, outT: quantized.tensors[quantized.output]! });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  expect(out.length).toBe(wanted);
  return out;
}

/** Each back end under its own random memory: bit-exact with the ISA simulator and the integer model. */
async function checkBackEnds(build: AccelBuild, backEnds: readonly BackEnd[]): Promise<void> {
  for (const [k, b] of backEnds.entries()) {
    const [r] = await runProgramOnRtl(build, b.program, b.inputs, b.outT, { memory: randomMemory(20 + k) });
    expect(r!.run.status, b.why).toBe('done');
    expect([...r!.output], b.why).toEqual([...runOnSimulator(b.program, b.inputs[0]!, b.outT).output]);
    expect([...r!.output], b.why).toEqual([...b.expected[0]!]);
  }
}

describe('the accelerator with MEM over AXI4 (8x8)', () => {
  let backEnds: BackEnd[];
  let rtl: RtlConfig;
  beforeAll(async () => {
    backEnds = await randomBackEnds(NPM_RANDOM, undefined);
    rtl = backEnds[0]!.rtl;
  }, 300_000);

  it('is lint-clean under verilator --lint-only -Wall and emitted deterministically', async () => {
    const a = emitDesign(generateAccelerator(rtl));
    const b = emitDesign(generateAccelerator(rtl));
    expect(a.files).toEqual(b.files);
    expect(a.files.map((f) => f.name)).toContain('fixynn_accel_axi_bursts.v');
    expect(await lint(a.files, a.top)).toEqual([]);
  }, 300_000);

  it(`Icarus: ${NPM_RANDOM} random back ends bit-exact under random latency, bandwidth and stalls; counters and a fault through AXI4-Lite`, async () => {
    const icarus = await buildAccel(rtl, 'icarus');
    await checkBackEnds(icarus, backEnds);
    // The counters come from the AXI4-Lite block: every unit worked, none longer than the run.
    const b = backEnds[0]!;
    const [r] = await runProgramOnRtl(icarus, b.program, b.inputs, b.outT, { memory: randomMemory(5) });
    const c = r!.run.counters!;
    for (const v of Object.values(c)) expect(v).toBeLessThanOrEqual(r!.run.cycles);
    expect(c.ldBusy).toBeGreaterThan(0);
    expect(c.exBusy).toBeGreaterThan(0);
    expect(c.stBusy).toBeGreaterThan(0);
    expect(c.ldStall).toBeGreaterThan(0); // a slow memory makes LD wait
    // A LOAD past MEM's end: the error bit, cause and pc read back through the registers, no bus access.
    const words = b.program.program.map(encode);
    const loadAt = b.program.program.findIndex((ins) => ins.op === 'load');
    const outside = [...words];
    outside[loadAt] = encode({ ...(b.program.program[loadAt] as Instruction & { op: 'load' }), memAddr: rtl.memBytes - rtl.memPortBytes, xSize: 2 });
    const [f] = await runAccel(icarus, outside, [new Uint8Array(b.program.mem)], { memory: FAST_MEMORY });
    expect({ status: f!.status, pc: f!.errorPc, cause: f!.errorCause }).toEqual({ status: 'error', pc: loadAt, cause: FAULT.address });
  }, 900_000);

  // A Verilator build of the AXI variant takes minutes on this machine, and the example's digits take
  // ~15k clocks each (a minute in Icarus): test:full only.
  it.runIf(FULL)(`Verilator: the example at K = 0 on ${DIGITS} digits under 3 random memories and ${RANDOM} random back ends, bit-exact`, async () => {
    const graph = await quantizeModel(readOnnxFile(MODEL), importModel(MODEL), { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
    const model = new IntegerModel(graph);
    const inputs = mnistTest().images.slice(0, DIGITS).map((img) => model.quantizeInput(img));
    const cfg = axiVerificationConfig(graph, 8);
    const compiled = compileProgram(graph, cfg.config);
    const last = graph.layers[graph.layers.length - 1]!;
    const build = await buildAccel(cfg.rtl, 'verilator');
    const outT = graph.tensors[graph.output]!;
    for (const seed of [11, 12, 13]) {
      const runs = await runProgramOnRtl(build, compiled, inputs, outT, { memory: randomMemory(seed) });
      runs.forEach((r, i) => {
        const scores = finalAccumulators(graph, last, model.run(inputs[i]!).get(last.inputs[0]!)!);
        expect(r.run.status, `seed ${seed} digit ${i}`).toBe('done');
        expect([...r.output], `seed ${seed} digit ${i}: RTL vs ISA simulator`).toEqual([...runOnSimulator(compiled, inputs[i]!, outT).output]);
        expect([...r.output], `seed ${seed} digit ${i}: RTL vs integer model`).toEqual([...scores]);
        expect(r.class).toBe(chipAnswer(scores, last.requant.multiplier, last.requant.shift));
      });
    }
    await checkBackEnds(build, await randomBackEnds(RANDOM, cfg.rtl));
    // Back ends larger than the on-chip memories (ACT): row bands LOADed and STOREd through the AXI master.
    const tiled = await randomBackEnds(TILED, cfg.rtl, true);
    expect(tiled.every((b) => b.program.layout.bandRows > 0)).toBe(true);
    await checkBackEnds(build, tiled);
  }, 3_600_000);
});
