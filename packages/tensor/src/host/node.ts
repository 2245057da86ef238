/// <reference types="@webgpu/types" preserve="true" />
/**
 * The host in Node: kernel files read from the package's wasm/ folder, compute threads as
 * worker_threads, V8's flags and synchronous collector, Dawn (the optional `webgpu` package) for
 * WebGPU, and files written atomically.
 */
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { createContext, runInContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { ComputeWorker, Host, PrivateRealm, ReadableFile, WorkerStart } from './types.ts';

const wasmFile = (name: string) => fileURLToPath(new URL(`../../wasm/${name}`, import.meta.url));

/**
 * Write a file so that readers see the old content or the new, never a mix: write a temporary
 * sibling, flush it to disk, rename it over the target, then flush the directory entry.
 */
function writeFileAtomic(path: string, chunks: readonly Uint8Array[] | Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const parts = typeof chunks === 'string' ? [new TextEncoder().encode(chunks)] : chunks instanceof Uint8Array ? [chunks] : chunks;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of parts) {
      let done = 0;
      while (done < part.byteLength) done += fs.writeSync(fd, part, done, part.byteLength - done);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, path);
  syncDir(dirname(path));
}

/** Flush a directory's entries (a rename is durable once its directory is). */
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch {
    // some filesystems refuse fsync on directories; the rename itself is still atomic
  }
}

/** Whether a process with this pid is running (the owner of a lock or of a `*.tmp-<pid>` file). */
function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function openRead(path: string): ReadableFile {
  if (fs.statSync(path).isDirectory()) throw Object.assign(new Error(`${path}: is a directory, expected a file`), { code: 'EISDIR' });
  let fd = fs.openSync(path, 'r');
  return {
    size: fs.fstatSync(fd).size,
    read: (into, position) => fs.readSync(fd, into, 0, into.byteLength, position),
    close: () => {
      if (fd >= 0) fs.closeSync(fd);
      fd = -1;
    },
  };
}

function startWorker(data: WorkerStart): ComputeWorker {
  const w = new Worker(wasmFile('worker.mjs'), { workerData: data });
  w.unref();
  return { ready: Promise.resolve(), terminate: () => void w.terminate() };
}

let webgpu: { create(flags: string[]): GPU } | null = null;

async function gpu(flags: string[]): Promise<GPU> {
  try {
    webgpu ??= (await import('webgpu')) as { create(flags: string[]): GPU };
  } catch (e) {
    const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    throw new Error(missing ? "the optional peer dependency 'webgpu' (Dawn) is not installed: npm install webgpu" : `the webgpu (Dawn) module failed to load: ${(e as Error).message}`);
  }
  return webgpu.create(flags);
}

/** V8's collector from a private context (the flags set at first use), so nothing leaks to globals. */
function privateRealm(): PrivateRealm | null {
  setFlagsFromString('--expose-gc');
  setFlagsFromString('--harmony-weak-refs-with-cleanup-some');
  const context = createContext({});
  return {
    FinalizationRegistry: runInContext('FinalizationRegistry', context) as typeof FinalizationRegistry,
    gc: runInContext('typeof gc === "function" ? gc : null', context) as (() => void) | null,
  };
}

export const host: Host = {
  name: 'node',
  canBlock: true,
  asyncWorkers: false,
  cpuCount: () => availableParallelism(),
  wasmBytes: (name) => fs.readFileSync(wasmFile(name)),
  prepare: async () => {},
  startWorker,
  engineFlag: (flag) => setFlagsFromString(flag),
  privateRealm,
  gpu,
  quietNative: withoutNativeStderr,
  openRead,
  writeFileAtomic,
  syncDir,
  processAlive,
};

/**
 * Run `fn` with file descriptor 2 pointed at /dev/null, so native code's direct writes to stderr
 * vanish. Node has no dup2, so this closes fd 2 and reopens it (the lowest free descriptor), which
 * is only safe where reopening gives an equivalent target, on Linux: a pipe, a character device
 * (terminal, /dev/null), or a regular file that stdout does not share (reopened for appending).
 * A socket (Node's child_process pipes) cannot be reopened, so there `fn` runs untouched.
 */
async function withoutNativeStderr<T>(fn: () => Promise<T>): Promise<T> {
  if (process.platform !== 'linux') return fn();
  let saved = -1;
  try {
    const st = fs.fstatSync(2);
    let flags = 'w';
    if (st.isFile()) {
      const out = fs.fstatSync(1);
      if (out.dev === st.dev && out.ino === st.ino) return await fn(); // 2>&1: the shared offset would be lost
      flags = 'a';
    } else if (!st.isFIFO() && !st.isCharacterDevice()) return await fn();
    saved = fs.openSync('/proc/self/fd/2', flags);
  } catch {
    return fn();
  }
  const pointFd2At = (path: string): boolean => {
    fs.closeSync(2);
    const fd = fs.openSync(path, 'a');
    if (fd === 2) return true;
    fs.closeSync(fd); // another thread took fd 2 in the gap: leave it, stderr stays closed
    return false;
  };
  if (!pointFd2At('/dev/null')) {
    fs.closeSync(saved);
    return fn();
  }
  try {
    return await fn();
  } finally {
    pointFd2At(`/proc/self/fd/${saved}`);
    fs.closeSync(saved);
  }
}
