/**
 * PNG and JPEG images to 8-bit pixel tensors [C, H, W] of a model's input size. The steps, in order
 * (docs/inputs.md states the same for users):
 *   1. decode (pngjs for PNG, jpeg-js for JPEG; the format is taken from the file's first bytes) to
 *      8-bit RGBA; alpha is ignored;
 *   2. channels: C = 3 keeps R, G, B; C = 1 takes the luma round(0.299 R + 0.587 G + 0.114 B)
 *      (ITU-R BT.601; a gray image keeps its values exactly);
 *   3. size: scale by s = max(H / h, W / w) so that the image covers the target, bilinear with
 *      half-pixel centers (no antialiasing), take the centered H x W window, round to the nearest
 *      integer. An image that already has the target size is left exactly as it is.
 * The result stays 8-bit ("raw" pixels, as a camera delivers them); scale/mean/std come after this.
 */
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { badInput } from '../common/errors.js';

/** Decoded 8-bit RGBA, row-major, 4 bytes per pixel. */
export interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

/** Decodes a PNG or JPEG file; a file that is neither, or is corrupt, is a badInput error naming it. */
export function decodeImageFile(file: string): Rgba {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw badInput(`${file}: cannot read the image (${(error as Error).message}).`);
  }
  return decodeImage(bytes, file);
}

export function decodeImage(bytes: Buffer, name: string): Rgba {
  try {
    if (startsWith(bytes, PNG_SIGNATURE)) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
    }
    if (startsWith(bytes, JPEG_SIGNATURE)) {
      const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: image.width, height: image.height, data: image.data };
    }
  } catch (error) {
    throw badInput(`${name}: cannot decode the image (${(error as Error).message}).`);
  }
  throw badInput(`${name}: not a PNG or JPEG file (supported image formats: PNG, JPEG).`);
}

/** Steps 2 and 3 above: an RGBA image to 8-bit [channels, height, width] in C order. */
export function toPixels(image: Rgba, channels: number, height: number, width: number, name: string): Uint8Array {
  if (channels !== 1 && channels !== 3) {
    throw badInput(`${name}: the model's input has ${channels} channels; images can feed 1 (grayscale) or 3 (RGB) channels. Pass a .npy instead.`);
  }
  if (image.width < 1 || image.height < 1) throw badInput(`${name}: the image is empty.`);
  const planes = channelPlanes(image, channels);
  const out = new Uint8Array(channels * height * width);
  planes.forEach((plane, c) => {
    out.set(resizeCoverCrop(plane, image.height, image.width, height, width), c * height * width);
  });
  return out;
}

function channelPlanes(image: Rgba, channels: number): Float64Array[] {
  const n = image.width * image.height;
  const planes = Array.from({ length: channels }, () => new Float64Array(n));
  for (let p = 0; p < n; p++) {
    const r = image.data[4 * p] ?? 0;
    const g = image.data[4 * p + 1] ?? 0;
    const b = image.data[4 * p + 2] ?? 0;
    if (channels === 1) {
      (planes[0] as Float64Array)[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      (planes[0] as Float64Array)[p] = r;
      (planes[1] as Float64Array)[p] = g;
      (planes[2] as Float64Array)[p] = b;
    }
  }
  return planes;
}

/** Bilinear resize so the image covers outH x outW, centered crop, rounded and clamped to 0..255. */
export function resizeCoverCrop(plane: Float64Array, inH: number, inW: number, outH: number, outW: number): Uint8Array {
  const s = Math.max(outH / inH, outW / inW);
  const offsetY = (inH * s - outH) / 2;
  const offsetX = (inW * s - outW) / 2;
  const out = new Uint8Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const sy = sourceCoordinate(y, offsetY, s, inH);
    for (let x = 0; x < outW; x++) {
      const sx = sourceCoordinate(x, offsetX, s, inW);
      out[y * outW + x] = clampByte(Math.round(bilinear(plane, inW, sy, sx)));
    }
  }
  return out;
}

/** Half-pixel centers: output pixel i covers [i, i+1) of the scaled, offset image. */
function sourceCoordinate(i: number, offset: number, scale: number, size: number): number {
  return Math.min(Math.max((i + 0.5 + offset) / scale - 0.5, 0), size - 1);
}

function bilinear(plane: Float64Array, width: number, y: number, x: number): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const fy = y - y0;
  const fx = x - x0;
  const at = (yy: number, xx: number) => plane[yy * width + xx] ?? 0;
  const y1 = fy > 0 ? y0 + 1 : y0;
  const x1 = fx > 0 ? x0 + 1 : x0;
  const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
  const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
  return top * (1 - fy) + bottom * fy;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
