/**
 * RTL beats against the integer model: every tap's beats, in order, against that layer's [C, H, W]
 * output, and the output stream (data and its tuser/tlast flags) against the last fixed layer. The first
 * difference is named by frame, layer, pixel (row, column) and channel, with both values. A binary beat
 * file is first compared byte for byte with the file the expected values make (compareFile): equal bytes
 * are equal values, beat counts and flags, so only a file that differs is decoded to find where.
 */
import type { Stream } from '../../generator/contract/stream.js';
import { decodeBeats, type BeatBytes, type BeatTable } from './beat-files.js';

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
  /** The beats the simulator wrote (with their tuser/tlast flags for the output stream). */
  readonly beats: BeatTable;
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
  const { beats } = check;
  const { values } = beats;
  const channels = format.channels;
  const expectedBeats = perFrame * expected.length;
  // Where a beat lies: built only for a difference (the loop runs for every beat of a thousand frames).
  const where = (beat: number): Omit<Mismatch, 'channel' | 'expected' | 'actual'> => {
    const pixel = beat % perFrame;
    return { frame: firstFrame + Math.floor(beat / perFrame), layer: check.layer, layerName: check.name, row: Math.floor(pixel / format.width), col: pixel % format.width };
  };
  for (let beat = 0; beat < Math.max(expectedBeats, beats.count); beat++) {
    if (beat >= beats.count) { note({ ...where(beat), channel: null, expected: 'a beat', actual: `none (only ${beats.count} of ${expectedBeats} beats)` }); break; }
    if (beat >= expectedBeats) { note({ ...where(beat), frame: firstFrame + expected.length, channel: null, expected: `${expectedBeats} beats`, actual: `${beats.count} beats (extra or repeated)` }); break; }
    const unknown = beats.unknown.size === 0 ? undefined : beats.unknown.get(beat);
    if (unknown !== undefined) { note({ ...where(beat), channel: null, expected: 'known bits', actual: unknown }); continue; }
    const frame = Math.floor(beat / perFrame);
    const pixel = beat - frame * perFrame;
    const reference = expected[frame] as Int32Array;
    const at = beat * beats.channels;
    for (let c = 0; c < channels; c++) {
      if (values[at + c] !== reference[c * perFrame + pixel]) note({ ...where(beat), channel: c, expected: reference[c * perFrame + pixel] as number, actual: values[at + c] as number });
    }
    if (beats.flags !== undefined) {
      const user = pixel === 0;
      const last = pixel % format.width === format.width - 1;
      const flags = beats.flags[beat] as number;
      if ((flags & 1) !== Number(user) || (flags >> 1) !== Number(last)) {
        note({ ...where(beat), channel: null, expected: `tuser=${Number(user)} tlast=${Number(last)}`, actual: `tuser=${flags & 1} tlast=${flags >> 1}` });
      }
    }
  }
  return { differences, first, frames };
}

/**
 * compareStream on a beat file of a run. `packed`: the binary file the expected values make
 * (BinaryBeatPacker), or null: a binary file equal to it byte for byte has no difference and is not
 * decoded. Any other file is decoded and compared value by value with `expected()`.
 */
export function compareFile(name: string, layer: number | 'output', file: BeatBytes, packed: Uint8Array | null, expected: () => readonly Int32Array[], firstFrame: number): ReturnType<typeof compareStream> {
  if (file.kind === 'binary' && packed !== null && Buffer.compare(packed, file.bytes) === 0) return { differences: 0, first: null, frames: new Set() };
  return compareStream({ name, layer, format: file.format, beats: decodeBeats(file) }, expected(), firstFrame);
}

export function describeMismatch(m: Mismatch): string {
  const layer = m.layer === 'output' ? `the output stream (${m.layerName})` : `layer ${m.layer} '${m.layerName}'`;
  const channel = m.channel === null ? '' : ` channel ${m.channel}`;
  return `image ${m.frame}: ${layer}, pixel (row ${m.row}, col ${m.col})${channel}: integer model ${String(m.expected)}, RTL ${String(m.actual)}`;
}
