/**
 * The streaming window's position arithmetic (generator/ffe/geometry.ts), checked exhaustively on random
 * shapes: every output is carried by its own beat; that beat comes no earlier than the output's last
 * real pixel (causality); and the window slot (i, j), read (kh-1-i) rows and (kw-1-j) columns back in
 * the stream, holds exactly the pixel the output needs whenever that pixel is inside the image (the
 * rest is masked) — the argument the line buffer relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { windowGeometry } from '../../generator/ffe/geometry.js';
import { generateFfe } from '../../generator/ffe/index.js';
import { randomConvGraph } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';

const shapes = fc
  .record({ h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), kh: fc.constantFrom(1, 2, 3, 5), kw: fc.constantFrom(1, 2, 3, 5), sy: fc.constantFrom(1, 2), sx: fc.constantFrom(1, 2), a: fc.nat(4), b: fc.nat(4), c: fc.nat(4), d: fc.nat(4) })
  .map((r) => {
    const pt = r.a % r.kh;
    const pl = r.b % r.kw;
    return { ...r, pads: [pt, pl, r.c % (r.kh - pt), r.d % (r.kw - pl)] as [number, number, number, number] };
  })
  .filter((r) => r.h + r.pads[0] + r.pads[2] >= r.kh && r.w + r.pads[1] + r.pads[3] >= r.kw);

describe('window geometry', () => {
  it('one beat per output, causal, and every in-image window slot is the right stream position', () => {
    fc.assert(
      fc.property(shapes, (r) => {
        const g = windowGeometry({ height: r.h, width: r.w, kernel: [r.kh, r.kw], stride: [r.sy, r.sx], pads: r.pads }, 'test');
        const carriers = new Set<number>();
        for (let oy = 0; oy < g.outHeight; oy++) {
          for (let ox = 0; ox < g.outWidth; ox++) {
            const p = oy * r.sy * r.w + ox * r.sx + g.lag; // stream position (may run into later frames)
            expect(carriers.has(p)).toBe(false);
            carriers.add(p);
            let lastReal = -1;
            for (let i = 0; i < r.kh; i++) {
              for (let j = 0; j < r.kw; j++) {
                const y = oy * r.sy - r.pads[0] + i;
                const x = ox * r.sx - r.pads[1] + j;
                if (y < 0 || y >= r.h || x < 0 || x >= r.w) continue;
                expect(p - (r.kh - 1 - i) * r.w - (r.kw - 1 - j)).toBe(y * r.w + x);
                lastReal = Math.max(lastReal, y * r.w + x);
              }
            }
            expect(p).toBeGreaterThanOrEqual(lastReal);
          }
        }
        // The tail: beats needed after the frame's last pixel until the last output is carried.
        expect(g.tailBeats).toBe(Math.max(0, Math.max(...carriers) - (r.h * r.w - 1)));
      }),
      { numRuns: 300 },
    );
  });

  it('generateFfe names the file and the layer of a shape it cannot stream', () => {
    const graph = randomConvGraph(seededRandom(3), { inChannels: 1, outChannels: 1, group: 1, kernel: [3, 3], stride: [1, 1], pads: [2, 0, 1, 0], height: 5, width: 5 });
    expect(() => generateFfe(graph, { fixedLayers: 1 })).toThrow(/^random\.onnx: layer 0 'conv0': pads \[2, 0, 1, 0\]/);
  });

  it('refuses padding beyond kernel - 1 per axis with a clear message', () => {
    expect(() => windowGeometry({ height: 5, width: 5, kernel: [3, 3], stride: [1, 1], pads: [2, 0, 1, 0] }, 'layer 3')).toThrow(/layer 3: pads \[2, 0, 1, 0\].*top \+ bottom <= 2/);
  });
});
