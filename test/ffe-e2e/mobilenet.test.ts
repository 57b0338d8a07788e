/**
 * The real MobileNetV1 0.25 (../shared/models, read in place), float and QDQ forms, first five layers
 * fixed (conv0, dw1, pw1, dw2, pw2; stride 2 with TensorFlow's asymmetric padding) at 224x224: the RTL
 * bit-exact with the integer model in Verilator on 4 real photo crops (scripts/photos.ts).
 * The QDQ form runs in npm test (about 35 s: a 30 s Verilator build, 1.5 s of simulation); the float form,
 * which calibrates through ONNX Runtime first (another 30 s), under FIXYNN_FULL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeMismatch, verifyDesign } from '../../verify/ffe/index.js';
import { photoCrops } from '../../scripts/photos.js';
import { MOBILENET_FLOAT, MOBILENET_QDQ, requireModels } from '../helpers/models.js';
import { lint } from '../../verify/sim/index.js';
import { generate, rtlOf } from './ladder.js';
import { count, FULL } from '../helpers/env.js';

const PHOTOS = count('MOBILENET_IMAGES', 4, 4);
const work = mkdtempSync(path.join(tmpdir(), 'fixynn-mobilenet-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('MobileNetV1 0.25, first five layers fixed, 224x224', () => {
  for (const [form, model] of [['QDQ', MOBILENET_QDQ], ['float', MOBILENET_FLOAT]] as const) {
    it.runIf(form === 'QDQ' || FULL)(`${form} form: bit-exact in Verilator on ${PHOTOS} real photo crops, lint clean`, async (ctx) => {
      requireModels(ctx, model);
      const crops = await photoCrops();
      if ('missing' in crops) throw new Error(`photo crops unavailable: ${crops.missing}`);
      const out = path.join(work, form);
      await generate(model, { fixedLayers: '5', out, ...(form === 'float' ? { calib: crops.calib } : {}) });
      const s = await verifyDesign(out, { simulator: 'verilator', images: PHOTOS, data: crops.test });
      expect(s.mismatches, s.firstMismatch ? describeMismatch(s.firstMismatch) : '').toBe(0);
      expect(s.idealCyclesPerFrame).toBe(224 * 224);
      expect(s.cyclesPerFrame as number).toBeLessThanOrEqual(1.05 * 224 * 224);
      const { files, top } = rtlOf(out);
      expect(await lint(files, top)).toEqual([]);
    });
  }
});
