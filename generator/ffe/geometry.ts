/**
 * Where a sliding-window layer's outputs fall in its input stream (pure arithmetic, no hardware).
 *
 * The input arrives in raster order, one pixel per beat. The output (oy, ox) is emitted at the beat that
 * brings its window's bottom-right pixel, (oy*sy - padTop + kh - 1, ox*sx - padLeft + kw - 1). Rows and
 * columns past the image's bottom/right edge are padding: those outputs are emitted on the beats that
 * *follow* in the stream (the next row's first columns, the next frame's first rows), where no output of
 * the new row/frame is due yet, so one beat never carries two outputs and the layer keeps one pixel per
 * clock over back-to-back frames. The window's rows and columns that lie outside the image are masked
 * with the padding value, which is why data of another row or frame in them never matters.
 *
 * This gives a fixed lag L = lagRows*W + lagCols (in beats) between a beat's position p in its frame and
 * the position q = p - L (mod H*W) of the output it carries, q = oy*sy*W + ox*sx. Outputs with q beyond
 * the frame's last beat ("the tail") ride on the next frame's first beats or, when the input goes idle,
 * on phantom beats the layer makes itself (see window.ts). On a map smaller than the window the lag can
 * exceed a frame (a 3x3 window on 1x2): an output then rides floor(L / HW) frames later, same rule.
 *
 * A dilated window (taps d pixels apart) is the same scheme over its span (k - 1) * d + 1: lag, tail and
 * padding limits follow the span; only the taps (rows and columns i * d of the span) are read or masked.
 */
import { badInput } from '../common/errors.js';

export interface WindowSpec {
  readonly height: number;
  readonly width: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** [top, left, bottom, right] */
  readonly pads: readonly [number, number, number, number];
  /** Taps this many pixels apart (a dilated conv); absent: dense. */
  readonly dilation?: readonly [number, number];
}

export interface WindowGeometry extends WindowSpec {
  readonly dilation: readonly [number, number];
  /** Pixels the window covers per axis: (kernel - 1) * dilation + 1 (the kernel itself when dense). */
  readonly span: readonly [number, number];
  readonly outHeight: number;
  readonly outWidth: number;
  /** Rows between an output's window bottom-right row and the output's first row: spanH - 1 - padTop. */
  readonly lagRows: number;
  readonly lagCols: number;
  /** Beats between a pixel's position and the output position it carries. */
  readonly lag: number;
  /** q (flat, in the frame's H x W grid) carried by a frame's first beat: (H*W - lag) mod H*W. */
  readonly startQ: number;
  /** q of the frame's last output. */
  readonly lastOutputQ: number;
  /** Beats after a frame's last pixel until its last output is out (0: no tail). */
  readonly tailBeats: number;
  /** Window taps (row i = span row i * dy, column j likewise) that can ever be padding (only these need a mask). */
  readonly maskedRows: readonly number[];
  readonly maskedCols: readonly number[];
}

export function outputSize(size: number, kernel: number, stride: number, before: number, after: number): number {
  return Math.floor((size + before + after - kernel) / stride) + 1;
}

/** The geometry of a window layer, or a clear error for shapes the streaming scheme cannot serve. */
export function windowGeometry(spec: WindowSpec, where: string): WindowGeometry {
  const { height: h, width: w } = spec;
  const [kh, kw] = spec.kernel;
  const [sy, sx] = spec.stride;
  const [pt, pl, pb, pr] = spec.pads;
  const dilation = spec.dilation ?? [1, 1];
  const [dy, dx] = dilation;
  for (const [name, v, min] of [['height', h, 1], ['width', w, 1], ['kernel height', kh, 1], ['kernel width', kw, 1], ['stride', sy, 1], ['stride', sx, 1], ['dilation', dy, 1], ['dilation', dx, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw badInput(`${where}: ${name} ${v} must be a whole number >= ${min}`);
  }
  const span: [number, number] = [(kh - 1) * dy + 1, (kw - 1) * dx + 1];
  const [sh, sw] = span;
  const window = dy === 1 && dx === 1 ? `a ${kh}x${kw} kernel` : `a ${kh}x${kw} kernel dilated ${dy}x${dx} (spanning ${sh}x${sw})`;
  if (pt + pb > sh - 1 || pl + pr > sw - 1 || Math.min(pt, pl, pb, pr) < 0) {
    throw badInput(
      `${where}: pads [${spec.pads.join(', ')}] with ${window} are not supported; the streaming line buffer needs top + bottom <= ${sh - 1} and left + right <= ${sw - 1} (padding of at most the window's span - 1 per axis)`,
    );
  }
  const outHeight = outputSize(h, sh, sy, pt, pb);
  const outWidth = outputSize(w, sw, sx, pl, pr);
  if (outHeight < 1 || outWidth < 1) throw badInput(`${where}: ${window} does not fit the padded ${h}x${w} input`);
  const lagRows = sh - 1 - pt;
  const lagCols = sw - 1 - pl;
  const lag = lagRows * w + lagCols;
  const frame = h * w;
  const lastOutputQ = (outHeight - 1) * sy * w + (outWidth - 1) * sx;
  const tailBeats = Math.max(0, lastOutputQ + lag - (frame - 1));
  const maskedRows = range(kh).filter((i) => i * dy < pt || (outHeight - 1) * sy - pt + i * dy > h - 1);
  const maskedCols = range(kw).filter((j) => j * dx < pl || (outWidth - 1) * sx - pl + j * dx > w - 1);
  return { ...spec, dilation, span, outHeight, outWidth, lagRows, lagCols, lag, startQ: (((frame - lag) % frame) + frame) % frame, lastOutputQ, tailBeats, maskedRows, maskedCols };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
