/**
 * Timing without simulation: when does each output beat leave each unit, with frames streaming back
 * to back at one pixel per clock and nothing stalling (the steady state; the first frame after reset
 * already runs in it)?
 *
 * A windowed unit emits output (oy, ox) `delay` clocks after accepting the input beat at position
 * q + lag (q = oy*sy*W + ox*sx, geometry.ts); a position past the frame's end (the tail) is a beat of the
 * next frame, or a phantom beat when the unit flushes its tail in the gap its input makes at every frame
 * boundary (only when the whole tail fits in that gap; otherwise it waits that gap out, window.ts).
 * Global pooling emits after the last pixel, an Add when both of its operands are there (the skip
 * operand after the FIFO's delay). Units accept a beat in the clock it arrives (nothing stalls), so
 * these times are exact for the generated RTL; the tests compare them with simulation. A frame streamed
 * alone (the input idle after it) can bring its last outputs out earlier: the tails are flushed then.
 */
import type { QLayer, QuantizedGraph } from '../quant/ir.js';
import { type WindowGeometry, type WindowSpec, windowGeometry } from './geometry.js';
import type { FfeUnit } from './types.js';

export function windowOf(layer: QLayer): Omit<WindowSpec, 'height' | 'width'> {
  if (layer.kind === 'conv' || layer.kind === 'maxpool' || layer.kind === 'avgpool') return { kernel: layer.kernel, stride: layer.stride, pads: layer.pads, dilation: layer.dilation };
  return { kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0] };
}

/** Clocks from a beat entering a residual Add's skip FIFO to the Add seeing it (residual.ts). */
const SKIP_FIFO_DELAY = 3;

export interface UnitTiming {
  /** Cycle at which the unit accepts its first input beat. */
  readonly firstInput: number;
  /** Cycle at which its first output beat is valid. */
  readonly firstOutput: number;
}

export function unitTimings(graph: QuantizedGraph, units: readonly FfeUnit[]): UnitTiming[] {
  const input = graph.tensors[graph.input.tensor];
  if (input === undefined) throw new Error('timing: the graph has no input tensor');
  const streams = new Map<string, SteadyStream>([[graph.input.tensor, steadyInput((input.shape[1] ?? 1) * (input.shape[2] ?? 1))]]);
  const streamOf = (tensor: string, unit: FfeUnit): SteadyStream => {
    const s = streams.get(tensor);
    if (s === undefined) throw new Error(`timing: tensor '${tensor}' has no producer before unit ${unit.built.module.name}`);
    return s;
  };
  return units.map((unit) => {
    const main = streamOf(unit.inputTensor, unit);
    const out = steadyOutput(graph, unit, main, unit.skipTensor === undefined ? undefined : streamOf(unit.skipTensor, unit));
    streams.set(unit.outputTensor, out);
    return { firstInput: main.at(0), firstOutput: out.at(0) };
  });
}

/**
 * The steady state of a stream inside the design: frames back to back at one input pixel per clock,
 * nothing stalling. Beat j, counted over all frames, leaves at clock at(j), and at(j + beats) =
 * at(j) + period (the input frame's pixels).
 */
export interface SteadyStream {
  readonly beats: number;
  readonly period: number;
  at(j: number): number;
}

function periodic(beats: number, period: number, base: (k: number) => number): SteadyStream {
  const table = Array.from({ length: beats }, (_, k) => base(k));
  return { beats, period, at: (j) => (table[j % beats] as number) + Math.floor(j / beats) * period };
}

/** The design's input stream: pixel j at clock j. */
export function steadyInput(pixels: number): SteadyStream {
  return periodic(pixels, pixels, (k) => k);
}

/**
 * A unit's output stream in the steady state, from its input stream(s) (the skip operand for an Add):
 * output k rides on the input beat at q + lag, which in the steady state is a real beat of a later
 * frame, never a phantom.
 */
export function steadyOutput(graph: QuantizedGraph, unit: FfeUnit, input: SteadyStream, skip?: SteadyStream): SteadyStream {
  const layer = graph.layers[unit.layers[0]!]!;
  const { built } = unit;
  const frame = built.input.height * built.input.width;
  const beats = built.output.height * built.output.width;
  if (layer.kind === 'globalavgpool') return periodic(beats, input.period, () => input.at(frame - 1) + built.delay);
  if (layer.kind === 'add') {
    if (skip === undefined) throw new Error('timing: an Add needs its skip stream');
    return periodic(beats, input.period, (k) => Math.max(input.at(k), skip.at(k) + SKIP_FIFO_DELAY) + built.delay);
  }
  const g = windowGeometry({ height: built.input.height, width: built.input.width, ...windowOf(layer) }, `layer ${layer.index}`);
  const flushes = flushesInGap(g, input);
  return periodic(beats, input.period, (k) => {
    const p = Math.floor(k / g.outWidth) * g.stride[0] * g.width + (k % g.outWidth) * g.stride[1] + g.lag;
    // A tail flushed in the gap: phantom beats one per clock right after the frame's last pixel.
    const arrival = flushes && p >= frame ? input.at(frame - 1) + 1 + (p - frame) : input.at(p);
    return arrival + built.delay;
  });
}

/**
 * Whether a window unit flushes its frame tail in the gap its input makes at every frame boundary: when
 * the whole tail fits in that gap (and the lag is within a frame), the phantom beats cost nothing and
 * bring the frame's last outputs out early.
 */
function flushesInGap(g: WindowGeometry, input: SteadyStream): boolean {
  return g.tailBeats > 0 && g.lag < g.height * g.width && frameBoundaryGap(input) >= g.tailBeats;
}

/**
 * Clocks a window unit lets its input idle at a frame boundary before it flushes the tail (window.ts):
 * 0 when the flush fits in the gap the input makes there at full rate (or there is no gap), else that
 * gap, so that a flush never starts on an ordinary pause of a bursty upstream and refuses the next
 * frame's first pixels for the tail's length (stalling the whole design).
 */
export function flushPatience(g: WindowGeometry, input: SteadyStream): number {
  return g.tailBeats === 0 || flushesInGap(g, input) ? 0 : frameBoundaryGap(input);
}

/** Idle clocks between a frame's last beat and the next frame's first beat of a stream in the steady state. */
export function frameBoundaryGap(s: SteadyStream): number {
  return s.at(s.beats) - s.at(s.beats - 1) - 1;
}
