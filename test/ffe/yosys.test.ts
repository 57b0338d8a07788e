/**
 * Yosys reads the generated RTL, infers every line buffer and FIFO as a memory (one $mem cell each, not
 * flip-flops), and completes `synth` on a small fixed network with every unit kind.
 */
import { describe, expect, it } from 'vitest';
import { emitDesign } from '../../generator/emit/index.js';
import { generateFfe } from '../../generator/ffe/index.js';
import { yosysStat } from '../../verify/sim/index.js';
import { residualGraph } from './networks.js';

describe('Yosys on a generated design', () => {
  const design = generateFfe(residualGraph(31, 5, 7, true), { fixedLayers: 5, name: 'ys_res' });
  const emitted = emitDesign(design.top);

  it('infers the line buffers and the skip FIFO as memories', async () => {
    const stat = await yosysStat(emitted.files, emitted.top, `hierarchy -top ${emitted.top}; proc; flatten; opt; memory -nomap; opt_clean`);
    const memories = Object.entries(stat.byType).filter(([type]) => type.startsWith('$mem')).reduce((n, [, k]) => n + k, 0);
    // conv 3x3: 2 rows, depthwise 3x3: 2 rows, the skip FIFO: 1.
    expect(memories).toBe(5);
  }, 300_000);

  it('completes synth -flatten', async () => {
    const stat = await yosysStat(emitted.files, emitted.top);
    expect(stat.cells).toBeGreaterThan(1000);
  }, 300_000);
});
