// A compute thread of the CPU backend. It shares the kernels' WebAssembly memory with the main
// thread, sleeps on a futex in that memory, runs its share of each task, and reports done.
// Plain JavaScript so it starts under any loader.
import { workerData } from 'node:worker_threads';

const { module, memory, ctrlPtr, tid, generation } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm abort'); } } });
const ctrl = new Int32Array(memory.buffer, ctrlPtr, 16);
const args = new Float64Array(memory.buffer, ctrlPtr + 64, 24);
const names = Object.keys(instance.exports).filter((k) => typeof instance.exports[k] === 'function').sort();

// start from the generation the pool had when this worker was made: a task posted while the
// worker was still booting is then picked up at once instead of being missed
let seen = generation;
// Kernels come in bursts (a training step issues hundreds): after a task, poll for the next one
// for a short while before sleeping, since a futex wake-up costs tens of microseconds.
const SPIN = 20000;
for (;;) {
  let gen = Atomics.load(ctrl, 0);
  for (let i = 0; gen === seen && i < SPIN; i++) gen = Atomics.load(ctrl, 0);
  if (gen === seen) {
    Atomics.wait(ctrl, 0, seen);
    gen = Atomics.load(ctrl, 0);
    if (gen === seen) continue;
  }
  seen = gen;
  if (Atomics.load(ctrl, 2) < 0) break;
  const nt = Atomics.load(ctrl, 4);
  if (tid < nt) {
    const fn = instance.exports[names[Atomics.load(ctrl, 2)]];
    const n = Atomics.load(ctrl, 3);
    try {
      fn(...Array.from(args.subarray(0, n)), tid, nt);
    } catch (e) {
      Atomics.store(ctrl, 5, 1);
    }
    if (Atomics.sub(ctrl, 1, 1) === 1) Atomics.notify(ctrl, 1);
  }
}
