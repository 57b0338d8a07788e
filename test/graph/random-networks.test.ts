/**
 * Seeded random networks (test/helpers/random-network.ts: dense/depthwise/pointwise convs, kernels
 * 1/3/5, strides 1/2, asymmetric pads, ReLU/ReLU6, pools, residual Add, GAP+Gemm heads; a second set with
 * dilated convs): each imports,
 * passes the checkers after every pass, and executed in float computes what ONNX Runtime computes.
 * 40 networks per set (npm test), 300 (full).
 */
import { describe, expect, it } from 'vitest';
import { splitPoints } from '../../generator/graph/split.js';
import { randomNetwork } from '../helpers/random-network.js';
import { expectSameAsOrt, importBuilt } from './helpers.js';
import { count } from '../helpers/env.js';

const COUNT = count('GRAPH_NETWORKS', 300, 40);

describe('random networks: import preserves what the model computes', () => {
  it.each([false, true])(`${COUNT} seeded networks equal ONNX Runtime in float (dilated convs: %s)`, async (dilated) => {
    let worst = 0;
    for (let seed = 1; seed <= COUNT; seed++) {
      const net = randomNetwork({ seed, dilated });
      const graph = importBuilt(net.builder, `random${seed}.onnx`);
      try {
        worst = Math.max(worst, await expectSameAsOrt(net.builder, graph, seed));
      } catch (err) {
        throw new Error(`seed ${seed}:\n  ${net.description.join('\n  ')}\n${String(err)}`);
      }
      // The whole network is always a valid split, and so is "nothing fixed".
      const ks = splitPoints(graph).map((p) => p.k);
      expect(ks).toContain(0);
      expect(ks).toContain(graph.layers.length);
    }
    console.info(`random networks${dilated ? ' (dilated)' : ''}: ${COUNT} imported, largest difference to ONNX Runtime ${worst.toExponential(2)}`);
  });
});
