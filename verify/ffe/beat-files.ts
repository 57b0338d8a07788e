/**
 * The testbench's beat files (stim.hex in, out.hex and tap<k>.hex out: one hex line per beat, the format
 * of generator/contract/beats.ts) written and read a byte at a time: a run of a thousand frames moves
 * tens of megabytes of them, and a string and a BigInt per beat cost more than the simulation they check.
 * fixynn verify builds the testbench with binary output files (out.bin, tap<k>.bin: readBinaryBeats),
 * which cost neither side any formatting; the text files stay for the standalone testbench folder.
 * A run's files are kept as bytes (BeatBytes) and decoded only where needed: fixynn verify first compares
 * a binary file byte for byte with the bytes the integer model's values make (packBinaryBeats), and
 * decodes it (to name the first difference) only when they differ.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import type { Stream } from '../../generator/contract/stream.js';
import { checkFailed } from '../../generator/common/errors.js';

/** A file's beats decoded: channel c of beat b at values[b * channels + c]. */
export interface BeatTable {
  readonly count: number;
  readonly channels: number;
  /**
   * The decoded channel values (two's complement applied when the stream is signed); 0 in unknown beats.
   * Binary files decode into 32-bit integers where every value fits (all but unsigned 32-bit channels):
   * a thousand frames' taps are tens of millions of values, and half the memory is half the time.
   */
  readonly values: Float64Array | Int32Array;
  /** Beats whose data has unknown (x/z) or otherwise unreadable digits: their text as the simulator wrote it. */
  readonly unknown: ReadonlyMap<number, string>;
  /** Per beat the two flag columns of out.hex (bit 0: tuser is 1, bit 1: tlast is 1); absent for taps. */
  readonly flags?: Uint8Array;
}

/** One beat file of a run as the simulator left it, undecoded. */
export interface BeatBytes {
  readonly bytes: Uint8Array;
  readonly kind: 'binary' | 'text';
  readonly format: Stream;
  /** out.bin / out.hex: the tuser and tlast flags after each beat's data. */
  readonly withFlags: boolean;
}

/** A beat file's beats decoded (readBinaryBeats or readBeats by its kind). */
export function decodeBeats(file: BeatBytes): BeatTable {
  return file.kind === 'binary' ? readBinaryBeats(file.bytes, file.format, file.withFlags) : readBeats(file.bytes, file.format, file.withFlags);
}

const HEX_DIGITS = '0123456789abcdef';

/**
 * Frames of q values ([C, H, W] each) as the lines of stim.hex: one fixed-width hex line per pixel (the
 * testbench shifts in every digit, so leading zeros are harmless), frames back to back.
 */
export function packFramesHex(frames: readonly Int32Array[], format: Stream): Buffer {
  const { channels, height, width } = format;
  const { bits } = format.type;
  const plane = height * width;
  const digits = Math.ceil((channels * bits) / 4);
  const out = Buffer.alloc(frames.length * plane * (digits + 1));
  const nibbles = new Uint8Array(digits);
  const nibbleAligned = bits % 4 === 0 && bits <= 32;
  let at = 0;
  for (const values of frames) {
    if (values.length !== channels * plane) throw new Error(`internal: ${values.length} values for a ${channels}x${height}x${width} stream`);
    for (let p = 0; p < plane; p++) {
      nibbles.fill(0);
      for (let c = 0; c < channels; c++) {
        const v = values[c * plane + p] as number;
        if (nibbleAligned) {
          // Channels of whole hex digits: digit k of the channel is bits 4k..4k+3 of its two's complement.
          for (let k = 0, at = (c * bits) >> 2; k < bits >> 2; k++) nibbles[at + k] = (v >> Math.min(4 * k, 31)) & 15;
          continue;
        }
        // Bit b of a two's complement value (b < 32 covers every stream width fixynn makes).
        for (let b = 0, pos = c * bits; b < bits; b++, pos++) if ((v >> Math.min(b, 31)) & 1) nibbles[pos >> 2] = (nibbles[pos >> 2] as number) | (1 << (pos & 3));
      }
      for (let d = digits - 1; d >= 0; d--) out[at++] = HEX_DIGITS.charCodeAt(nibbles[d] as number);
      out[at++] = 10;
    }
  }
  return out;
}

/** The value of each ASCII hex digit; -1 for every other byte. */
const HEX_VALUE = Int8Array.from({ length: 256 }, (_, ch) => {
  if (ch >= 48 && ch <= 57) return ch - 48;
  if (ch >= 97 && ch <= 102) return ch - 87;
  if (ch >= 65 && ch <= 70) return ch - 55;
  return -1;
});

/**
 * Decodes a tap file (`data` per line) or out.hex (`data tuser tlast` per line, withFlags). Empty lines
 * are skipped, as the string reader did; a data word wider than the stream is read modulo its width,
 * as unpackBeat does.
 */
export function readBeats(text: Uint8Array, format: Stream, withFlags = false): BeatTable {
  const { channels } = format;
  const { bits, signed } = format.type;
  let lines = 0;
  for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lines++;
  let values = new Float64Array((lines + 1) * channels);
  const unknown = new Map<number, string>();
  let flags = withFlags ? new Uint8Array(lines + 1) : undefined;
  const decode = wordDecoder(channels, bits);
  const full = 2 ** bits;
  const half = 2 ** (bits - 1);
  let count = 0;
  for (let start = 0; start < text.length;) {
    let end = start;
    while (end < text.length && !isSeparator(text[end] as number)) end++;
    let next = end;
    while (next < text.length && text[next] !== 10) next++;
    if (next > start) {
      const at = count * channels;
      if (!decode(text, start, end, values, at)) {
        unknown.set(count, Buffer.from(text.subarray(start, end)).toString('latin1'));
        values.fill(0, at, at + channels);
      } else if (signed) {
        for (let i = at; i < at + channels; i++) if ((values[i] as number) >= half) values[i] = (values[i] as number) - full;
      }
      if (flags) flags[count] = flagsOf(text, end);
      count++;
    }
    start = next + 1;
  }
  values = values.subarray(0, count * channels);
  if (flags) flags = flags.subarray(0, count);
  return { count, channels, values, unknown, ...(flags ? { flags } : {}) };
}

function isSeparator(ch: number): boolean {
  return ch === 10 || ch === 32 || ch === 9 || ch === 13;
}

type WordDecoder = (text: Uint8Array, start: number, end: number, values: Float64Array, at: number) => boolean;

/**
 * Decodes one hex word (least significant digit last) into `channels` unsigned values of `bits` each, at
 * values[at..]; false when a digit is not hex (x, z) or the word is empty. The weight of every digit (or,
 * where channels do not start on a digit, of every bit) in its channel is worked out once per stream.
 */
function wordDecoder(channels: number, bits: number): WordDecoder {
  const total = channels * bits;
  const digits = Math.ceil(total / 4);
  if (bits % 4 === 0) {
    const channelOf = Int32Array.from({ length: digits }, (_, i) => Math.floor((4 * i) / bits));
    const weightOf = Float64Array.from({ length: digits }, (_, i) => 2 ** (4 * i - (channelOf[i] as number) * bits));
    return (text, start, end, values, at) => {
      if (end <= start) return false;
      for (let i = end - 1, n = 0; i >= start; i--, n++) {
        const d = HEX_VALUE[text[i] as number] as number;
        if (d < 0) return false;
        if (n < digits && d !== 0) values[at + (channelOf[n] as number)] = (values[at + (channelOf[n] as number)] as number) + d * (weightOf[n] as number);
      }
      return true;
    };
  }
  const channelOf = Int32Array.from({ length: total }, (_, pos) => Math.floor(pos / bits));
  const weightOf = Float64Array.from({ length: total }, (_, pos) => 2 ** (pos % bits));
  return (text, start, end, values, at) => {
    if (end <= start) return false;
    for (let i = end - 1, pos = 0; i >= start; i--, pos += 4) {
      const d = HEX_VALUE[text[i] as number] as number;
      if (d < 0) return false;
      for (let k = 0; k < 4; k++) {
        if (pos + k < total && (d >> k) & 1) values[at + (channelOf[pos + k] as number)] = (values[at + (channelOf[pos + k] as number)] as number) + (weightOf[pos + k] as number);
      }
    }
    return true;
  };
}

/** out.hex's "data tuser tlast": the two flag columns after the data word ending at `from`, each 1 only when it reads exactly "1". */
function flagsOf(text: Uint8Array, from: number): number {
  const isSpace = (ch: number | undefined): boolean => ch === 32 || ch === 9 || ch === 13;
  let flags = 0;
  let i = from;
  for (let column = 0; column < 2; column++) {
    while (i < text.length && isSpace(text[i])) i++;
    const start = i;
    while (i < text.length && text[i] !== 10 && !isSpace(text[i])) i++;
    if (i - start === 1 && text[start] === 49) flags |= 1 << column;
  }
  return flags;
}

/**
 * Decodes a binary beat file (the testbench built with FIXYNN_BINARY_BEATS): per beat the data word as
 * $fwrite's %z writes it (per 32 bits a little-endian word of the value bits, then one of the x/z bits),
 * then for out.bin (withFlags) {tlast, tuser} the same way. A beat with any x/z bit is unknown; its
 * text is the value in hex with an x for each digit that has one.
 */
export function readBinaryBeats(bytes: Uint8Array, format: Stream, withFlags = false): BeatTable {
  const { channels } = format;
  const { bits, signed } = format.type;
  if (bits > 32) throw new Error(`internal: ${bits}-bit channels (binary beat files hold up to 32)`);
  const dataWords = Math.ceil((channels * bits) / 32);
  const beatWords = 2 * (dataWords + (withFlags ? 1 : 0));
  // A torn file is the simulation's failure (it stopped while writing), not fixynn's: a check failure, exit 1.
  if (bytes.length % (4 * beatWords) !== 0) throw checkFailed(`binary beat file: ${bytes.length} bytes is not a whole number of ${4 * beatWords}-byte beats (the simulation stopped while writing a beat)`);
  const count = bytes.length / (4 * beatWords);
  const words = littleEndianWords(bytes);
  const values = bits === 32 && !signed ? new Float64Array(count * channels) : new Int32Array(count * channels);
  const flags = withFlags ? new Uint8Array(count) : undefined;
  const unknown = new Map<number, string>();
  // Where each channel lies: its first word (aval) and the bit it starts at; the words are 32-bit integers,
  // so a channel is a shift, an or with the next word where it straddles two, and a mask.
  const wordOf = Int32Array.from({ length: channels }, (_, c) => 2 * ((c * bits) >>> 5));
  const shiftOf = Int32Array.from({ length: channels }, (_, c) => (c * bits) & 31);
  const mask = bits === 32 ? -1 : (1 << bits) - 1;
  const extend = 32 - bits; // sign extension: << then >>
  for (let b = 0, base = 0; b < count; b++, base += beatWords) {
    let xz = 0;
    for (let w = 1; w < 2 * dataWords; w += 2) xz |= words[base + w] as number;
    if (xz !== 0) {
      unknown.set(b, unknownText(words, base, channels * bits));
      continue; // its values stay 0
    }
    const at = b * channels;
    for (let c = 0; c < channels; c++) {
      const w = base + (wordOf[c] as number);
      const shift = shiftOf[c] as number;
      let v = (words[w] as number) >>> shift;
      if (shift + bits > 32) v |= (words[w + 2] as number) << (32 - shift);
      v &= mask;
      values[at + c] = signed ? (v << extend) >> extend : v >>> 0;
    }
    if (flags) {
      const f = base + 2 * dataWords;
      flags[b] = words[f + 1] === 0 ? (words[f] as number) & 3 : 0;
    }
  }
  return { count, channels, values, unknown, ...(flags ? { flags } : {}) };
}

/** The bytes as little-endian 32-bit words (a view where the buffer allows, else a copy). */
function littleEndianWords(bytes: Uint8Array): Int32Array {
  if (endianness() === 'LE' && bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getInt32(4 * i, true));
}

/** A beat with x/z bits as hex text, most significant digit first, x where a digit has one. */
function unknownText(words: Int32Array, base: number, totalBits: number): string {
  let text = '';
  for (let d = Math.ceil(totalBits / 4) - 1; d >= 0; d--) {
    const w = base + 2 * (d >>> 3);
    const shift = 4 * (d & 7);
    const xz = ((words[w + 1] as number) >>> shift) & 15;
    text += xz !== 0 ? 'x' : HEX_DIGITS[((words[w] as number) >>> shift) & 15];
  }
  return text;
}

/**
 * The binary beat file (readBinaryBeats' format) a correct run writes for these frames ([C, H, W] each,
 * beats in raster order): the data words with no x/z bits, and with `withFlags` tuser on each frame's
 * first pixel and tlast on each row's last. null where the byte comparison could not stand in for the
 * value comparison: a value outside the stream's type (its bits would be cut) or a big-endian host.
 * A file equal to these bytes decodes to exactly these values and flags, beat for beat.
 */
export function packBinaryBeats(frames: readonly Int32Array[], format: Stream, withFlags = false): Uint8Array | null {
  const packer = new BinaryBeatPacker(format, withFlags);
  packer.start(frames.length);
  frames.forEach((values, f) => packer.add(f, values));
  return packer.bytes();
}

/**
 * packBinaryBeats a frame at a time into one buffer reused from run to run (grown when a run needs more):
 * fixynn verify packs each image's layer outputs as the integer model makes them, and fresh megabytes
 * per run would cost more in page faults than the packing itself. The buffer can leave the packer (its
 * bytes() sent to another thread, the ArrayBuffer transferred) and come back through start's `spare`.
 */
export class BinaryBeatPacker {
  private words = new Int32Array(0);
  /** The words as the channels' width sees them (bytes, 16-bit halves or the words; see slotOf). */
  private view: Uint8Array | Uint16Array | Int32Array = this.words;
  private frames = 0;
  private added = 0;
  private fits = true;
  private readonly plane: number;
  private readonly dataWords: number;
  private readonly beatWords: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly mask: number;
  private readonly usable: boolean;
  /**
   * Where each channel's value goes in a beat, for channels of 8, 16 or 32 bits (each starts on a byte
   * and none straddles two words): its element in a byte, 16-bit or 32-bit view of the words (null for
   * other widths, which are shifted and or-ed into the words).
   */
  private readonly slotOf: Int32Array | null;

  constructor(readonly format: Stream, readonly withFlags: boolean) {
    const { channels, height, width } = format;
    const { bits, signed } = format.type;
    this.plane = height * width;
    this.dataWords = Math.ceil((channels * bits) / 32);
    this.beatWords = 2 * (this.dataWords + (withFlags ? 1 : 0));
    this.lo = signed ? -(2 ** (bits - 1)) : 0;
    this.hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    this.mask = bits >= 32 ? -1 : (1 << bits) - 1;
    this.usable = bits <= 32 && endianness() === 'LE';
    const perWord = 32 / bits;
    // Channel c is value c % perWord of data word c / perWord, and data word j is word 2j of the beat (x/z words between).
    this.slotOf = bits === 8 || bits === 16 || bits === 32 ? Int32Array.from({ length: channels }, (_, c) => 2 * perWord * Math.floor(c / perWord) + (c % perWord)) : null;
  }

  /**
   * Starts a run of `frames` frames (each must be added before bytes()). `spare`: a buffer to pack into
   * when the packer's own is too small or was transferred away (an earlier run's bytes().buffer).
   */
  start(frames: number, spare?: ArrayBuffer): void {
    const length = frames * this.plane * this.beatWords;
    if (this.words.length < length) {
      this.words = spare !== undefined && spare.byteLength >= 4 * length ? new Int32Array(spare) : new Int32Array(length);
      const { bits } = this.format.type;
      this.view = bits === 8 ? new Uint8Array(this.words.buffer) : bits === 16 ? new Uint16Array(this.words.buffer) : this.words;
    }
    this.frames = frames;
    this.added = 0;
    this.fits = this.usable;
  }

  /** Frame f's values ([C, H, W]) into its beats. */
  add(f: number, values: Int32Array): void {
    const { channels, height, width } = this.format;
    const { bits } = this.format.type;
    const { plane, beatWords, lo, hi, mask, words, view, slotOf } = this;
    if (values.length !== channels * plane) throw new Error(`internal: ${values.length} values for a ${channels}x${height}x${width} stream`);
    if (f >= this.frames) throw new Error(`internal: frame ${f} of a run of ${this.frames}`);
    this.added++;
    if (!this.fits) return;
    const frameWords = plane * beatWords;
    const base = f * frameWords;
    // The frame's words cleared (the buffer is reused from run to run): the x/z words and the bits past
    // the last channel stay zero, the channels' bits are written or or-ed in.
    words.fill(0, base, base + frameWords);
    if (slotOf !== null) {
      // A typed view per width puts each value in its place with one store; channel by channel, each
      // channel's plane read in order, its value at the same place of every beat.
      const scale = 32 / bits;
      const stride = beatWords * scale;
      for (let c = 0; c < channels; c++) {
        const from = c * plane;
        for (let p = 0, at = base * scale + (slotOf[c] as number); p < plane; p++, at += stride) {
          const v = values[from + p] as number;
          if (v < lo || v > hi) { this.fits = false; return; }
          view[at] = v;
        }
      }
    } else {
      for (let c = 0, pos = 0; c < channels; c++, pos += bits) {
        const shift = pos & 31;
        const spill = shift + bits > 32;
        const from = c * plane;
        for (let p = 0, w = base + 2 * (pos >>> 5); p < plane; p++, w += beatWords) {
          const v = values[from + p] as number;
          if (v < lo || v > hi) { this.fits = false; return; }
          const u = v & mask;
          words[w] = (words[w] as number) | (u << shift);
          if (spill) words[w + 2] = (words[w + 2] as number) | (u >>> (32 - shift));
        }
      }
    }
    if (this.withFlags) for (let p = 0, w = base + 2 * this.dataWords; p < plane; p++, w += beatWords) words[w] = (p === 0 ? 1 : 0) | (p % width === width - 1 ? 2 : 0);
  }

  /** The run's file (a view valid until the next start), or null where it cannot stand in for the values. */
  bytes(): Uint8Array | null {
    if (!this.fits || this.added !== this.frames) return null;
    return new Uint8Array(this.words.buffer, 0, this.frames * this.plane * this.beatWords * 4);
  }
}

/**
 * Read buffers lent out for a run's beat files and given back once the run is checked: a file read into a
 * fresh buffer of megabytes costs more in page faults (system time) than its bytes, so the few buffers
 * the runs in flight need are kept.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly lent = new Map<ArrayBufferLike, Buffer>();

  /** The file's bytes (empty for a file that does not exist), in a lent buffer. */
  read(file: string): Uint8Array {
    if (!existsSync(file)) return new Uint8Array(0);
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      let best = -1;
      for (let i = 0; i < this.free.length; i++) {
        const length = (this.free[i] as Buffer).length;
        if (length >= size && (best < 0 || length < (this.free[best] as Buffer).length)) best = i;
      }
      const buffer = best >= 0 ? (this.free.splice(best, 1)[0] as Buffer) : Buffer.allocUnsafeSlow(Math.max(size, 1));
      this.lent.set(buffer.buffer, buffer);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, buffer, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      return buffer.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }

  /** Gives back the buffers under these views (read's results) for the next run. */
  release(views: readonly Uint8Array[]): void {
    for (const view of views) {
      const buffer = this.lent.get(view.buffer);
      if (buffer === undefined) continue;
      this.lent.delete(view.buffer);
      this.free.push(buffer);
    }
  }
}
