/// <reference types="@webgpu/types" preserve="true" />
/**
 * The host in a browser page (or a web worker): kernels fetched, compute threads as module web
 * workers when the page is cross-origin isolated (COOP/COEP; one thread otherwise), WebGPU from
 * `navigator.gpu`, no files (checkpoints come from `fetch`/`File` bytes and leave as downloads).
 */
import type { ComputeWorker, Host, PrivateRealm, ReadableFile, WorkerStart } from './types.ts';

/** The parts of the DOM's Worker used here (the package compiles without the DOM library). */
interface WebWorker {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
  postMessage(data: unknown): void;
  terminate(): void;
}
type WorkerClass = new (url: URL, options: { type: 'module'; name: string }) => WebWorker;

const loaded = new Map<string, Uint8Array>();
let base: URL | null = null;

const KERNEL_FILES = ['kernels.wasm', 'kernels-fma.wasm'];

function isolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

function noFiles(what: string): never {
  throw new Error(`${what} needs a file system, which a browser page does not have: read bytes from fetch()/File and pass them to the *FromBytes functions, and save with the *ToBytes ones`);
}

function kernelBase(given?: string | URL): URL {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  if (given !== undefined) return new URL(String(given).endsWith('/') ? String(given) : `${String(given)}/`, here);
  return new URL('../../wasm/', import.meta.url);
}

export const host: Host = {
  name: 'browser',
  canBlock: !('document' in globalThis),
  asyncWorkers: true,
  cpuCount: () => (isolated() ? Math.max(1, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1) : 1),
  wasmBytes: (name) => loaded.get(name) ?? null,
  async prepare(given) {
    const at = kernelBase(given);
    if (base !== null && base.href === at.href && loaded.size === KERNEL_FILES.length) return;
    base = at;
    await Promise.all(KERNEL_FILES.map(async (name) => {
      const url = new URL(name, at);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`the WebAssembly kernels: fetching ${url.href} gave HTTP ${res.status}`);
      loaded.set(name, new Uint8Array(await res.arrayBuffer()));
    }));
  },
  startWorker(data: WorkerStart): ComputeWorker {
    const Worker = (globalThis as { Worker?: WorkerClass }).Worker;
    if (Worker === undefined) throw new Error('this page has no Worker: compute threads cannot start');
    const worker = new Worker(new URL('worker-browser.mjs', base ?? kernelBase()), { type: 'module', name: `llmts-compute-${data.tid}` });
    const ready = new Promise<void>((resolve, reject) => {
      worker.onmessage = (e) => {
        if (e.data === 'ready') resolve();
        else reject(new Error(`compute thread ${data.tid}: ${String(e.data)}`));
      };
      worker.onerror = (e) => reject(new Error(`compute thread ${data.tid} failed to start: ${e.message || 'worker-browser.mjs could not be loaded'}`));
    });
    worker.postMessage(data);
    return { ready, terminate: () => worker.terminate() };
  },
  engineFlag: () => {},
  privateRealm: (): PrivateRealm | null => null,
  async gpu() {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (gpu === undefined) throw new Error('this browser has no WebGPU (navigator.gpu is missing; a secure context, https or localhost, is needed too)');
    return gpu;
  },
  quietNative: (fn) => fn(),
  openRead: (path): ReadableFile => noFiles(`reading '${path}'`),
  writeFileAtomic: (path) => noFiles(`writing '${path}'`),
  syncDir: () => {},
  processAlive: () => false,
};
