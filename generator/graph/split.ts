/**
 * Where the network may be cut between the fixed front end (layers 0..K-1) and the accelerator: a cut
 * is valid when exactly one tensor crosses it (inside a residual block two do: the skip and the main path).
 */
import { badInput } from '../common/errors.js';
import type { LayerGraph } from './ir.js';

export interface SplitPoint {
  /** Number of fixed layers (0 = nothing fixed; layers.length = everything fixed). */
  readonly k: number;
  /** The one tensor crossing the cut (the fixed part's output). */
  readonly tensor: string;
}

/** Tensors produced before layer k (or the first tensor) and read at or after k (or the output). */
export function tensorsCrossing(graph: LayerGraph, k: number): string[] {
  const producedBefore = new Set([graph.firstTensor, ...graph.layers.slice(0, k).map((l) => l.output)]);
  const readAfter = new Set([...graph.layers.slice(k).flatMap((l) => l.inputs), graph.output]);
  return [...producedBefore].filter((t) => readAfter.has(t)).sort();
}

/**
 * Why `--fixed-layers 0` is refused, for generate's error and inspect's list: K = 0 fixes nothing, so
 * the whole network would run on the accelerator, and generate does not emit the accelerator yet.
 */
export const NOTHING_FIXED_REASON = 'K = 0 fixes no layer: the whole network runs on the programmable accelerator, so it needs --accel RxC (e.g. --accel 8x8); a fixed feature extractor alone needs at least one layer';

export function splitPoints(graph: LayerGraph): SplitPoint[] {
  const points: SplitPoint[] = [];
  for (let k = 0; k <= graph.layers.length; k++) {
    const crossing = tensorsCrossing(graph, k);
    if (crossing.length === 1) points.push({ k, tensor: crossing[0] as string });
  }
  return points;
}

/**
 * `--fixed-layers SPEC` to K: a number fixes layers 0..K-1; a node name (or layer name) fixes every layer
 * up to and including the one containing that node. The cut must be a valid split point.
 */
export function resolveFixedLayers(graph: LayerGraph, spec: string): number {
  const file = graph.source.file;
  const trimmed = spec.trim();
  let k: number;
  if (/^\d+$/.test(trimmed)) {
    k = Number(trimmed);
    if (k > graph.layers.length) throw badInput(`--fixed-layers ${spec}: ${file} has only ${graph.layers.length} layers (0 to ${graph.layers.length} may be fixed)`);
  } else {
    const layer = graph.layers.find((l) => l.nodes.includes(spec) || l.name === spec);
    // "-1" or "2.5" is meant as a number, not a node name: say what a number may be.
    if (!layer && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(trimmed)) {
      const valid = splitPoints(graph).map((p) => p.k).join(', ');
      throw badInput(`--fixed-layers ${spec}: K must be a whole number from the valid split points of ${file} (${valid}), or a node name`);
    }
    if (!layer) {
      const examples = graph.layers.slice(0, 5).map((l) => `"${l.name}"`).join(', ');
      throw badInput(`--fixed-layers ${spec}: no layer of ${file} contains a node named "${spec}"; give a number (0 to ${graph.layers.length}) or a node name such as ${examples}`);
    }
    k = layer.index + 1;
  }
  const crossing = tensorsCrossing(graph, k);
  if (crossing.length !== 1) {
    const valid = splitPoints(graph).map((p) => p.k).join(', ');
    throw badInput(`--fixed-layers ${spec}: cutting ${file} after ${k} layers crosses ${crossing.length} tensors (${crossing.join(', ')}), e.g. inside a residual block; valid values: ${valid}`);
  }
  return k;
}
