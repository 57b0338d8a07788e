/**
 * Real photo crops for the ImageNet MobileNetV1 0.25: made once by scripts/make-photo-crops.py (Debian's
 * python3-skimage and python3-sklearn) into .cache/photos/ (gitignored), then reused.
 *
 * `npm run data:photos` prints, for the 70 test crops, the top-1 class of the float and the QDQ
 * MobileNet (ONNX Runtime) and how many crops they agree on.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { readNpy } from '../generator/data/npy.js';
import { readOnnxFile } from '../generator/onnx/decode.js';
import { openWithOutputs } from '../generator/onnx/runtime.js';
import { argmax } from '../verify/eval/compare.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);
const SCRIPT = path.join(here, 'make-photo-crops.py');
export const PHOTO_CACHE = path.join(repo, '.cache', 'photos');
/** The real MobileNet, read in place (never copied into the repository). */
export const MOBILENET_DIR = path.join(repo, '..', 'shared', 'models', 'mobilenet_v1_0.25_224');
export const MOBILENET_FLOAT = path.join(MOBILENET_DIR, 'mobilenet_v1_0.25_224_float.onnx');
export const MOBILENET_QDQ = path.join(MOBILENET_DIR, 'mobilenet_v1_0.25_224_qdq.onnx');

export interface PhotoCropFiles {
  /** float32 [N,3,224,224], (pixel - 127.5) / 127.5: 70 test crops. */
  readonly test: string;
  /** float32 [N,3,224,224]: 40 calibration crops from windows disjoint from the test windows. */
  readonly calib: string;
  /** The same crops as uint8 raw pixels [N,3,224,224]. */
  readonly testRaw: string;
  readonly calibRaw: string;
  /** Per crop: photo, window (see the script's header). */
  readonly index: string;
}

/** Debian's Python, where apt installs python3-skimage and python3-sklearn (not the pyenv one on PATH). */
function python(): string {
  return process.env.FIXYNN_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

function cacheFiles(dir: string): PhotoCropFiles {
  return {
    test: path.join(dir, 'test.npy'),
    calib: path.join(dir, 'calib.npy'),
    testRaw: path.join(dir, 'test-uint8.npy'),
    calibRaw: path.join(dir, 'calib-uint8.npy'),
    index: path.join(dir, 'crops.json'),
  };
}

/** The cache is valid for one version of the script: a changed script remakes the crops. */
function scriptStamp(): string {
  return createHash('sha256').update(readFileSync(SCRIPT)).digest('hex');
}


function lastLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n').pop() ?? '';
}

/**
 * The photo crops, made on first use. Returns `{ missing }` with a plain reason when the Python packages
 * are not installed (callers must report it, not pass silently).
 */
export async function photoCrops(): Promise<PhotoCropFiles | { missing: string }> {
  const made = await makeCrops(PHOTO_CACHE, [], Object.values(cacheFiles(PHOTO_CACHE)).map((f) => path.basename(f)));
  return 'missing' in made ? made : cacheFiles(PHOTO_CACHE);
}

/** The held-out set of the quantization benchmark: 222 crops of 37 photos that no calibration crop comes from. */
export const HELDOUT_CACHE = path.join(repo, '.cache', 'photos-heldout');

export interface HeldoutFiles {
  /** float32 [222,3,224,224], (pixel - 127.5) / 127.5. */
  readonly heldout: string;
  readonly heldoutRaw: string;
  readonly index: string;
}

/** The held-out crops (Debian's desktop-background packages, see the script), made on first use. */
export async function heldoutCrops(): Promise<HeldoutFiles | { missing: string }> {
  const files = {
    heldout: path.join(HELDOUT_CACHE, 'heldout.npy'),
    heldoutRaw: path.join(HELDOUT_CACHE, 'heldout-uint8.npy'),
    index: path.join(HELDOUT_CACHE, 'heldout.json'),
  };
  const made = await makeCrops(HELDOUT_CACHE, ['--heldout'], Object.values(files).map((f) => path.basename(f)));
  return 'missing' in made ? made : files;
}

function cacheIsCurrent(dir: string, stamp: string, names: readonly string[]): boolean {
  const stampFile = path.join(dir, 'script.sha256');
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && names.every((n) => existsSync(path.join(dir, n)));
}

/** Runs the script into `dir` unless a current copy is there (same script, every file present). */
async function makeCrops(dir: string, flags: readonly string[], names: readonly string[]): Promise<{ missing: string } | { made: string }> {
  const stamp = scriptStamp();
  if (cacheIsCurrent(dir, stamp, names)) return { made: dir };
  const probe = await execa(python(), ['-c', 'import numpy, skimage, sklearn'], { reject: false });
  if (probe.exitCode !== 0) {
    return {
      missing:
        `real photo crops need ${python()} with numpy, scikit-image and scikit-learn ` +
        `(Debian: apt-get install python3-skimage python3-sklearn): ${lastLine(probe.stderr || probe.message)}`,
    };
  }
  // Write elsewhere, then rename: a parallel test process never sees half-written files.
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const made = await execa(python(), [SCRIPT, ...flags, staging], { reject: false });
  if (made.exitCode !== 0) {
    rmSync(staging, { recursive: true, force: true });
    const reason = lastLine(made.stderr || made.message);
    // Missing photo packages are a prerequisite the script names; anything else is a bug: fail loudly.
    if (reason.includes('apt-get install')) return { missing: reason };
    throw new Error(`scripts/make-photo-crops.py failed: ${reason}`);
  }
  writeFileSync(path.join(staging, 'script.sha256'), stamp);
  if (!cacheIsCurrent(dir, stamp, names)) {
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another process renamed its own copy in between: fine if that copy is current.
      if (!cacheIsCurrent(dir, stamp, names)) throw error;
    }
  }
  rmSync(staging, { recursive: true, force: true }); // left only where another process finished first
  return { made: dir };
}

export interface CropRecord {
  readonly set: 'test' | 'calib';
  readonly index: number;
  readonly photo: string;
  /** Where the original photo is (in the Python packages' data folders). */
  readonly path: string;
  readonly scale: number;
  readonly window: readonly [number, number, number];
}

export function readCropIndex(files: PhotoCropFiles): CropRecord[] {
  return JSON.parse(readFileSync(files.index, 'utf8')) as CropRecord[];
}

/** Top-1 class index (of the model's 1001 ImageNet classes: 0 is background) for every image of a .npy. */
export async function topClasses(modelPath: string, npyPath: string): Promise<number[]> {
  const array = readNpy(npyPath);
  const [n = 0, ...chw] = array.shape;
  const size = chw.reduce((a, b) => a * b, 1);
  const data = array.data as Float32Array;
  const model = readOnnxFile(modelPath);
  const output = model.outputs[0]?.name ?? '';
  const runner = await openWithOutputs(model, [output], chw);
  const classes: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const scores = (await runner.run(data.subarray(i * size, (i + 1) * size))).get(output) ?? new Float32Array();
      classes.push(argmax(scores));
    }
  } finally {
    await runner.release();
  }
  return classes;
}

async function main(): Promise<void> {
  const files = await photoCrops();
  if ('missing' in files) {
    console.log(`photo crops unavailable: ${files.missing}`);
    process.exitCode = 2;
    return;
  }
  if (!existsSync(MOBILENET_FLOAT)) {
    console.log(`the MobileNet is not in ${MOBILENET_DIR}; nothing to compare.`);
    process.exitCode = 2;
    return;
  }
  const records = readCropIndex(files).filter((r) => r.set === 'test');
  const float = await topClasses(MOBILENET_FLOAT, files.test);
  const qdq = await topClasses(MOBILENET_QDQ, files.test);
  records.forEach((r, i) => {
    const mark = float[i] === qdq[i] ? ' ' : '*';
    console.log(`${mark} ${String(i).padStart(2)} ${r.photo.padEnd(22)} scale ${r.scale.toFixed(2)} window [${r.window.join(', ')}]: float ${float[i]}, qdq ${qdq[i]}`);
  });
  const agree = float.filter((c, i) => c === qdq[i]).length;
  const first64 = float.slice(0, 64).filter((c, i) => c === qdq[i]).length;
  console.log(`float and QDQ MobileNet agree on the top-1 class of ${agree}/${float.length} test crops (${first64}/64 of the first 64)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
