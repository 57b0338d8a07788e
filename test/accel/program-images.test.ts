/**
 * The program as text and as images: disassembly reads back to the same program; images written and read
 * back run identically; a corrupted program or memory image is refused with a message naming the file;
 * faults (illegal word, address out of range, deadlock, no FINISH) stop the simulator with the pc.
 */
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble, compileProgram, configForModel, disassemble, memoryImage, programImage, readCompiled, readMemoryImage, readProgramImage, runOnSimulator, simulate, writeCompiled, type CompiledProgram } from '../../generator/accel/index.js';
import { AccelFault, decodeProgram } from '../../generator/accel/simulator.js';
import { make } from '../../generator/accel/isa.js';
import { FixynnError } from '../../generator/common/errors.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { randomConvGraph, randomImage } from '../ffe/random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-images-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let graph: QuantizedGraph;
let compiled: CompiledProgram;
let input: Int32Array;

beforeAll(() => {
  const rng = seededRandom(5);
  graph = randomConvGraph(rng, { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], inChannels: 3, outChannels: 5, group: 1, height: 6, width: 7 });
  compiled = compileProgram(graph, configForModel(graph, 4, 4));
  input = randomImage(rng, graph.tensors[graph.input.tensor]!);
});

describe('assembly text', () => {
  it('disassembles and reassembles to the same program (with layer comments)', () => {
    const text = disassemble(compiled.program, compiled.layout.layers);
    expect(text).toMatch(/^# layer 0 /m);
    expect(assemble(text)).toEqual(compiled.program);
    expect(disassemble(assemble(text))).toBe(disassemble(compiled.program));
  });

  it('refuses a bad line with its line number', () => {
    expect(() => assemble('NOP queue=ex\nFROB x=1\n', 'p.s')).toThrow(/p\.s:2: unknown instruction 'FROB'/);
    expect(() => assemble('GEMM nOy=99999')).toThrow(/program:1: gemm\.nOy = 99999 does not fit 12/);
    expect(() => assemble('LOAD +popLater')).toThrow(/unknown token flag/);
    expect(() => assemble('DWCONV mode=median')).toThrow(/not a number/);
  });
});

describe('program and memory images', () => {
  it('round trip through files and run identically', () => {
    const dir = path.join(work, 'prog');
    writeCompiled(dir, compiled);
    const back = readCompiled(dir);
    expect(back.program).toEqual(compiled.program);
    expect(Array.from(back.mem)).toEqual(Array.from(compiled.mem));
    const outT = graph.tensors[graph.output]!;
    expect(Array.from(runOnSimulator(back, input, outT).output)).toEqual(Array.from(runOnSimulator(compiled, input, outT).output));
    expect(fs.readFileSync(path.join(dir, 'program.s'), 'utf8')).toBe(disassemble(compiled.program, compiled.layout.layers));
  });

  it('refuses a corrupted program image (any flipped bit), a truncated one, and a foreign configuration', () => {
    const image = programImage(compiled.program, compiled.config);
    for (const at of [0, 9, 14, 18, 22, 29, 32, 40, image.length - 1]) {
      const bad = Uint8Array.from(image);
      bad[at]! ^= 0x10;
      expect(() => readProgramImage(bad, compiled.config, 'p.bin'), `byte ${at}`).toThrow(FixynnError);
      expect(() => readProgramImage(bad, compiled.config, 'p.bin')).toThrow(/^p\.bin: /);
    }
    expect(() => readProgramImage(image.subarray(0, image.length - 16), compiled.config)).toThrow(/body bytes|checksum/);
    expect(() => readProgramImage(image, configForModel(graph, 8, 8))).toThrow(/another accelerator configuration/);
    expect(readProgramImage(image, compiled.config)).toEqual(compiled.program);
  });

  it('refuses a corrupted memory image', () => {
    const image = memoryImage(compiled.mem, compiled.config);
    const bad = Uint8Array.from(image);
    bad[100]! ^= 1;
    expect(() => readMemoryImage(bad, compiled.config, 'm.bin')).toThrow(/m\.bin: body checksum mismatch/);
    expect(() => readMemoryImage(programImage(compiled.program, compiled.config), compiled.config, 'm.bin')).toThrow(/not a fixynn memory image/);
    expect(Array.from(readMemoryImage(image, compiled.config))).toEqual(Array.from(compiled.mem));
  });

  it('refuses a program directory with a corrupted file, naming it', () => {
    const dir = path.join(work, 'corrupt');
    writeCompiled(dir, compiled);
    const file = path.join(dir, 'mem.bin');
    const bytes = fs.readFileSync(file);
    bytes[40]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => readCompiled(dir)).toThrow(/mem\.bin: body checksum mismatch/);
  });
});

describe('faults stop the simulator with the faulting pc', () => {
  it('an illegal word', () => {
    expect(() => decodeProgram([...compiled.program.map(() => 0n).slice(0, 2), 12n])).toThrow(/pc 2: illegal opcode 12/);
  });

  it('a scratchpad address out of range', () => {
    const program = [make('load', { mem: 0, sramAddr: compiled.config.actRows - 1, memAddr: 0, ySize: 1, xSize: 2 }), make('finish', {})];
    expect(() => simulate(compiled.config, program, new Uint8Array(64))).toThrow(/pc 0: LOAD: ACT rows/);
  });

  it('a MEM address out of range or misaligned', () => {
    const big = make('store', { mem: 0, sramAddr: 0, memAddr: compiled.config.memBytes - 4, ySize: 1, xSize: 2 });
    expect(() => simulate(compiled.config, [big, make('finish', {})], new Uint8Array(64))).toThrow(/pc 0: STORE: MEM bytes/);
    const odd = make('load', { mem: 1, memAddr: 2, ySize: 1, xSize: 1 });
    expect(() => simulate(compiled.config, [odd, make('finish', {})], new Uint8Array(64))).toThrow(/not a multiple of the 4-byte port/);
  });

  it('a token never pushed (deadlock), a missing FINISH, an illegal token bit', () => {
    const waits = make('setg', { inH: 1, inW: 1, outW: 1, kh: 1, kw: 1, strideY: 1, strideX: 1, cbIn: 1, cbOut: 1 }, { popPrev: true });
    expect(() => simulate(compiled.config, [waits, make('finish', {}, { popPrev: true })], new Uint8Array(64))).toThrow(/pc 0: deadlock/);
    expect(() => simulate(compiled.config, [waits, make('finish', {})], new Uint8Array(64))).toThrow(/pc 1: FINISH with instructions still queued/);
    expect(() => simulate(compiled.config, [make('nop', { queue: 1 })], new Uint8Array(64))).toThrow(/pc 1: the program ended without FINISH/);
    expect(() => simulate(compiled.config, [make('load', {}, { popPrev: true }), make('finish', {})], new Uint8Array(64))).toThrow(AccelFault);
  });

  it('the compiled program runs on its own memory image (sanity of the above)', () => {
    const model = new IntegerModel(graph);
    const run = runOnSimulator(compiled, input, graph.tensors[graph.output]!);
    expect(run.output.length).toBe(model.run(input).get(graph.output)!.length);
  });

  it('counts events per instruction: rows and bytes moved, MACs issued', () => {
    const run = runOnSimulator(compiled, input, graph.tensors[graph.output]!);
    const R = compiled.config.rows;
    let geometry = { kh: 0, kw: 0, cbIn: 0, outW: 0 };
    compiled.program.forEach((ins, pc) => {
      const ev = run.sim.events[pc]!;
      if (ins.op === 'setg') geometry = ins;
      if (ins.op === 'load') {
        const rb = ins.mem === 0 ? 4 : ins.mem === 1 ? 4 : 16; // 4 lanes: ACT 1 byte, WGT 1 byte, QP 4 bytes
        expect(ev.rowsWritten).toBe(ins.ySize * ins.xSize);
        expect(ev.memBytes).toBe(ins.ySize * ins.xSize * rb);
      }
      if (ins.op === 'gemm') expect(ev.macs).toBe(geometry.kh * geometry.kw * geometry.cbIn * ins.nOy * geometry.outW * R * compiled.config.cols);
    });
    expect(Object.values(run.sim.counts).reduce((a, b) => a + b, 0)).toBe(compiled.program.length);
  });
});
