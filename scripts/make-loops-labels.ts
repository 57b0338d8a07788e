/**
 * Writes examples/chip/loops-labels.npy: the second task's labels (closed loops of each digit, as
 * scripts/train-chip-head.py trains them) for the bundled MNIST test digits in their bundled order, so that
 * `fixynn verify CHIP --program PROG --labels examples/chip/loops-labels.npy` reports top-1 on that task.
 */
import { loadInputs } from '../generator/data/index.js';
import { writeNpy } from '../generator/data/npy.js';
const LOOPS = [1, 0, 0, 0, 1, 0, 1, 0, 2, 1];
const d = loadInputs(undefined, [1, 28, 28], { count: 1000 });
const labels = Int32Array.from(d.labels!, (l) => LOOPS[l]!);
writeNpy(new URL('../examples/chip/loops-labels.npy', import.meta.url).pathname, labels, [labels.length]);
console.log(d.source, labels.length, Array.from(d.labels!.slice(0, 12)), Array.from(labels.slice(0, 12)));
