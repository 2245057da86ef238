// A compute thread of the CPU backend in a browser page (a module web worker): started by a
// message instead of workerData, it says 'ready' once it listens, then runs the loop of
// compute-loop.mjs. Plain JavaScript so a page can load it as it is.
import { instantiate, serveTasks } from './compute-loop.mjs';

self.onmessage = (e) => {
  self.onmessage = null;
  let instance;
  try {
    instance = instantiate(e.data.module, e.data.memory);
  } catch (err) {
    self.postMessage(`could not instantiate the kernels: ${err.message}`);
    return;
  }
  self.postMessage('ready');
  serveTasks(instance, e.data);
};
