/**
 * The accelerator with MEM off chip (memory: 'axi', issue 12): the burst sequencer in the DSL evaluator
 * (random blocks: bursts cover the block in order, never cross 4 KB, never exceed the burst or
 * outstanding limits); the AXI4 protocol checker catches each kind of violation in a scripted master; the
 * Verilog is lint-clean and deterministic; whole programs through the AXI testbench with random latency,
 * bandwidth and stalls (seeded) are bit-exact with the ISA simulator and the integer model (the example
 * at K = 0 and random back ends), the AXI4-Lite registers report status, cycles, counters and a fault's pc.
 * npm test runs Icarus on one digit and one random back end; FIXYNN_FULL adds a Verilator build with
 * more digits, memory seeds and back ends.
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
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { axiVerificationConfig } from '../../verify/accel/configs.js';
import { type AccelBuild, FAST_MEMORY, type MemoryModel, buildAccel, runAccel } from '../../verify/accel/rtl-sim.js';
import { runProgramOnRtl } from '../../verify/accel/run-program.js';
import { lint, runTool } from '../../verify/sim/index.js';
import { FULL, count } from '../helpers/env.js';
import { randomNetwork } from '../helpers/random-network.js';
import { chipAnswer, finalAccumulators } from './reference.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');
const DIGITS = count('AXI_DIGITS', 8, 1);
const RANDOM = count('AXI_RANDOM', 5, 1);

/** A hostile memory: random latency on top of a base, a narrow bus share, stalls on every handshake, MEM 64 bytes below a 4 KB page. */
function randomMemory(seed: number): MemoryModel {
  return { readLatency: 3 + (seed % 17), readJitter: 25, writeLatency: 1 + (seed % 9), bytesPerCycle: 3 + (seed % 6), stallPercent: 20 + (seed % 3) * 10, seed, base: 0x1000_0000 + 4096 * (1 + seed) - 64 };
}

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

let graph: QuantizedGraph;
let model: IntegerModel;
let inputs: Int32Array[];
let compiled: CompiledProgram;
let rtl: RtlConfig;

beforeAll(async () => {
  graph = await quantizeModel(readOnnxFile(MODEL), importModel(MODEL), { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
  model = new IntegerModel(graph);
  inputs = mnistTest().images.slice(0, DIGITS).map((img) => model.quantizeInput(img));
  const cfg = axiVerificationConfig(graph, 8);
  rtl = cfg.rtl;
  compiled = compileProgram(graph, cfg.config);
}, 120_000);

function integerAnswer(q: Int32Array): { scores: Int32Array; cls: number } {
  const last = graph.layers[graph.layers.length - 1]!;
  const scores = finalAccumulators(graph, last, model.run(q).get(last.inputs[0]!)!);
  return { scores, cls: chipAnswer(scores, last.requant.multiplier, last.requant.shift) };
}

/** Random back ends through one build with a random memory each, bit-exact with the ISA simulator and the integer model. */
async function randomBackEnds(build: AccelBuild, wanted: number): Promise<number> {
  const work = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-axi-random-'));
  let ran = 0;
  try {
    for (let seed = 1; ran < wanted && seed < 10 * wanted + 10; seed++) {
      const net = randomNetwork({ seed: 700 + seed, layers: 2 + (seed % 4) });
      const onnx = net.builder.save(path.join(work, `net${seed}.onnx`));
      const imported = importModel(onnx);
      const quantized = await quantizeModel(readOnnxFile(onnx), imported, { calibImages: loadInputs('random', imported.input.shape, { count: 8, seed: 3000 + seed }).images });
      if (!quantized.layers.some((l) => l.kind === 'conv' || l.kind === 'gemm')) continue;
      const cfg = axiVerificationConfig(quantized, 8);
      if (JSON.stringify(cfg.rtl) !== JSON.stringify(build.config)) continue; // other widths than this build's
      const program = compileProgram(quantized, cfg.config);
      const why = `network ${700 + seed}:\n  ${net.description.join('\n  ')}`;
      const integer = new IntegerModel(quantized);
      const last = quantized.layers[quantized.layers.length - 1]!;
      const outT = quantized.tensors[quantized.output]!;
      const qs = loadInputs('random', imported.input.shape, { count: 1, seed: 4000 + seed }).images.map((img) => integer.quantizeInput(img));
      const [r] = await runProgramOnRtl(build, program, qs, outT, { memory: randomMemory(seed) });
      const values = integer.run(qs[0]!);
      const expected = program.layout.output.memory === 'acc' ? finalAccumulators(quantized, last, values.get(last.inputs[0]!)!) : values.get(quantized.output)!;
      expect(r!.run.status, why).toBe('done');
      expect([...r!.output], why).toEqual([...runOnSimulator(program, qs[0]!, outT).output]);
      expect([...r!.output], why).toEqual([...expected]);
      ran++;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return ran;
}

describe('the accelerator with MEM over AXI4 (8x8)', () => {
  it('is lint-clean under verilator --lint-only -Wall and emitted deterministically', async () => {
    const a = emitDesign(generateAccelerator(rtl));
    const b = emitDesign(generateAccelerator(rtl));
    expect(a.files).toEqual(b.files);
    expect(a.files.map((f) => f.name)).toContain('fixynn_accel_axi_bursts.v');
    expect(await lint(a.files, a.top)).toEqual([]);
  }, 300_000);

  it('Icarus: a digit bit-exact under random latency, bandwidth and stalls; a random back end; a fault reported through AXI4-Lite', async () => {
    const icarus = await buildAccel(rtl, 'icarus');
    const outT = graph.tensors[graph.output]!;
    const [r] = await runProgramOnRtl(icarus, compiled, inputs.slice(0, 1), outT, { memory: randomMemory(3) });
    const ref = integerAnswer(inputs[0]!);
    expect(r!.run.status).toBe('done');
    expect([...r!.output]).toEqual([...runOnSimulator(compiled, inputs[0]!, outT).output]);
    expect([...r!.output]).toEqual([...ref.scores]);
    expect(r!.class).toBe(ref.cls);
    // The counters come from the AXI4-Lite block: every unit worked, none longer than the run.
    const c = r!.run.counters!;
    for (const v of Object.values(c)) expect(v).toBeLessThanOrEqual(r!.run.cycles);
    expect(c.ldBusy).toBeGreaterThan(0);
    expect(c.exBusy).toBeGreaterThan(0);
    expect(c.stBusy).toBeGreaterThan(0);
    expect(c.ldStall).toBeGreaterThan(0); // a slow memory makes LD wait
    expect(await randomBackEnds(icarus, 1)).toBe(1);
    // A LOAD past MEM's end: the error bit, cause and pc read back through the registers, no bus access.
    const words = compiled.program.map(encode);
    const loadAt = compiled.program.findIndex((ins) => ins.op === 'load');
    const outside = [...words];
    outside[loadAt] = encode({ ...(compiled.program[loadAt] as Instruction & { op: 'load' }), memAddr: rtl.memBytes - rtl.memPortBytes });
    const [f] = await runAccel(icarus, outside, [new Uint8Array(compiled.mem)], { memory: FAST_MEMORY });
    expect({ status: f!.status, pc: f!.errorPc, cause: f!.errorCause }).toEqual({ status: 'error', pc: loadAt, cause: FAULT.address });
  }, 900_000);

  // A Verilator build of the AXI variant takes minutes on this machine: test:full only.
  it.runIf(FULL)(`Verilator: ${DIGITS} digits under 3 random memories and ${RANDOM} random back ends, bit-exact`, async () => {
    const build = await buildAccel(rtl, 'verilator');
    const outT = graph.tensors[graph.output]!;
    for (const seed of [11, 12, 13]) {
      const runs = await runProgramOnRtl(build, compiled, inputs, outT, { memory: randomMemory(seed) });
      runs.forEach((r, i) => {
        const ref = integerAnswer(inputs[i]!);
        expect(r.run.status, `seed ${seed} digit ${i}`).toBe('done');
        expect([...r.output], `seed ${seed} digit ${i}`).toEqual([...ref.scores]);
        expect(r.class).toBe(ref.cls);
      });
    }
    expect(await randomBackEnds(build, RANDOM)).toBe(RANDOM);
  }, 3_600_000);
});
