/** What every layer builder returns to the top assembly. */
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
