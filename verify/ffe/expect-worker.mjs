// A worker thread of verify/ffe/expect.ts (ExpectPool): runs the integer model on the runs of images it is
// sent and packs their expected beat files (RunPacker), the buffers transferred back. Plain JavaScript that
// registers tsx first, as bin/fixynn.js does: a worker does not inherit the loader of the thread that made it.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { RunPacker } = await import('./expect.ts');

const packer = new RunPacker(workerData.graph, workerData.streams);
parentPort.on('message', ({ id, inputs, spares }) => {
  try {
    const packed = packer.pack(inputs, spares);
    parentPort.postMessage({ id, packed }, packed.filter((p) => p !== null).map((p) => p.buffer));
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
parentPort.postMessage('ready');
