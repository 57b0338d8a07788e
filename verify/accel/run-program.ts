/**
 * A compiled program (generator/accel/compile.ts) on the accelerator's RTL: input tensors written into
 * MEM images as the host does (generator/accel/run.ts), one simulator process for all of them, the
 * output region and class read back through the host port, and per instruction the cycles each unit
 * spent (from the testbench's start/end events).
 */
import type { CompiledProgram } from '../../generator/accel/compile.js';
import { encode } from '../../generator/accel/isa.js';
import { memWithInput, readOutput } from '../../generator/accel/run.js';
import type { QuantTensor } from '../../generator/quant/ir.js';
import { type AccelBuild, type AccelRunResult, type MemoryModel, runAccel } from './rtl-sim.js';

export interface RtlProgramRun {
  readonly run: AccelRunResult;
  /** The output tensor ([C, H, W]) and class as the host reads them from MEM. */
  readonly output: Int32Array;
  readonly class?: number;
  /** Per program counter: cycles from its unit's start clock to its completion clock (inclusive). */
  readonly instructionCycles: ReadonlyMap<number, number>;
  /** Per program counter: the start clock (cycles since `start`). */
  readonly startCycle: ReadonlyMap<number, number>;
  readonly endCycle: ReadonlyMap<number, number>;
}

/** The MEM bytes a program's results occupy: its output region and the class word. */
export function outputRange(compiled: CompiledProgram): { addr: number; bytes: number } {
  const { layout, config } = compiled;
  const o = layout.output;
  const rowBytes = config.cols * (o.memory === 'acc' ? 4 : Math.ceil(config.actBits / 8));
  const start = Math.min(o.addr, layout.classAddr ?? o.addr);
  const end = Math.max(o.addr + o.shape[1] * o.shape[2] * o.blocks * rowBytes, layout.classAddr === undefined ? 0 : layout.classAddr + 4);
  return { addr: start, bytes: end - start };
}

export async function runProgramOnRtl(
  build: AccelBuild,
  compiled: CompiledProgram,
  inputs: readonly Int32Array[],
  outputTensor: QuantTensor,
  options: { maxCycles?: number; memory?: MemoryModel } = {},
): Promise<RtlProgramRun[]> {
  const range = outputRange(compiled);
  const runs = await runAccel(
    build,
    compiled.program.map(encode),
    inputs.map((q) => memWithInput(compiled, q)),
    { dumpAddr: range.addr, dumpBytes: range.bytes, events: true, ...(options.maxCycles === undefined ? {} : { maxCycles: options.maxCycles }), ...(options.memory === undefined ? {} : { memory: options.memory }) },
  );
  return runs.map((run) => {
    const mem = new Uint8Array(compiled.config.memBytes);
    mem.set(run.dump, range.addr);
    const out = readOutput(compiled, mem, outputTensor);
    const starts = new Map<number, number>();
    const ends = new Map<number, number>();
    const cycles = new Map<number, number>();
    for (const e of run.events) {
      if (e.kind === 'start') starts.set(e.pc, e.cycle);
      else {
        ends.set(e.pc, e.cycle);
        cycles.set(e.pc, e.cycle - (starts.get(e.pc) ?? e.cycle) + 1);
      }
    }
    return { run, output: out.output, ...(out.class === undefined ? {} : { class: out.class }), instructionCycles: cycles, startCycle: starts, endCycle: ends };
  });
}
