/** Single conv layer cases shared by the evaluator and the simulator tests. */
import type { BlockStrategy } from '../../generator/arith/cmvm-block.js';
import type { ConvChoice } from './random-graphs.js';

export interface ConvCase extends ConvChoice {
  readonly label: string;
  readonly height: number;
  readonly width: number;
  readonly strategy: BlockStrategy;
  /** --pipeline N (credit flow control); absent: 0. */
  readonly pipeline?: number;
}

export const CONV_CASES: readonly ConvCase[] = [
  { label: 'dense 3x3 s1 pad 1', inChannels: 2, outChannels: 3, group: 1, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], height: 5, width: 7, strategy: 'shared' },
  { label: 'depthwise 3x3 s2 TF pads', inChannels: 3, outChannels: 3, group: 3, kernel: [3, 3], stride: [2, 2], pads: [0, 0, 1, 1], height: 7, width: 6, strategy: 'csd' },
  { label: 'dense 5x5 s1 asymmetric pads', inChannels: 1, outChannels: 2, group: 1, kernel: [5, 5], stride: [1, 1], pads: [2, 1, 1, 2], height: 6, width: 9, strategy: 'multiply' },
  { label: 'pointwise 1x1', inChannels: 4, outChannels: 3, group: 1, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], height: 3, width: 5, strategy: 'shared' },
  { label: 'dense 3x3 s2 pad 1', inChannels: 2, outChannels: 2, group: 1, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], height: 7, width: 5, strategy: 'csd' },
  { label: 'dense 3x3 no pad', inChannels: 2, outChannels: 2, group: 1, kernel: [3, 3], stride: [1, 1], pads: [0, 0, 0, 0], height: 5, width: 4, strategy: 'shared' },
  { label: 'grouped 3x1 s(2,1) pads (1,0,0,0)', inChannels: 4, outChannels: 2, group: 2, kernel: [3, 1], stride: [2, 1], pads: [1, 0, 0, 0], height: 9, width: 3, strategy: 'shared' },
  { label: 'depthwise 5x5 s2 pads (2,2,2,2)', inChannels: 2, outChannels: 2, group: 2, kernel: [5, 5], stride: [2, 2], pads: [2, 2, 2, 2], height: 9, width: 7, strategy: 'multiply' },
  { label: 'dense 1x3 s(1,2) pads (0,1,0,1)', inChannels: 3, outChannels: 2, group: 1, kernel: [1, 3], stride: [1, 2], pads: [0, 1, 0, 1], height: 4, width: 11, strategy: 'csd' },
  { label: 'dense 3x3 s1 pad 1, 4-bit activations, 3-bit weights', inChannels: 3, outChannels: 2, group: 1, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], height: 4, width: 5, strategy: 'shared', actBits: 4, weightBits: 3 },
  { label: 'depthwise 3x3 s1, 12-bit activations, 12-bit weights', inChannels: 2, outChannels: 2, group: 2, kernel: [3, 3], stride: [1, 1], pads: [0, 1, 1, 0], height: 5, width: 4, strategy: 'csd', actBits: 12, weightBits: 12 },
  { label: 'dense 3x3 s1 pad 1, pipelined', inChannels: 3, outChannels: 4, group: 1, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], height: 5, width: 6, strategy: 'shared', pipeline: 2 },
  { label: 'depthwise 3x3 s2 pad 1, pipelined', inChannels: 2, outChannels: 2, group: 2, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], height: 7, width: 7, strategy: 'multiply', pipeline: 1 },
  // Dilated: taps d pixels apart, the window spans (k-1)*d+1 (SAME padding of a dilated 3x3 is d per side).
  { label: 'dense 3x3 dilation 2 SAME pads', inChannels: 2, outChannels: 3, group: 1, kernel: [3, 3], stride: [1, 1], dilation: [2, 2], pads: [2, 2, 2, 2], height: 7, width: 8, strategy: 'shared' },
  { label: 'depthwise 3x2 dilation (3,2) s2 asymmetric pads', inChannels: 3, outChannels: 3, group: 3, kernel: [3, 2], stride: [2, 2], dilation: [3, 2], pads: [1, 0, 4, 1], height: 9, width: 7, strategy: 'csd' },
  { label: 'dense 2x2 dilation (1,3) on a 6x2 map, pipelined', inChannels: 2, outChannels: 2, group: 1, kernel: [2, 2], stride: [1, 1], dilation: [1, 3], pads: [0, 1, 1, 2], height: 6, width: 2, strategy: 'multiply', pipeline: 2 },
];
