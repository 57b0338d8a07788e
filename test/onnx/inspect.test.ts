/** `fixynn inspect`: the table (golden text), --json, --dump-after. */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../generator/cli.js';
import type { InspectReport } from '../../generator/commands/inspect.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { captureStdout } from '../helpers/capture-stdout.js';

const dir = mkdtempSync(join(tmpdir(), 'fixynn-inspect-'));
const stdout = captureStdout();

/** Normalization, conv+relu6, depthwise, residual add, maxpool, gap, flatten, gemm, softmax. */
function smallNet(): string {
  const b = new OnnxBuilder();
  b.input('image', ['N', 1, 6, 6]);
  b.floats('mean', [0.5], []);
  b.node('Sub', ['image', 'mean'], ['centered'], {}, 'normalize');
  b.initializer('w0', randomFloats(4 * 9, 51), [4, 1, 3, 3]);
  b.node('Conv', ['centered', 'w0'], ['c0'], { pads: [1, 1, 1, 1] }, 'stem');
  b.floats('lo', [0], []);
  b.floats('hi', [6], []);
  b.node('Clip', ['c0', 'lo', 'hi'], ['r0'], {}, 'stem_relu6');
  b.initializer('w1', Float32Array.from(randomFloats(4 * 9, 52), (v, i) => (i % 3 === 0 ? 0 : v)), [4, 1, 3, 3]);
  b.node('Conv', ['r0', 'w1'], ['c1'], { group: 4, pads: [1, 1, 1, 1] }, 'dw');
  b.node('Add', ['c1', 'r0'], ['sum'], {}, 'skip');
  b.node('MaxPool', ['sum'], ['pool'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  b.node('GlobalAveragePool', ['pool'], ['gap'], {}, 'gap');
  b.node('Flatten', ['gap'], ['flat'], {}, 'flatten');
  b.initializer('wf', randomFloats(3 * 4, 53), [3, 4]);
  b.floats('bf', [0, 0, 0]);
  b.node('Gemm', ['flat', 'wf', 'bf'], ['scores'], { transB: 1 }, 'classifier');
  b.node('Softmax', ['scores'], ['probs'], { axis: 1 }, 'softmax');
  b.output('probs', ['N', 3]);
  return b.save(join(dir, 'small.onnx'));
}

describe('fixynn inspect', () => {
  const model = smallNet();

  it('prints one row per layer, totals and the valid split points', async () => {
    expect(await main(['node', 'fixynn', 'inspect', model])).toBe(0);
    expect(stdout()).toMatchInlineSnapshot(`
      "small.onnx: 6 layers, input image [1,6,6], output scores [3,1,1] (model output "probs")
      input preprocessing found in the model: x * [1] + [-0.5] per channel
      the final Softmax stays outside the hardware: the chip returns the scores before it

      #  name        op                      input          output  params  nonzero  MACs
      0  stem        conv 3x3/1x1+clip(0,6)  1x6x6          4x6x6       40       36  1296
      1  dw          dwconv 3x3/1x1          4x6x6          4x6x6       40       24  1296
      2  skip        add                     4x6x6 + 4x6x6  4x6x6        0        0     0
      3  pool        maxpool 2x2/2x2         4x6x6          4x3x3        0        0     0
      4  gap         globalavgpool           4x3x3          4x1x1        0        0     0
      5  classifier  gemm                    4x1x1          3x1x1       15       12    12
         total                                                          95       72  2604

      valid split points (--fixed-layers K): 1, 3, 4, 5, 6
      (and 0: K = 0 fixes no layer: the whole network runs on the programmable accelerator, so it needs --accel RxC (e.g. --accel 8x8); a fixed feature extractor alone needs at least one layer)
      "
    `);
  });

  it('--json gives the same figures', async () => {
    expect(await main(['node', 'fixynn', 'inspect', model, '--json'])).toBe(0);
    const report = JSON.parse(stdout()) as InspectReport;
    expect(report.layers.map((l) => l.op)).toEqual(['conv 3x3/1x1+clip(0,6)', 'dwconv 3x3/1x1', 'add', 'maxpool 2x2/2x2', 'globalavgpool', 'gemm']);
    expect(report.layers[1]).toMatchObject({ parameters: 40, nonzeroWeights: 24, macs: 36 * 36 });
    expect(report.totals).toEqual({ parameters: 40 + 40 + 15, nonzeroWeights: 36 + 24 + 12, macs: 36 * 36 * 2 + 12 });
    expect(report.splitPoints.map((p) => p.k)).toEqual([0, 1, 3, 4, 5, 6]);
    expect(report).toMatchObject({ softmaxOutside: true, modelOutput: 'probs', output: { name: 'scores', shape: [3, 1, 1] } });
  });

  it('--dump-after writes the op graph after each pass and the layer graph', async () => {
    const dump = join(dir, 'dump');
    expect(await main(['node', 'fixynn', 'inspect', model, '--dump-after', dump])).toBe(0);
    expect(readdirSync(dump).sort()).toEqual([
      '00-buildOpGraph.txt', '01-dropDeadNodes.txt', '02-dropForwarders.txt', '03-foldQdqPairs.txt', '04-recognizePreprocess.txt',
      '05-foldBatchNorm.txt', '06-foldPad.txt', '07-leaveSoftmaxOutside.txt', '08-layers.txt',
    ]);
    expect(readFileSync(join(dump, '00-buildOpGraph.txt'), 'utf8')).toContain('Flatten "flatten": gap[1,4,1,1] -> flat[1,4]');
    expect(readFileSync(join(dump, '02-dropForwarders.txt'), 'utf8')).not.toContain('Flatten');
    expect(readFileSync(join(dump, '08-layers.txt'), 'utf8')).toContain('layer 5 gemm "classifier"');
    expect(existsSync(join(dump, '09-layers.txt'))).toBe(false);
  });
});
