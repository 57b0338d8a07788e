/**
 * RTL beats against the integer model: every tap's beats, in order, against that layer's [C, H, W]
 * output, and the output stream (data and its tuser/tlast flags) against the last fixed layer. The first
 * difference is named by frame, layer, pixel (row, column) and channel, with both values.
 */
import type { Stream } from '../../generator/contract/stream.js';
import { unpackBeat } from '../../generator/contract/beats.js';

export interface Mismatch {
  /** Index of the frame among those streamed (0-based, over the whole verification). */
  readonly frame: number;
  /** Fixed layer index, or 'output' for the top's output stream. */
  readonly layer: number | 'output';
  readonly layerName: string;
  readonly row: number;
  readonly col: number;
  /** null when the beat as a whole is wrong (missing, extra, unknown bits, a wrong flag). */
  readonly channel: number | null;
  readonly expected: number | string;
  readonly actual: number | string;
}

export interface StreamCheck {
  readonly name: string;
  readonly layer: number | 'output';
  readonly format: Stream;
  readonly beats: readonly string[];
  /** Per beat the tuser/tlast flags (output stream only). */
  readonly flags?: ReadonlyArray<{ readonly user: boolean; readonly last: boolean }>;
}

/** Compares a run of `frames` frames; expected[f] is the layer's output for frame f. Returns the count of differing values and the first difference. */
export function compareStream(check: StreamCheck, expected: readonly Int32Array[], firstFrame: number): { differences: number; first: Mismatch | null; frames: Set<number> } {
  const { format } = check;
  const perFrame = format.height * format.width;
  let differences = 0;
  let first: Mismatch | null = null;
  const frames = new Set<number>();
  const note = (m: Mismatch): void => {
    differences++;
    frames.add(m.frame);
    if (first === null) first = m;
  };
  const expectedBeats = perFrame * expected.length;
  for (let beat = 0; beat < Math.max(expectedBeats, check.beats.length); beat++) {
    const frame = Math.floor(beat / perFrame);
    const pixel = beat % perFrame;
    const where = { frame: firstFrame + frame, layer: check.layer, layerName: check.name, row: Math.floor(pixel / format.width), col: pixel % format.width };
    if (beat >= check.beats.length) { note({ ...where, channel: null, expected: 'a beat', actual: `none (only ${check.beats.length} of ${expectedBeats} beats)` }); break; }
    if (beat >= expectedBeats) { note({ ...where, frame: firstFrame + expected.length, channel: null, expected: `${expectedBeats} beats`, actual: `${check.beats.length} beats (extra or repeated)` }); break; }
    const values = unpackBeat(check.beats[beat] as string, format);
    if (values === null) { note({ ...where, channel: null, expected: 'known bits', actual: check.beats[beat] as string }); continue; }
    const reference = expected[frame] as Int32Array;
    for (let c = 0; c < format.channels; c++) {
      const want = reference[c * perFrame + pixel] as number;
      if (values[c] !== want) note({ ...where, channel: c, expected: want, actual: values[c] as number });
    }
    const flags = check.flags?.[beat];
    if (flags !== undefined) {
      const user = pixel === 0;
      const last = where.col === format.width - 1;
      if (flags.user !== user || flags.last !== last) {
        note({ ...where, channel: null, expected: `tuser=${Number(user)} tlast=${Number(last)}`, actual: `tuser=${Number(flags.user)} tlast=${Number(flags.last)}` });
      }
    }
  }
  return { differences, first, frames };
}

export function describeMismatch(m: Mismatch): string {
  const layer = m.layer === 'output' ? `the output stream (${m.layerName})` : `layer ${m.layer} '${m.layerName}'`;
  const channel = m.channel === null ? '' : ` channel ${m.channel}`;
  return `image ${m.frame}: ${layer}, pixel (row ${m.row}, col ${m.col})${channel}: integer model ${String(m.expected)}, RTL ${String(m.actual)}`;
}
