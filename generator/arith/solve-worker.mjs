// A worker thread of solve-pool.ts: solves the matrices it is sent, one at a time. Plain JavaScript that
// registers tsx first, as bin/fixynn.js does: a worker does not inherit the loader of the thread that made it.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { solveCmvm } = await import('./index.ts');
const { FixynnError } = await import('../common/errors.ts');

parentPort.on('message', ({ matrix, inputCount, options }) => {
  const start = performance.now();
  try {
    const graph = solveCmvm(matrix, inputCount, options);
    parentPort.postMessage({ graph, seconds: (performance.now() - start) / 1000 });
  } catch (err) {
    const badInput = err instanceof FixynnError && err.exitCode === 2;
    parentPort.postMessage({ error: err instanceof Error ? err.message : String(err), badInput, seconds: 0 });
  }
});
