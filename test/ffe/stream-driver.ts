/**
 * Closed-loop AXI4-Stream driving of a layer or top module in the TypeScript evaluator: a source that
 * holds each beat until accepted (with random gaps on s_tvalid), a sink with random m_tready, and the
 * received beats unpacked per channel. Also the packing of [C, H, W] images into beats.
 */
import type { StreamProbe } from '../../generator/ffe/index.js';
import { Simulator, type Module } from '../../generator/hdl/index.js';
import type { Rng } from './random-graphs.js';

export interface StreamType {
  readonly channels: number;
  readonly bits: number;
  readonly signed: boolean;
}

export function packBeat(values: readonly number[], t: StreamType): bigint {
  let word = 0n;
  const mask = (1n << BigInt(t.bits)) - 1n;
  values.forEach((v, c) => {
    word |= (BigInt(v) & mask) << BigInt(c * t.bits);
  });
  return word;
}

export function unpackBeat(word: bigint, t: StreamType): number[] {
  const mask = (1n << BigInt(t.bits)) - 1n;
  return Array.from({ length: t.channels }, (_, c) => {
    const raw = (word >> BigInt(c * t.bits)) & mask;
    return Number(t.signed && raw >= 1n << BigInt(t.bits - 1) ? raw - (1n << BigInt(t.bits)) : raw);
  });
}

/** An image [C, H, W] as raster-order beats. */
export function imageBeats(image: Int32Array, shape: readonly [number, number, number], t: StreamType): bigint[] {
  const [c, h, w] = shape;
  const beats: bigint[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) beats.push(packBeat(Array.from({ length: c }, (_, ch) => image[(ch * h + y) * w + x]!), t));
  return beats;
}

/** Beats back to an image [C, H, W]. */
export function beatsImage(beats: readonly bigint[], shape: readonly [number, number, number], t: StreamType): Int32Array {
  const [c, h, w] = shape;
  const out = new Int32Array(c * h * w);
  beats.forEach((b, p) => unpackBeat(b, t).forEach((v, ch) => (out[ch * h * w + p] = v)));
  return out;
}

export interface StreamRun {
  readonly beats: bigint[];
  readonly users: number[];
  readonly lasts: number[];
  /** Cycle (after reset) at which each output beat was taken. */
  readonly times: number[];
  readonly cycles: number;
  /** Beats seen on each requested tap, in order. */
  readonly taps: bigint[][];
}

export interface DriveOptions {
  /** Probability that the source offers a beat in a cycle (1: no gaps). */
  readonly validRate: number;
  /** Probability that the sink is ready in a cycle. */
  readonly readyRate: number;
  readonly rng: Rng;
  readonly expectedBeats: number;
  readonly maxCycles?: number;
  /** Drive s_tuser / s_tlast for a frame of this size (a top module has them). */
  readonly tuser?: { readonly height: number; readonly width: number };
  /**
   * Record the beats of these streams inside the top (a unit's probe, as the verification wrapper's taps
   * watch them: the top has no tap ports).
   */
  readonly taps?: readonly StreamProbe[];
  /** Keep clocking this many cycles after the last expected output (so that every tap finishes). */
  readonly drainCycles?: number;
  /** Idle cycles the source inserts before input beat k (e.g. gaps at frame boundaries). */
  readonly gapBefore?: (beat: number) => number;
}

export function driveStream(module: Module, input: readonly bigint[], o: DriveOptions): StreamRun {
  const sim = new Simulator(module);
  const flags = (beat: number): Record<string, number> => {
    if (o.tuser === undefined) return {};
    const p = beat % (o.tuser.height * o.tuser.width);
    return { s_tuser: p === 0 ? 1 : 0, s_tlast: p % o.tuser.width === o.tuser.width - 1 ? 1 : 0 };
  };
  sim.setAll({ rst: 1, s_tvalid: 0, s_tdata: 0, m_tready: 0, ...flags(0) }).step();
  const tapList = o.taps ?? [];
  const run: StreamRun = { beats: [], users: [], lasts: [], times: [], cycles: 0, taps: tapList.map(() => []) };
  let drain = o.drainCycles ?? 0;
  let next = 0;
  let cycle = 0;
  const limit = o.maxCycles ?? 20 * (input.length + o.expectedBeats) + 1000;
  let gapDone = -1;
  let gapLeft = 0;
  while ((run.beats.length < o.expectedBeats || drain-- > 0) && cycle < limit) {
    if (o.gapBefore !== undefined && gapDone !== next && next < input.length) {
      gapDone = next;
      gapLeft = o.gapBefore(next);
    }
    const idle = gapLeft > 0;
    if (idle) gapLeft -= 1;
    const offer = !idle && next < input.length && o.rng() < o.validRate;
    const ready = o.rng() < o.readyRate;
    sim.setAll({ rst: 0, s_tvalid: offer ? 1 : 0, s_tdata: offer ? input[next]! : 0n, m_tready: ready ? 1 : 0, ...flags(next) });
    if (offer && sim.get('s_tready') === 1n) next += 1;
    tapList.forEach((t, k) => {
      if (t.valid.every((v) => sim.get(v) === 1n)) run.taps[k]!.push(sim.get(t.data));
    });
    if (ready && sim.get('m_tvalid') === 1n) {
      run.beats.push(sim.get('m_tdata'));
      run.users.push(Number(sim.get('m_tuser')));
      run.lasts.push(Number(sim.get('m_tlast')));
      run.times.push(cycle);
    }
    sim.step();
    cycle += 1;
  }
  if (o.tuser !== undefined && sim.get('frame_error') !== 0n) throw new Error('the design flagged a framing error on correct tuser/tlast');
  return { ...run, cycles: cycle };
}
