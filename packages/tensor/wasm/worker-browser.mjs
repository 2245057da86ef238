// A compute thread of the CPU backend in a browser page (a module web worker): the same loop as
// worker.mjs, started by a message instead of workerData, and saying 'ready' once it listens.
// Plain JavaScript so a page can load it as it is.
self.onmessage = (e) => {
  self.onmessage = null;
  let instance;
  try {
    instance = new WebAssembly.Instance(e.data.module, { env: { memory: e.data.memory, abort() { throw new Error('wasm abort'); } } });
  } catch (err) {
    self.postMessage(`could not instantiate the kernels: ${err.message}`);
    return;
  }
  self.postMessage('ready');
  serve(instance, e.data);
};

function serve(instance, { memory, ctrlPtr, tid, generation }) {
  const ctrl = new Int32Array(memory.buffer, ctrlPtr, 16);
  const args = new Float64Array(memory.buffer, ctrlPtr + 64, 24);
  const names = Object.keys(instance.exports).filter((k) => typeof instance.exports[k] === 'function').sort();
  let seen = generation;
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
      } catch {
        Atomics.store(ctrl, 5, 1);
      }
      if (Atomics.sub(ctrl, 1, 1) === 1) Atomics.notify(ctrl, 1);
    }
  }
}
