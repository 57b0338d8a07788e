/**
 * Mixed-precision activations (`--wide-acts SPEC`, docs/arithmetic.md §9): chosen activation tensors of a
 * float model get another width than `--act-bits`. In the fixed-weight part every layer is wired on its
 * own, so a wider tensor costs only there (wider adders in the layer that reads it, wider line-buffer
 * words); the accelerator has one activation width for all its layers and refuses widened tensors
 * (generator/accel/compile.ts configForModel).
 *
 * SPEC is a comma-separated list of items, each `N[:BITS]` (the outputs of the first N layers, in network
 * order) or `TENSOR[:BITS]` (one tensor by name, the network input included); BITS 2..16, default
 * DEFAULT_WIDE_BITS. A name that is itself a tensor is taken whole (so a name like `conv:0` is not split).
 * A tensor named by several items takes the widest. A MaxPool's output keeps its input's quantization:
 * it is not counted by N and cannot be named (widen its input).
 */
import { badInput } from '../common/errors.js';
import type { LayerGraph } from '../graph/ir.js';

/** The width of a widened tensor when the item gives none. */
export const DEFAULT_WIDE_BITS = 12;

/** Checks the form of SPEC without a model (the commands, before anything is read). */
export function checkWideActsSyntax(spec: string): void {
  const items = spec.split(',').map((s) => s.trim());
  if (spec.trim() === '' || items.some((s) => s === '')) throw badInput(`--wide-acts '${spec}': expected N[:BITS] or TENSOR[:BITS], comma-separated (e.g. 1:12 or 2 or conv1_out:10)`);
}

/** SPEC resolved on `graph`: the width of every widened tensor (tensor name -> bits), in network order. */
export function resolveWideActs(graph: LayerGraph, spec: string): Map<string, number> {
  checkWideActsSyntax(spec);
  const counted = graph.layers.filter((l) => l.kind !== 'maxpool').map((l) => l.output);
  const names = new Set([graph.firstTensor, ...graph.layers.map((l) => l.output)]);
  const maxpoolOutputs = new Set(graph.layers.filter((l) => l.kind === 'maxpool').map((l) => l.output));
  const widths = new Map<string, number>();
  const widen = (tensor: string, bits: number): void => { widths.set(tensor, Math.max(bits, widths.get(tensor) ?? 0)); };
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    const colon = item.lastIndexOf(':');
    const split = !names.has(item) && colon > 0 && /^\d+$/.test(item.slice(colon + 1));
    const target = split ? item.slice(0, colon) : item;
    const bits = split ? Number(item.slice(colon + 1)) : DEFAULT_WIDE_BITS;
    if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw badInput(`--wide-acts ${item}: BITS ${bits} outside 2..16`);
    if (/^\d+$/.test(target) && !names.has(target)) {
      const n = Number(target);
      if (n < 1 || n > counted.length) throw badInput(`--wide-acts ${item}: N ${n} outside 1..${counted.length} (${graph.source.file} has ${counted.length} layer output(s) besides MaxPool's)`);
      for (const t of counted.slice(0, n)) widen(t, bits);
      continue;
    }
    if (maxpoolOutputs.has(target)) throw badInput(`--wide-acts ${item}: '${target}' is a MaxPool's output, which keeps its input's quantization; widen its input instead`);
    if (!names.has(target)) {
      const known = [graph.firstTensor, ...counted].slice(0, 6).map((t) => `'${t}'`).join(', ');
      throw badInput(`--wide-acts ${item}: ${graph.source.file} has no activation tensor '${target}' (the first ones: ${known}; fixynn inspect lists the layers)`);
    }
    widen(target, bits);
  }
  const order = [graph.firstTensor, ...graph.layers.map((l) => l.output)];
  return new Map(order.filter((t) => widths.has(t)).map((t) => [t, widths.get(t) as number]));
}
