/** A worker thread that trains one model version (train-compute.ts) off the service's event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { computeVersion, type TrainInput } from './train-compute.js';

computeVersion(workerData as TrainInput).then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (err: unknown) => parentPort!.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
);
