// The loop of a CPU compute thread, shared by worker.mjs (Node) and worker-browser.mjs (a page):
// sleep on a futex in the shared memory's control block, run this thread's share of each task, and
// report done. Plain JavaScript so it loads as it is in both.

// Kernels come in bursts (a training step issues hundreds): after a task, poll for the next one
// for a short while before sleeping, since a futex wake-up costs tens of microseconds.
const SPIN = 20000;

/**
 * Serve tasks until the pool says stop. `generation` is the pool's when this thread was made: a
 * task posted while the thread was still booting is then picked up at once instead of being missed.
 */
export function serveTasks(instance, { memory, ctrlPtr, tid, generation }) {
  const ctrl = new Int32Array(memory.buffer, ctrlPtr, 16);
  const args = new Float64Array(memory.buffer, ctrlPtr + 64, 24);
  const names = Object.keys(instance.exports).filter((k) => typeof instance.exports[k] === 'function').sort();
  let seen = generation;
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
      } catch {
        Atomics.store(ctrl, 5, 1);
      }
      if (Atomics.sub(ctrl, 1, 1) === 1) Atomics.notify(ctrl, 1);
    }
  }
}

/** The kernels instantiated on the shared memory. */
export function instantiate(module, memory) {
  return new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm abort'); } } });
}
