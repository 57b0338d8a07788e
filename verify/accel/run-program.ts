/**
 * A compiled program (generator/accel/compile.ts) on the accelerator's RTL: input tensors written into
 * MEM images as the host does (generator/accel/run.ts), one simulator process for all of them, the
 * output region and class read back through the host port, and per instruction the cycles each unit
 * spent (from the testbench's start/end events).
 */
import type { CompiledProgram } from '../../generator/accel/compile.js';
import { encode } from '../../generator/accel/isa.js';
import { inputBeats, memWithInput, outputFromBeats, readOutput, streamRegisters } from '../../generator/accel/run.js';
import type { QuantTensor } from '../../generator/quant/ir.js';
import { type AccelBuild, type AccelRunResult, type MemoryModel, runAccel } from './rtl-sim.js';

export interface RtlProgramRun {
  readonly run: AccelRunResult;
  /** The output tensor ([C, H, W]) and class: from the output stream (stream mode), else as the host reads MEM. */
  readonly output: Int32Array;
  readonly class?: number;
  /** The same as the host reads them from MEM through the host port after the run. */
  readonly host: { readonly output: Int32Array; readonly class?: number };
  /** Stream mode: the output stream's framing was right (tuser on the first beat, tlast on the last only). */
  readonly framing?: string;
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
  options: { maxCycles?: number; via?: 'stream' | 'host'; gaps?: boolean; memory?: MemoryModel; plusargs?: readonly string[]; timeoutMs?: number } = {},
): Promise<RtlProgramRun[]> {
  const range = outputRange(compiled);
  const common = {
    dumpAddr: range.addr, dumpBytes: range.bytes, events: true, ...(options.maxCycles === undefined ? {} : { maxCycles: options.maxCycles }),
    ...(options.memory === undefined ? {} : { memory: options.memory }), ...(options.plusargs === undefined ? {} : { plusargs: options.plusargs }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
  // Stream mode (the default): pixels in through s_axis, scores out through m_axis; host mode: the input
  // written into each MEM image, the results read through the host port. The AXI variant (memory 'axi')
  // has no stream ports: its inputs are always in the MEM image.
  const runs = options.via === 'host' || build.config.memory === 'axi'
    ? await runAccel(build, compiled.program.map(encode), inputs.map((q) => memWithInput(compiled, q)), common)
    : await runAccel(build, compiled.program.map(encode), [compiled.mem], {
      ...common,
      stream: { registers: streamRegisters(compiled), frames: inputs.map((q) => inputBeats(compiled, q)), gaps: options.gaps ?? false },
    });
  return runs.map((run) => {
    const mem = new Uint8Array(compiled.config.memBytes);
    mem.set(run.dump, range.addr);
    const host = readOutput(compiled, mem, outputTensor);
    const beats = run.beats;
    const want = streamRegisters(compiled);
    const framing = beats === undefined || run.status !== 'done' ? undefined : framingOf(beats, want.outWords + want.outClass, run.frameError === true);
    const out = beats === undefined || run.status !== 'done' || framing !== 'ok' ? host : outputFromBeats(compiled, beats.map((b) => b.data), outputTensor);
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
    return { run, output: out.output, ...(out.class === undefined ? {} : { class: out.class }), host, ...(framing === undefined ? {} : { framing }), instructionCycles: cycles, startCycle: starts, endCycle: ends };
  });
}

/** 'ok', or what is wrong with a run's output beats (count, tuser, tlast) or its input framing. */
function framingOf(beats: ReadonlyArray<{ user: boolean; last: boolean }>, expected: number, inputFrameError: boolean): string {
  if (inputFrameError) return 'the input stream\'s tuser/tlast disagreed with the frame geometry (frame_error)';
  if (beats.length !== expected) return `${beats.length} output beats, expected ${expected}`;
  const bad = beats.findIndex((b, i) => b.user !== (i === 0) || b.last !== (i === expected - 1));
  return bad < 0 ? 'ok' : `output beat ${bad}: tuser ${Number(beats[bad]!.user)}, tlast ${Number(beats[bad]!.last)}`;
}
