import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_MODEL, measureExampleAccuracy } from '../../examples/mnist-mobilenet/accuracy.js';

/** The accuracy the example's README states, e.g. "Float top-1 accuracy on the 1,000 test digits: 98.40%". */
function readmeAccuracy(): number {
  const readme = readFileSync(path.join(path.dirname(EXAMPLE_MODEL), 'README.md'), 'utf8');
  const match = /Float top-1 accuracy on the 1,000 test digits: ([\d.]+)%/.exec(readme);
  if (!match) throw new Error('examples/mnist-mobilenet/README.md does not state the float test accuracy');
  return Number(match[1]);
}

describe('the example model (examples/mnist-mobilenet/model.onnx)', () => {
  it('has the float test accuracy its README states (ONNX Runtime, 1,000 test digits), within 0.1 points', async () => {
    const measured = await measureExampleAccuracy();
    expect(measured.total).toBe(1000);
    expect(Math.abs(measured.accuracy - readmeAccuracy())).toBeLessThanOrEqual(0.1);
    expect(measured.accuracy).toBeGreaterThanOrEqual(97);
  });

  it('the Softmax variant ranks the classes identically', async () => {
    const plain = await measureExampleAccuracy();
    const softmax = await measureExampleAccuracy(path.join(path.dirname(EXAMPLE_MODEL), 'model-softmax.onnx'));
    expect(softmax.correct).toBe(plain.correct);
  });

  it('stays well under 1 MB', () => {
    expect(readFileSync(EXAMPLE_MODEL).length).toBeLessThan(100_000);
  });
});
