/**
 * Latency without simulation: when does each output beat leave each unit, for one frame whose pixels
 * arrive one per clock from cycle 0, with no stall?
 *
 * A windowed unit emits output (oy, ox) `delay` clocks after accepting the input beat at position
 * q + lag (q = oy*sy*W + ox*sx, geometry.ts); a beat past the frame's end (the tail) is a phantom beat,
 * made one per clock right after the frame's last pixel. Global pooling emits after the last pixel, an
 * Add when both of its operands are there (the skip operand after the FIFO's delay). Units accept a
 * beat in the clock it arrives (nothing stalls), so these times are exact for the generated RTL; the
 * tests compare them with simulation.
 */
import type { QLayer, QuantizedGraph } from '../quant/ir.js';
import { windowGeometry } from './geometry.js';
import type { FfeUnit } from './top.js';

/** Emission time of output beat k (raster order) of a stream, for one frame. */
type Times = (k: number) => number;

function memo(f: Times): Times {
  const cache = new Map<number, number>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) {
      v = f(k);
      cache.set(k, v);
    }
    return v;
  };
}

function windowOf(layer: QLayer): { kernel: readonly [number, number]; stride: readonly [number, number]; pads: readonly [number, number, number, number] } {
  if (layer.kind === 'conv' || layer.kind === 'maxpool' || layer.kind === 'avgpool') return layer;
  return { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0] };
}

export interface UnitTiming {
  /** Cycle at which the unit accepts its first input beat. */
  readonly firstInput: number;
  /** Cycle at which its first output beat is valid. */
  readonly firstOutput: number;
}

export function unitTimings(graph: QuantizedGraph, units: readonly FfeUnit[]): UnitTiming[] {
  const streams = new Map<string, Times>([[graph.input.tensor, (k) => k]]);
  return units.map((unit) => {
    const layer = graph.layers[unit.layers[0]!]!;
    const input = unit.built.input;
    const frame = input.height * input.width;
    const arrivalOf = (tensor: string): Times => {
      const t = streams.get(tensor);
      if (t === undefined) throw new Error(`timing: tensor '${tensor}' has no producer before unit ${unit.built.module.name}`);
      // Beats past the frame's last pixel are phantom beats, one per clock after it.
      return (p) => (p < frame ? t(p) : t(frame - 1) + 1 + (p - frame));
    };
    const arrival = arrivalOf(unit.inputTensor);
    const delay = unit.built.delay;
    let times: Times;
    if (layer.kind === 'globalavgpool') {
      times = () => arrival(frame - 1) + delay;
    } else if (layer.kind === 'add') {
      const skip = arrivalOf(unit.skipTensor ?? '');
      const fifoDelay = 3;
      times = (k) => Math.max(arrival(k), skip(k) + fifoDelay) + delay;
    } else {
      const w = windowOf(layer);
      const g = windowGeometry({ height: input.height, width: input.width, ...w }, `layer ${layer.index}`);
      times = (k) => {
        const oy = Math.floor(k / g.outWidth);
        const ox = k % g.outWidth;
        return arrival(oy * g.stride[0] * g.width + ox * g.stride[1] + g.lag) + delay;
      };
    }
    const memoized = memo(times);
    streams.set(unit.outputTensor, memoized);
    return { firstInput: arrival(0), firstOutput: memoized(0) };
  });
}
