/** What every layer builder returns to the top assembly, and the units the top is made of. */
import type { Module } from '../hdl/index.js';
import type { Stream } from '../contract/stream.js';

export interface BuiltLayer {
  readonly module: Module;
  readonly input: Stream;
  readonly output: Stream;
  /** Register stages from an accepted input beat to the output skid buffer (sizes a skip FIFO). */
  readonly stages: number;
  /** Beats from an input pixel to the output position it carries (geometry lag; 0 for pixelwise layers). */
  readonly lagBeats: number;
  /** Beats after a frame's last pixel until its last output is due (made up by phantom beats when idle). */
  readonly tailBeats: number;
  /**
   * Clocks from accepting the input beat that carries an output (for pixelwise units: the output's own
   * beat) to that output's beat on m_tvalid, with no stall (timing.ts).
   */
  readonly delay: number;
}

/** One hardware unit: a module covering one layer, or two (depthwise + pointwise). */
export interface FfeUnit {
  /** Indices of the model layers inside (one, or two when fused). */
  readonly layers: readonly number[];
  readonly kind: string;
  readonly built: BuiltLayer;
  /** The tensor the unit consumes (the main input of an Add) and the one it produces. */
  readonly inputTensor: string;
  /** An Add's skip input (its other operand), consumed through a FIFO. */
  readonly skipTensor?: string;
  /** An Add's skip FIFO module (instantiated beside the unit; its cost is the unit's). */
  readonly skipFifo?: Module;
  readonly outputTensor: string;
  /** Clocks the unit's input may idle at a frame boundary before it flushes its frame tail (window.ts). */
  readonly idleBeforeFlush: number;
}
