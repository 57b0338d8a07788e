/**
 * One chip, every task (issue 15's acceptance item): the backbone's first K layers generated once as the
 * chip's fixed part (`generate backbone.onnx --fixed-layers K --calib calib.npy --accel 8x8`), every
 * committed head (examples/transfer/heads/TASK-kK.onnx) compiled for that chip (`compile --chip`, the rest
 * calibrated on the same calib.npy), and each program run in Verilator on its own task's test images:
 * bit-exact with the ISA simulator and the integer model, and well above chance.
 *
 * npm test: two tasks (mnist, letters: 10 and 26 classes) on a few images, one Verilator build shared (the
 * program is loaded through the host port, so every task runs on the same simulated chip).
 * FIXYNN_FULL=1: all five tasks on 50 images each.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompile } from '../../generator/commands/compile.js';
import { ffeCore } from '../../generator/design/core.js';
import { generateDesign } from '../../generator/design/generate-design.js';
import { verifyChip } from '../../verify/chip/verify-chip.js';
import { count, FULL } from '../helpers/env.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/transfer');
const CALIB = path.join(DIR, 'calib.npy');
const BACKBONE = path.join(DIR, 'backbone.onnx');
const CLASSES: Record<string, number> = { mnist: 10, letters: 26, 'uci-digits': 10, shapes: 10, photos: 10 };
const IMAGES = count('TRANSFER_CHIP_IMAGES', 50, 4);
const TASKS = FULL ? Object.keys(CLASSES) : ['mnist', 'letters'];
const quiet = { onProgress: (): void => {} };

/** The committed heads' K (one K for all: test/transfer/transfer.test.ts checks it). */
function headK(): number {
  const ks = readdirSync(path.join(DIR, 'heads')).flatMap((name) => /-k(\d+)\.onnx$/.exec(name)?.[1] ?? []);
  const k = Number(ks[0]);
  if (!Number.isInteger(k) || ks.some((x) => Number(x) !== k)) throw new Error(`examples/transfer/heads: expected one K, found ${ks.join(', ')}`);
  return k;
}

let root: string;
let chip: Promise<string> | undefined;
const K = headK();

/** The chip, generated once from the backbone (calibrated by 'mse', the rule the QAT heads were tuned for): the fixed part and the accelerator every head shares. */
function chipOnce(): Promise<string> {
  chip ??= (async () => {
    const dir = path.join(root, `chip-k${K}`);
    await generateDesign(BACKBONE, { fixedLayers: String(K), accel: '8x8', calib: CALIB, calibMethod: 'mse', out: dir, arith: 'shared', pipeline: 0, rawInput: false, ...quiet }, ffeCore);
    return dir;
  })();
  return chip;
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'fixynn-transfer-chip-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe(`the transfer heads on one chip (backbone fixed at K = ${K}, 8x8 accelerator)`, () => {
  for (const task of TASKS) {
    it(`${task}: compile --chip, bit-exact in Verilator on ${IMAGES} of its test images, above chance`, async () => {
      const dir = await chipOnce();
      const head = path.join(DIR, 'heads', `${task}-k${K}.onnx`);
      expect(existsSync(head), head).toBe(true);
      const prog = path.join(root, task);
      await runCompile(head, { chip: dir, out: prog, calib: CALIB, calibMethod: 'mse', json: true });
      const s = await verifyChip(dir, {
        simulator: 'verilator', images: IMAGES, program: prog,
        data: path.join(DIR, 'data', task, 'test-x.npy'), labels: path.join(DIR, 'data', task, 'test-y.npy'), ...quiet,
      });
      expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
      expect(s.fixedLayers).toBe(K);
      expect(s.images).toBe(IMAGES);
      const classes = CLASSES[task] ?? 2;
      expect(s.classes.every((c) => c >= 0 && c < classes)).toBe(true);
      const { correct, labelled } = s.accuracy ?? { correct: 0, labelled: 0 };
      expect(labelled).toBe(IMAGES);
      console.log(`${task} head K=${K} on the chip: top-1 ${correct}/${labelled} (${(100 * correct / labelled).toFixed(1)}%), bit-exact`);
      // Well above chance: at least 3x (photos, the hard case, is ~50% on its whole test set, 5x chance).
      expect(correct).toBeGreaterThanOrEqual(Math.ceil(3 * labelled / classes));
    }, 1_200_000);
  }
});
