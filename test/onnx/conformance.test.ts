/**
 * ONNX's conformance models (libonnx-testdata) that are 2-D image networks in fixynn's operator set: each
 * imports, is quantized (8 bits, calibrated on its own test inputs) and the integer model run on each of
 * its test_data_set inputs agrees with the expected outputs as closely as 8-bit quantization can
 * (SQNR >= 30 dB, or every value within 3 output LSB). The batch of a model's input holds independent
 * images: each runs alone. The rest of the 1,072 models are counted by `npm run bench:conformance`.
 */
import { describe, expect, it } from 'vitest';
import { conformanceInstalled, IMAGE_MODELS, runConformanceModel } from '../helpers/conformance.js';

describe('ONNX conformance models (libonnx-testdata)', () => {
  it('is installed (bash scripts/setup-tools.sh installs Debian package libonnx-testdata)', () => {
    expect(conformanceInstalled()).toBe(true);
  });

  it.each(IMAGE_MODELS)('%s: the integer model matches the expected outputs', async (model) => {
    const { results } = await runConformanceModel(model);
    for (const r of results) {
      expect(r.length).toBe(r.expectedLength);
      expect(r.sqnr >= 30 || r.lsb <= 3, `SQNR ${r.sqnr.toFixed(1)} dB, worst ${r.lsb.toFixed(2)} LSB`).toBe(true);
    }
  });
});
