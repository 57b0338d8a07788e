/**
 * The ISA simulator against the integer model, layer by layer: each layer's output tensor is read from ACT
 * right after the layer's last compute instruction (nothing else writes ACT before the next layer's
 * compute starts) and compared with the integer model; the final scores (acc + bias in ACC) are compared
 * after requantization with the layer's rule. The first difference is named by layer, pixel, channel and
 * the program counter of the instruction that wrote it (`verify --program` prints this).
 */
import { channelRequant, requantizeBig } from '../golden/requantize.js';
import type { IntegerModel } from '../golden/integer-model.js';
import type { QuantizedGraph } from '../quant/ir.js';
import type { CompiledProgram } from './compile.js';
import { elementBytes, lanes, rowBytes } from './config.js';
import { formatInstruction } from './asm.js';
import { queueOf } from './isa.js';
import { runOnSimulator } from './run.js';
import type { Memories, Writers } from './simulator.js';

export interface AccelMismatch {
  readonly layer: number;
  readonly layerName: string;
  readonly tensor: string;
  readonly channel: number;
  readonly y: number;
  readonly x: number;
  readonly expected: number;
  readonly got: number;
  /** The instruction that wrote the value, and its text. */
  readonly pc: number;
  readonly instruction: string;
}

export interface AccelCheck {
  readonly mismatch?: AccelMismatch;
  /** The simulator's outputs (scores or q) and class. */
  readonly output: Int32Array;
  readonly class?: number;
}

export function describeAccelMismatch(m: AccelMismatch): string {
  return `layer ${m.layer} '${m.layerName}' (tensor '${m.tensor}'), pixel (y ${m.y}, x ${m.x}), channel ${m.channel}: expected ${m.expected}, accelerator ${m.got}; written by pc ${m.pc}: ${m.instruction}`;
}

/**
 * Runs one input and compares every layer with the integer model. `q` is the model's input tensor: the
 * integer model runs the whole network, and the program (layers K.. after a split) takes the tensor
 * crossing the cut from that run, as the chip's fixed part delivers it.
 */
export function checkAgainstIntegerModel(compiled: CompiledProgram, graph: QuantizedGraph, model: IntegerModel, q: Int32Array): AccelCheck {
  const { layout, config, program } = compiled;
  const L = lanes(config);
  const expectedValues = model.run(q);
  const programInput = expectedValues.get(layout.input.tensor);
  if (programInput === undefined) throw new Error(`internal: the integer model has no tensor '${layout.input.tensor}' (the program's input)`);
  // A tensor in ACT is complete after its layer's last compute instruction; one in MEM (tiled programs)
  // after its layer's last STORE (stores run in order).
  const lastEx = new Map<number, number>();
  for (const info of layout.layers) {
    const inMem = layout.tensors.some((t) => t.layer === info.index && t.addr !== undefined);
    const mine = info.pcs.filter((pc) => queueOf(program[pc]!) === (inMem ? 'st' : 'ex'));
    if (mine.length) lastEx.set(Math.max(...mine), info.index);
  }
  const actRb = rowBytes(config, 'act');
  const eb = elementBytes(config, 'act');
  const found: AccelMismatch[] = [];
  const names = new Map(layout.layers.map((l) => [l.index, l.name]));
  const inspect = (pc: number, memories: Memories, writers: Writers): void => {
    const index = lastEx.get(pc);
    if (index === undefined || found.length) return;
    const t = layout.tensors.find((x) => x.layer === index);
    if (!t) return;
    const expected = expectedValues.get(t.tensor) as Int32Array;
    const quant = graph.tensors[t.tensor]!.quant;
    const [ch, h, w] = t.shape;
    for (let c = 0; c < ch && !found.length; c++) {
      for (let y = 0; y < h && !found.length; y++) {
        for (let x = 0; x < w; x++) {
          const pixelRow = (y * w + x) * t.blocks + Math.floor(c / L);
          const row = t.row + pixelRow;
          let got = 0;
          if (t.addr === undefined) got = memories.act[row * L + (c % L)] as number;
          else {
            const at = t.addr + pixelRow * actRb + (c % L) * eb;
            for (let i = eb - 1; i >= 0; i--) got = got * 256 + (memories.mem[at + i] as number);
            got %= 2 ** config.actBits;
          }
          if (quant.signed && got >= 2 ** (config.actBits - 1)) got -= 2 ** config.actBits;
          const want = expected[(c * h + y) * w + x] as number;
          if (got !== want) {
            // A MEM tensor's writer: the layer's last STORE (the one the check ran after).
            const writer = t.addr === undefined ? writers.act[row] as number : pc;
            found.push({ layer: index, layerName: names.get(index) ?? '', tensor: t.tensor, channel: c, y, x, expected: want, got, pc: writer, instruction: writer >= 0 ? formatInstruction(program[writer]!) : '(never written)' });
            break;
          }
        }
      }
    }
  };
  const outT = graph.tensors[layout.output.tensor]!;
  const run = runOnSimulator(compiled, programInput, outT, { afterInstruction: inspect });
  const result = { output: run.output, ...(run.class !== undefined ? { class: run.class } : {}) };
  if (found.length) return { ...result, mismatch: found[0] as AccelMismatch };
  if (layout.output.memory === 'acc') {
    // Raw scores: the layer's own rule must turn them into the integer model's output.
    const last = graph.layers.find((l) => l.output === layout.output.tensor)!;
    const r = last.requant;
    const expected = expectedValues.get(layout.output.tensor) as Int32Array;
    const [ch, h, w] = layout.output.shape;
    const info = layout.layers.find((l) => l.index === last.index)!;
    const gemms = info.pcs.filter((pc) => { const ins = program[pc]!; return ins.op === 'gemm' && ins.toAcc === 1; });
    for (let c = 0; c < ch; c++) {
      const rq = channelRequant(r.multiplier[c] ?? 0, r.shift[c] ?? 1);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const acc = run.output[(c * h + y) * w + x] as number;
          const got = requantizeBig(acc, rq, r.outputZeroPoint, r.clampMin, r.clampMax);
          const want = expected[(c * h + y) * w + x] as number;
          if (got === want) continue;
          // GEMMs of the last layer run slab by slab, row tiles inside: find the one covering (c, y).
          let slab = -1;
          const pc = gemms.find((g) => {
            const ins = program[g]!;
            if (ins.op !== 'gemm') return false;
            if (ins.oy0 === 0) slab++;
            return slab === Math.floor(c / L) && y >= ins.oy0 && y < ins.oy0 + ins.nOy;
          }) ?? -1;
          return { ...result, mismatch: { layer: last.index, layerName: last.name, tensor: layout.output.tensor, channel: c, y, x, expected: want, got, pc, instruction: pc >= 0 ? `${formatInstruction(program[pc]!)} (scores ${acc} requantized)` : '' } };
        }
      }
    }
  }
  return result;
}
