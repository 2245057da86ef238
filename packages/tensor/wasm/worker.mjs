// A compute thread of the CPU backend in Node (worker_threads): the kernels on the shared memory,
// then the loop of compute-loop.mjs. Plain JavaScript so it starts under any loader.
import { workerData } from 'node:worker_threads';
import { instantiate, serveTasks } from './compute-loop.mjs';

serveTasks(instantiate(workerData.module, workerData.memory), workerData);
