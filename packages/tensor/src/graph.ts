/**
 * Captured GPU graphs, as CUDA graphs are in PyTorch: run a function once while its GPU work is
 * recorded, then replay that work as many times as needed without running the function again. A
 * replay costs the driver's three calls per dispatch and nothing else on the host: no ops, no
 * autograd, no kernel builders, no pipeline or bind-group lookups, no allocation.
 *
 * What a replay does is what the function did the first time, on the same memory:
 * - Tensors the function read (parameters, inputs made before the capture) are read again where
 *   they are: write new data into them between replays (`copy_`) to feed a step new inputs. A
 *   replay after one of them was disposed or given other memory (`setData`, `loadStateDict`) is
 *   refused: capture again.
 * - Tensors it made are rewritten in place; those it returns are its outputs (`graph.result`).
 *   Its temporaries keep their memory, reserved for the graph until `dispose()`.
 * - Random draws (dropout, `rand`) take fresh keys from the generator at every replay, in the order
 *   the function drew them, so a replay gives what running the function again would.
 * - Numbers fixed on the host are fixed at capture, except where an op says otherwise: the
 *   optimizers' learning rate (`setLr` between replays) and step count follow their state
 *   (`onReplay` is how such state is kept current).
 * - Only GPU work is recorded: CPU kernels, reads and waits inside the function are refused.
 */
import type { Device } from './backend/types.ts';
import { getBackend } from './backend/registry.ts';
import { isCapturing, setCapturing } from './backend/capture.ts';
import { collectTensors, tidy } from './memory.ts';

/** A function's GPU work, captured once and replayed on demand. See `captureGraph`. */
export interface CapturedGraph<T> {
  /** What the function returned: its tensors are rewritten by every replay. */
  readonly result: T;
  /** Kernel launches and GPU dispatches one replay takes. */
  readonly kernels: number;
  readonly dispatches: number;
  /** Run the captured GPU work again (it is queued; read `result` to wait for it). */
  replay(): void;
  /** Give the graph's memory back; its result tensors stay usable as plain tensors. */
  dispose(): void;
}

let hooks: (() => void)[] | null = null;

/**
 * Register `hook` to run before every replay of the graph being captured (nothing happens outside
 * a capture): how host state that a captured op read keeps following the replays, such as an
 * optimizer's step count.
 * @example onReplay(() => { this.stepCount++; })
 */
export function onReplay(hook: () => void): void {
  hooks?.push(hook);
}

/**
 * Run `fn` once on the GPU while recording its GPU work, and return the recording as a graph to
 * replay. `fn` runs inside `tidy` (its temporaries are freed; what it returns is kept). Every
 * tensor it makes and keeps must be in what it returns: a gradient left on a parameter or an
 * optimizer's first-step state would be rewritten in place by each replay instead of made anew,
 * so such a capture is refused with what to do instead.
 * @example
 * trainStep(model, optimizer, () => ({ x, y }), settings).dispose(); // a first step makes the optimizer's state
 * const graph = captureGraph(() => trainStep(model, optimizer, () => ({ x, y }), settings));
 * for (let i = 0; i < steps; i++) {
 *   x.copy_(batchX); y.copy_(batchY);
 *   graph.replay();
 * }
 * console.log(await graph.result.item());
 */
export function captureGraph<T>(fn: () => T, options: { device?: Device } = {}): CapturedGraph<T> {
  const device = options.device ?? 'gpu';
  const backend = getBackend(device);
  if (backend.beginCapture === undefined || backend.endCapture === undefined) {
    throw new Error(`captureGraph: the ${device} backend runs each op as it is called and has nothing to replay; capture on the GPU`);
  }
  if (isCapturing()) throw new Error('captureGraph: a graph is already being captured (captures do not nest)');
  const graphHooks: (() => void)[] = [];
  backend.beginCapture();
  setCapturing(true);
  hooks = graphHooks;
  let result: T;
  try {
    result = tidy(fn);
  } catch (e) {
    backend.abortCapture?.();
    throw e;
  } finally {
    setCapturing(false);
    hooks = null;
  }
  const outputs = [...collectTensors(result, new Set())].map((t) => t.storage);
  const work = backend.endCapture(outputs);
  return {
    result,
    kernels: work.kernels,
    dispatches: work.dispatches,
    replay: () => {
      if (isCapturing()) throw new Error('captureGraph: cannot replay a graph inside a captured function');
      for (const h of graphHooks) h();
      work.replay();
    },
    dispose: () => work.dispose(),
  };
}
