/** The float passes, in order, from the op graph straight out of shape inference to layer grouping. */
import type { Pass } from '../pass.js';
import type { OpGraph } from '../op-graph.js';
import { dropDeadNodes } from './drop-dead-nodes.js';
import { dropForwarders } from './drop-forwarders.js';
import { foldBatchNorm } from './fold-batch-norm.js';
import { foldPad } from './fold-pad.js';
import { foldQdqPairs } from './fold-qdq.js';
import { recognizePreprocess } from './preprocess.js';
import { leaveSoftmaxOutside } from './softmax-outside.js';

export const opGraphPasses: ReadonlyArray<{ readonly name: string; readonly run: Pass<OpGraph, OpGraph> }> = [
  { name: 'dropDeadNodes', run: dropDeadNodes },
  { name: 'dropForwarders', run: dropForwarders },
  { name: 'foldQdqPairs', run: foldQdqPairs },
  { name: 'recognizePreprocess', run: recognizePreprocess },
  { name: 'foldBatchNorm', run: foldBatchNorm },
  { name: 'foldPad', run: foldPad },
  { name: 'leaveSoftmaxOutside', run: leaveSoftmaxOutside },
];
