/** The manifest reader's rejections, and the stream packing the testbench and the comparison share. */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.js';
import { parseManifest, serializeManifest } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { packFrame, unpackBeat } from '../../verify/ffe/stream.js';
import { pointwiseModel } from './pointwise-model.js';
import { standInFfe } from './stand-in-ffe.js';

let work: string;
let design: string;
let manifestText: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-manifest-test-'));
  design = path.join(work, 'design');
  const model = pointwiseModel(path.join(work, 'm.onnx'));
  const quiet = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    await runGenerate(model, { fixedLayers: 'pw1', out: design, json: true }, standInFfe());
  } finally {
    process.stdout.write = quiet;
  }
  manifestText = readFileSync(path.join(design, 'manifest.json'), 'utf8');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('manifest', () => {
  it('round-trips byte for byte', () => {
    const m = parseManifest(manifestText, 'manifest.json');
    expect(serializeManifest(m)).toBe(manifestText);
    expect(m.top.ports.find((p) => p.name === 's_tdata')?.width).toBe(8);
    expect(m.top.ports.find((p) => p.name === 'm_tdata')?.width).toBe(2 * m.top.output.type.bits);
    expect(m.format).toBe('fixynn-design');
    expect(m.version).toBe(4);
    expect(m.parts.map((p) => p.kind)).toEqual(['ffe']);
  });

  it('rejects other versions, formats, broken JSON and inconsistent layers with one clear message', () => {
    const data = JSON.parse(manifestText) as Record<string, unknown>;
    const [part] = data.parts as Array<Record<string, unknown>>;
    const withPart = (changes: Record<string, unknown>): string => JSON.stringify({ ...data, parts: [{ ...part, ...changes }] });
    expect(() => parseManifest(JSON.stringify({ ...data, version: 2 }), 'm.json')).toThrow(/manifest version 2 is not supported.*fixynn-design version 4.*regenerate/);
    expect(() => parseManifest(JSON.stringify({ ...data, format: 'other' }), 'm.json')).toThrow(/not a fixynn design manifest/);
    expect(() => parseManifest(manifestText.slice(0, 100), 'm.json')).toThrow(/m.json: not valid JSON/);
    expect(() => parseManifest(withPart({ fixedLayerCount: 1 }), 'm.json')).toThrow(/part 0 'ffe'.*1 fixed layers, but 2 layer entries/);
    expect(() => parseManifest(withPart({ kind: 'dsp' }), 'm.json')).toThrow(/invalid manifest: parts.0.kind/);
    expect(() => parseManifest(JSON.stringify({ ...data, top: 7 }), 'm.json')).toThrow(/invalid manifest: top/);
    expect(() => parseManifest(JSON.stringify({ ...data, parts: [part, part] }), 'm.json')).toThrow(/two parts share a name/);
    const top = data.top as { output: { channels: number } };
    expect(() => parseManifest(JSON.stringify({ ...data, top: { ...top, output: { ...top.output, channels: 5 } } }), 'm.json')).toThrow(/the top's output is 5x.*part 'ffe''s output is 2x/);
  });

  it('refuses a manifest of the previous format (fixynn-ffe-design version 1), naming both versions', () => {
    // The head of a real version-1 manifest, as fixynn wrote them before designs had parts.
    const v1 = JSON.stringify({ format: 'fixynn-ffe-design', version: 1, top: 'fixynn_ffe', layers: [], fixedLayerCount: 1 });
    expect(() => parseManifest(v1, 'old/manifest.json')).toThrow(/old\/manifest.json: manifest format fixynn-ffe-design version 1 .* reads fixynn-design version 4; regenerate the design/);
  });

  it('notices a missing file of the design', () => {
    writeFileSync(path.join(work, 'x'), '');
    const { manifest } = readDesign(design);
    const files = Object.keys(manifest.files);
    expect(files).toContain('tb/ffe_tb.v');
    const tb = path.join(design, 'tb/ffe_tb.v');
    const saved = readFileSync(tb);
    unlinkSync(tb);
    try {
      expect(() => readDesign(design)).toThrow(/tb\/ffe_tb.v is missing/);
    } finally {
      writeFileSync(tb, saved);
    }
    expect(() => readDesign(path.join(work, 'x'))).toThrow(/not a folder/);
    expect(() => readDesign(work)).toThrow(/no manifest.json/);
  });
});

describe('stream beats', () => {
  it('pack and unpack are inverse for any channel count, width and signedness', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 16 }), fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (channels, bits, signed, pixels, seed) => {
        const lo = signed ? -(2 ** (bits - 1)) : 0;
        const span = 2 ** bits;
        const values = Int32Array.from({ length: channels * pixels }, (_, i) => lo + ((seed + i * 2654435761) >>> 0) % span);
        const format = { channels, height: 1, width: pixels, type: { bits, signed } };
        const beats = packFrame(values, format);
        const back = beats.map((b) => unpackBeat(b, format) as number[]);
        for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) expect(back[p]?.[c]).toBe(values[c * pixels + p]);
      },
    ));
    expect(unpackBeat('1x', { channels: 1, height: 1, width: 1, type: { bits: 8, signed: false } })).toBeNull();
  });
});
