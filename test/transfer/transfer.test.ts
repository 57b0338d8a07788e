/**
 * The transfer experiment's committed files (issue 15; scripts/transfer/, docs/transfer.md), without torch:
 *  - every target's test set loads: uint8 [N,1,28,28], N >= 1,000, labels 0..classes-1, ordered round-robin
 *    over the classes (so any prefix is balanced); the chip's calibration set likewise;
 *  - the committed heads (examples/transfer/heads/TASK-kK.onnx, trained on the backbone's first K layers
 *    frozen) import and run in fixynn's integer model, well above chance on their own test images;
 *  - the head's fixed part quantizes bit-identically to the backbone's (same calibration set): the
 *    integer weights, biases, requantization and activation scales of layers 0..K-1 are the chip's.
 * npm test: two heads on 100 images each; FIXYNN_FULL=1: every head on its whole test set.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadInputs, readNpy } from '../../generator/data/index.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';

const FULL = process.env['FIXYNN_FULL'] === '1';
const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/transfer');
const CALIB = path.join(DIR, 'calib.npy');
const BACKBONE = path.join(DIR, 'backbone.onnx');
/** Classes per target (scripts/transfer/make-data.py). */
const TARGETS: Record<string, number> = { mnist: 10, letters: 26, 'uci-digits': 10, shapes: 10, photos: 10 };
const QUICK_HEADS = ['mnist', 'photos'];
const QUICK_IMAGES = 100;

function testSet(task: string): { x: string; y: string } {
  return { x: path.join(DIR, 'data', task, 'test-x.npy'), y: path.join(DIR, 'data', task, 'test-y.npy') };
}

describe('transfer data sets (examples/transfer/data)', () => {
  for (const [task, classes] of Object.entries(TARGETS)) {
    it(`${task}: uint8 [N,1,28,28] with N >= 1,000, ${classes} classes round-robin`, () => {
      const x = readNpy(testSet(task).x);
      const y = readNpy(testSet(task).y);
      expect(x.dtype).toBe('u1');
      expect(x.shape.slice(1)).toEqual([1, 28, 28]);
      const n = x.shape[0] ?? 0;
      expect(n).toBeGreaterThanOrEqual(1000);
      expect(y.shape).toEqual([n]);
      const labels = Array.from(y.data, Number);
      const counts = new Array<number>(classes).fill(0);
      for (const label of labels) {
        expect(Number.isInteger(label) && label >= 0 && label < classes, `label ${label}`).toBe(true);
        counts[label] = (counts[label] ?? 0) + 1;
      }
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(Math.floor(n / classes / 2));
      // Round-robin: the first `classes` labels are 0, 1, ..., classes-1.
      expect(labels.slice(0, classes)).toEqual(Array.from({ length: classes }, (_, i) => i));
      // Not blank: images carry ink.
      const pixels = x.data as Uint8Array;
      expect(pixels.reduce((s, v) => s + v, 0) / pixels.length).toBeGreaterThan(10);
    });
  }

  it('the chip calibration set: uint8 [192,1,28,28]', () => {
    const calib = readNpy(CALIB);
    expect(calib.dtype).toBe('u1');
    expect(calib.shape).toEqual([192, 1, 28, 28]);
  });
});

/** The committed heads: TASK-kK.onnx. */
function heads(): Array<{ task: string; k: number; file: string }> {
  const folder = path.join(DIR, 'heads');
  if (!existsSync(folder)) return [];
  return readdirSync(folder).flatMap((name) => {
    const match = /^(.+)-k(\d+)\.onnx$/.exec(name);
    return match?.[1] && match[2] ? [{ task: match[1], k: Number(match[2]), file: path.join(folder, name) }] : [];
  }).sort((a, b) => a.task.localeCompare(b.task));
}

/** The fixed part of a quantized graph: layers 0..K-1 and their activations, without names' sources. */
function fixedPart(q: QuantizedGraph, k: number): unknown {
  const layers = q.layers.slice(0, k);
  return {
    input: q.input,
    layers,
    tensors: [q.input.tensor, ...layers.map((l) => l.output)].map((name) => q.tensors[name]),
  };
}

describe('committed heads (examples/transfer/heads) in the integer model', () => {
  const all = heads();
  it('one head per target, all at the same K', () => {
    expect(all.map((h) => h.task).sort()).toEqual(Object.keys(TARGETS).sort());
    expect(new Set(all.map((h) => h.k)).size).toBe(1);
  });

  // The chip's fixed part: the backbone calibrated once on the chip's calibration set, shared by the heads.
  let chip: Promise<{ calib: Float32Array[]; backbone: QuantizedGraph }> | undefined;
  const chipOnce = () => (chip ??= (async () => {
    const calib = loadInputs(CALIB, [1, 28, 28]).images;
    const onnx = readOnnxFile(BACKBONE);
    return { calib, backbone: await quantizeModel(onnx, importDecoded(onnx), { calibImages: calib }) };
  })());
  for (const head of all.filter((h) => FULL || QUICK_HEADS.includes(h.task))) {
    it(`${head.task} (K = ${head.k}): the chip's fixed part, and above chance on its test images`, async () => {
      const { calib, backbone } = await chipOnce();
      const onnx = readOnnxFile(head.file);
      const graph = importDecoded(onnx);
      const quantized = await quantizeModel(onnx, graph, { calibImages: calib });
      expect(head.k).toBeGreaterThanOrEqual(1);
      expect(quantized.layers.slice(0, head.k).every((l) => l.kind === 'conv')).toBe(true);
      expect(fixedPart(quantized, head.k)).toEqual(fixedPart(backbone, head.k));

      const count = FULL ? undefined : QUICK_IMAGES;
      const data = loadInputs(testSet(head.task).x, graph.input.shape, { labels: testSet(head.task).y, ...(count ? { count } : {}) });
      const report = await evaluate({ onnx, graph, quantized, images: data.images, labels: Array.from(data.labels ?? []) });
      const classes = TARGETS[head.task] ?? 2;
      const integer = report.integerAccuracy ?? 0;
      console.log(`${head.task} head K=${head.k}, ${report.images} images: integer ${(100 * integer).toFixed(1)}%, float ${(100 * (report.floatAccuracy ?? 0)).toFixed(1)}%`);
      expect(integer).toBeGreaterThan(Math.min(0.9, 4 / classes));
    }, 120_000);
  }
});
