/// <reference types="@webgpu/types" preserve="true" />
import type { DType, TypedArray } from '../../dtype.ts';
import { isContiguous, numel } from '../../shape.ts';
import { emptyCounters, type Backend, type CapturedWork, type GpuBindingRef, type GpuCaps, type GpuDispatch, type GpuFailure, type GpuKernelContext, type Kernel, type OutputSpec, type Storage, type View, type WorkCounters } from '../types.ts';
import { BufferPool, type BufferRecord } from './pool.ts';
import { CollectionTrigger, registerStorage, unregisterStorage } from '../collector.ts';
import { elementwise, gpuItemSize } from './codegen.ts';
import { fromHalfBits, toHalfBits } from './half.ts';
import type { OpenedDevice } from './device.ts';
import { windowedSource, type WindowedBinding } from './windows.ts';
import { GpuPacing } from './pacing.ts';
import { GraphRecording } from './graph.ts';
import { logDraws, nextDrawKey } from '../../random.ts';

/** A registered check of a validating kernel: its slot and how to word a failure. */
export interface PendingCheck {
  slot: number;
  describe: (f: GpuFailure) => string;
}

/** Checks whose slots were copied out with a read, waiting to be mapped. */
interface CheckReadback {
  staging: GPUBuffer;
  bytes: number;
  checks: PendingCheck[];
}

export interface GpuStorage extends Storage {
  readonly buffer: GPUBuffer;
  readonly bytes: number;
  /** The pool's record of the buffer (its id and size), read by every dispatch that binds it. */
  readonly record: BufferRecord;
}

/** A bind group kept for reuse: the pipeline, params size and buffer ids it was made for. */
interface CachedBindGroup {
  pipeline: number;
  words: number;
  ids: Int32Array;
  group: GPUBindGroup;
}

const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8 /* COPY_DST */;
const READBACK_USAGE = 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */;
const ARENA_BYTES = 1 << 20;
/** Checks that can be in flight between two reads; later ones share the last slot. */
const ERROR_SLOTS = 1024;
interface PipelineEntry {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  id: number;
  code: string;
  /** Bit b set when binding b is written. */
  kinds: number;
  bindings: number;
  /** For a source rewritten to bind oversized buffers in windows: what each binding of it is. */
  windows?: WindowedBinding[];
}

/** Distinct number constants kept on the device (a few dozen in practice). */
const MAX_CONSTANTS = 4096;
/** Hash keys are masked to 30 bits: V8 keeps such numbers unboxed, so map lookups neither allocate nor hash a double. */
const SMALL_INT = 0x3fffffff;
/** Bind groups kept for reuse before the cache starts over. */
const MAX_BIND_GROUPS = 16384;

/**
 * The WebGPU backend: kernels are encoded into one shared command encoder (many dispatches per
 * compute pass) and submitted in batches; only reads and sync() wait on the GPU. Every dispatch's
 * u32 params go into one arena buffer written once per submit.
 */
export class WebGPUBackend implements Backend {
  readonly device = 'gpu' as const;
  readonly gpu: GPUDevice;
  caps: GpuCaps;
  readonly info: OpenedDevice['adapterInfo'];
  readonly software: boolean;
  /** False on Dawn's null backend: nothing runs (see OpenedDevice.executes). */
  readonly executes: boolean;
  private readonly pool: BufferPool;
  private readonly readPool: BufferPool;
  /** Compiled pipelines by a fingerprint of their source (see pipelineFor). */
  private readonly pipelines = new Map<number, PipelineEntry[]>();
  private pipelineCount = 0;
  private readonly dynamicOffset = new Uint32Array(1);
  /**
   * Bind groups by pipeline layout and buffers: a training loop binds the same pooled buffers step
   * after step, so most dispatches reuse one (the params come in through a dynamic offset).
   * Cleared when pooled buffers are destroyed.
   */
  private readonly bindGroups = new Map<number, CachedBindGroup[]>();
  private bindGroupCount = 0;
  /** The pipeline last set in the open compute pass (not set again for the next dispatch). */
  private passPipeline: GPUComputePipeline | null = null;
  /** A dispatch's buffer records (reused from dispatch to dispatch). */
  private readonly bindingRecords: BufferRecord[] = [];
  /** Shared 0-d constants by dtype and value, and the bytes they hold (not counted as live). */
  private readonly constants = new Map<string, GpuStorage>();
  private constantBytes = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly arena = new Uint32Array(ARENA_BYTES / 4);
  private arenaUsed = 0;
  private arenaBuffer: GPUBuffer;
  private readonly stagingToDestroy: GPUBuffer[] = [];
  private firstError: string | null = null;
  /** The largest tensor this device can hold, in bytes (its largest buffer). */
  readonly maxTensorBytes: number;
  /** The device's largest workgroup count per dimension. */
  private readonly maxWorkgroups: number;
  /** The largest buffer bound whole; larger ones are bound in windows (see windows.ts). */
  private bindingLimit: number;
  /** The size of those windows: the binding limit rounded down to the offset alignment. */
  private windowBytes: number;
  /** Rewritten pipelines by binding kinds, windows and source. */
  private readonly windowedPipelines = new Map<string, PipelineEntry>();
  private readonly offsetAlign: number;
  private destroyed = false;
  /** Kernel launches under way (driver time is counted only inside one, as part of the host time). */
  private launching = 0;
  /**
   * The error buffer of validating kernels (4 words per slot; not pooled, so its id, -1, is apart
   * from the pool's) and the checks not yet read back.
   */
  private errorBuffer: BufferRecord | null = null;
  private checks: PendingCheck[] = [];
  /** Check slots copied out before a capture or replay started, read by the next read or sync. */
  private deferredChecks: CheckReadback[] = [];
  /** The graph being captured (commands are recorded as they are encoded), and the draw log it replaced. */
  private recording: GraphRecording | null = null;
  private outerDrawLog: number[] | null = null;
  private readonly trigger = new CollectionTrigger('gpu', () => this.liveBytes());
  private readonly pacing: GpuPacing;
  private work = emptyCounters();

  constructor(opened: OpenedDevice) {
    this.gpu = opened.device;
    this.pacing = new GpuPacing(opened.spinsWhileWaiting);
    this.info = opened.adapterInfo;
    this.software = opened.software;
    this.executes = opened.executes;
    const l = this.gpu.limits;
    this.caps = { f16: opened.features.f16, subgroups: opened.features.subgroups, maxWorkgroupStorage: l.maxComputeWorkgroupStorageSize, maxStorageBuffers: l.maxStorageBuffersPerShaderStage };
    this.maxTensorBytes = l.maxBufferSize;
    this.maxWorkgroups = l.maxComputeWorkgroupsPerDimension;
    this.offsetAlign = l.minStorageBufferOffsetAlignment;
    this.bindingLimit = this.deviceBindingLimit();
    this.windowBytes = this.windowSize(this.bindingLimit);
    this.pool = new BufferPool(this.gpu, STORAGE_USAGE, l.maxBufferSize);
    this.readPool = new BufferPool(this.gpu, READBACK_USAGE, l.maxBufferSize);
    this.arenaBuffer = this.gpu.createBuffer({ size: ARENA_BYTES, usage: 0x80 | 0x8 });
    this.gpu.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      this.firstError ??= message;
    });
  }

  // ---- memory ---------------------------------------------------------------------------------

  alloc(dtype: DType, length: number): Storage {
    const bytes = Math.max(4, Math.ceil((length * gpuItemSize(dtype)) / 4) * 4);
    if (bytes > this.maxTensorBytes) {
      throw new Error(`webgpu: a ${dtype} tensor of ${length} elements (${bytes} bytes) exceeds this device's largest buffer of ${this.maxTensorBytes} bytes`);
    }
    this.trigger.check(bytes);
    const buffer = this.pool.acquire(bytes);
    const storage: GpuStorage = { device: 'gpu', dtype, length, refs: 0, freed: false, buffer, bytes, record: this.pool.recordOf(buffer)! };
    registerStorage(storage, this.releaser(buffer), storage);
    this.recording?.made.push(storage);
    return storage;
  }

  /** What returns a buffer to the pool once its storage is unreachable (it must not capture the storage). */
  private releaser(buffer: GPUBuffer): () => void {
    return () => {
      if (!this.destroyed) this.pool.release(buffer);
    };
  }

  free(storage: Storage): void {
    if (storage.freed) return;
    storage.freed = true;
    unregisterStorage(storage);
    this.pool.release((storage as GpuStorage).buffer);
  }

  liveBytes(): number {
    return this.pool.liveBytes() - this.constantBytes;
  }

  constant(key: string, make: () => Storage): Storage | null {
    const cached = this.constants.get(key);
    if (cached !== undefined) return cached;
    if (this.constants.size >= MAX_CONSTANTS) return null;
    // a constant outlives any graph captured now: shared memory, and its upload is not recorded
    const recording = this.recording;
    this.recording = null;
    let storage: GpuStorage;
    try {
      storage = this.pool.outsideCapture(make) as GpuStorage;
    } finally {
      this.recording = recording;
    }
    storage.refs++; // the cache's own reference: never freed
    unregisterStorage(storage);
    this.constants.set(key, storage);
    this.constantBytes += storage.record.size;
    return storage;
  }

  storageBytes(storage: Storage): number {
    return (storage as GpuStorage).record.size;
  }

  memoryStats() {
    const stats = this.pool.stats();
    return { ...stats, liveBytes: stats.liveBytes - this.constantBytes, peakBytes: stats.peakBytes - this.constantBytes, pipelines: this.pipelineCount };
  }

  resetPeak(): void {
    this.pool.resetPeak();
  }

  counters(): WorkCounters {
    return { ...this.work };
  }

  resetCounters(): void {
    this.work = emptyCounters();
  }

  /** Destroy pooled buffers that no tensor uses. */
  emptyCache(): void {
    this.clearBindGroups();
    this.pool.emptyCache();
    this.readPool.emptyCache();
  }

  upload(dtype: DType, data: TypedArray): Storage {
    const storage = this.alloc(dtype, data.length) as GpuStorage;
    const bytes = hostBytes(dtype, data);
    this.work.uploads++;
    this.work.uploadBytes += bytes.byteLength;
    if (this.pending === 0 && this.recording === null) {
      this.gpu.queue.writeBuffer(storage.buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } else {
      // commands already encoded may still use this (pooled) buffer: order the upload after them
      const staging = this.gpu.createBuffer({ size: Math.ceil(bytes.byteLength / 4) * 4, usage: 0x4 /* COPY_SRC */, mappedAtCreation: true });
      new Uint8Array(staging.getMappedRange()).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      staging.unmap();
      this.endPass();
      this.commandEncoder().copyBufferToBuffer(staging, 0, storage.buffer, 0, staging.size);
      if (this.recording !== null) {
        // a captured upload: every replay copies the same data again
        this.recording.staging.push(staging);
        this.recording.transfer(2, staging, storage.buffer, staging.size);
      } else {
        this.stagingToDestroy.push(staging);
      }
      this.pending++;
    }
    return storage;
  }

  async read(view: View): Promise<TypedArray> {
    this.refuseWhileCapturing('read');
    const n = numel(view.shape);
    if (n === 0) {
      await this.verifyChecks();
      return hostArray(view.dtype, new Uint8Array(0), 0);
    }
    let src = view.storage as GpuStorage;
    let temp: GpuStorage | null = null;
    if (src.freed) throw new Error('read: tensor used after dispose()');
    if (!isContiguous(view.shape, view.strides) || view.offset !== 0) {
      temp = this.alloc(view.dtype, n) as GpuStorage;
      this.exec(contiguousKernel, [view], [{ shape: view.shape, dtype: view.dtype }], null, [temp]);
      src = temp;
    }
    const bytes = Math.ceil((n * gpuItemSize(view.dtype)) / 4) * 4;
    const staging = this.readPool.acquire(bytes);
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src.buffer, 0, staging, 0, bytes);
    this.pending++;
    if (temp !== null) this.free(temp);
    const checks = this.encodeCheckReadback();
    this.flush();
    const pollStart = await this.pacing.beforeWait();
    try {
      await this.pacing.poll(staging.mapAsync(0x1 /* READ */, 0, bytes));
      this.pacing.settled(pollStart, performance.now());
    } catch (e) {
      this.readPool.release(staging);
      throw new Error(`webgpu: readback failed: ${(e as Error).message}${this.firstError ? ` (earlier GPU error: ${this.firstError})` : ''}`);
    }
    const copy = new Uint8Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    this.readPool.release(staging);
    await this.throwIfChecksFailed(checks);
    this.throwIfFailed();
    return hostArray(view.dtype, copy, n);
  }

  /** Reads and waits cannot be part of a captured graph (it only holds GPU work). */
  private refuseWhileCapturing(what: string): void {
    if (this.recording !== null) throw new Error(`captureGraph: ${what}() inside a captured function (a graph holds GPU work only; read its results after capture or replay)`);
  }

  // ---- input checks of GPU kernels ------------------------------------------------------------

  /** Register a validating kernel's check (see GpuKernelContext.check). */
  check(describe: (f: GpuFailure) => string): number {
    if (this.errorBuffer === null) {
      const size = ERROR_SLOTS * 16;
      this.errorBuffer = { id: -1, size, buffer: this.gpu.createBuffer({ size, usage: 0x80 | 0x4 | 0x8 /* STORAGE | COPY_SRC | COPY_DST */ }) };
    }
    const slot = Math.min(this.checks.length, ERROR_SLOTS - 1);
    this.checks.push({ slot, describe });
    this.recording?.checks.push({ slot, describe });
    return slot;
  }

  /**
   * Copy the slots of the checks encoded so far into a staging buffer and clear them, both in the
   * commands about to be submitted (so later checks start from clean slots).
   */
  private encodeCheckReadback(): CheckReadback | null {
    if (this.checks.length === 0 || this.errorBuffer === null) return null;
    const checks = this.checks;
    this.checks = [];
    const bytes = (Math.min(checks.length, ERROR_SLOTS) * 16);
    const staging = this.readPool.acquire(bytes);
    this.endPass();
    const enc = this.commandEncoder();
    enc.copyBufferToBuffer(this.errorBuffer.buffer, 0, staging, 0, bytes);
    enc.clearBuffer(this.errorBuffer.buffer, 0, bytes);
    this.pending += 2;
    return { staging, bytes, checks };
  }

  /**
   * Copy out the checks encoded so far, to be read by the next read or sync (their slots are free
   * again for a capture or replay, whose kernels write the slots they were captured with).
   */
  private deferPendingChecks(): void {
    const pending = this.encodeCheckReadback();
    if (pending !== null) this.deferredChecks.push(pending);
  }

  /**
   * Throw the first failure of these checks and of the deferred ones, as the CPU would have when
   * running the kernel; every readback is mapped and released first.
   */
  private async throwIfChecksFailed(read: CheckReadback | null): Promise<void> {
    const reads = this.deferredChecks;
    this.deferredChecks = [];
    if (read !== null) reads.push(read);
    let failure: Error | null = null;
    for (const r of reads) {
      const f = await this.readChecks(r);
      failure ??= f;
    }
    if (failure !== null) throw failure;
  }

  /** Map one readback of check slots and release it; the first failure among its checks, or null. */
  private async readChecks(read: CheckReadback): Promise<Error | null> {
    await this.pacing.poll(read.staging.mapAsync(0x1, 0, read.bytes));
    const words = new Uint32Array(read.staging.getMappedRange(0, read.bytes).slice(0));
    read.staging.unmap();
    this.readPool.release(read.staging);
    if (!this.executes) return null; // nothing ran: the slots hold whatever the null device gives
    for (const c of read.checks) {
      const code = words[c.slot * 4]!;
      if (code !== 0) return new Error(c.describe({ code, a: words[c.slot * 4 + 1]!, b: words[c.slot * 4 + 2]! }));
    }
    return null;
  }

  /** Submit and check what validating kernels found (used by sync and empty reads). */
  private async verifyChecks(): Promise<void> {
    const checks = this.encodeCheckReadback();
    this.flush();
    await this.throwIfChecksFailed(checks);
  }

  // ---- kernels ------------------------------------------------------------------------------

  exec<A>(kernel: Kernel<A>, inputs: readonly View[], outputs: readonly OutputSpec[], attrs: A, into?: GpuStorage[]): Storage[] {
    if (kernel.gpu === undefined) throw new Error(`${kernel.name}: has no WebGPU kernel yet (ops never fall back to the CPU silently)`);
    for (const v of inputs) {
      if (v.storage.device !== 'gpu') throw new Error(`${kernel.name}: expected GPU tensors, got one on ${v.storage.device}`);
      if (v.storage.freed) throw new Error(`${kernel.name}: an input was used after dispose()`);
    }
    const outs = into ?? outputs.map((o) => this.alloc(o.dtype, numel(o.shape)) as GpuStorage);
    this.runGpu(kernel, inputs, outputs, outs, attrs);
    return outs;
  }

  execInPlace<A>(kernel: Kernel<A>, inputs: readonly View[], targets: readonly Storage[], attrs: A): void {
    if (kernel.gpu === undefined) throw new Error(`${kernel.name}: has no WebGPU kernel yet`);
    this.runGpu(kernel, inputs, targets.map((t) => ({ shape: [t.length], dtype: t.dtype })), targets as GpuStorage[], attrs);
  }

  private runGpu<A>(kernel: Kernel<A>, inputs: readonly View[], specs: readonly OutputSpec[], outs: readonly GpuStorage[], attrs: A): void {
    const t0 = performance.now();
    this.work.kernels++;
    this.launching++;
    try {
      const run = new KernelRun(this, kernel.name, inputs, outs);
      if (this.recording !== null) {
        this.recording.kernels++;
        this.noteBound(this.recording, inputs, outs);
      }
      kernel.gpu!(run, inputs, specs, attrs);
      for (const s of run.scratches) this.free(s);
    } finally {
      this.launching--;
      this.work.hostMs += performance.now() - t0;
    }
  }

  /** Zero-fill an output before a kernel's dispatches add into it. */
  clearBuffer(storage: GpuStorage): void {
    const t = performance.now();
    this.endPass();
    this.commandEncoder().clearBuffer(storage.buffer, 0, storage.bytes);
    this.recording?.transfer(1, null, storage.buffer, storage.bytes);
    this.pending++;
    this.driverTime(t);
  }

  /** Count the time since `t` as spent in the driver's calls, when inside a kernel launch (see WorkCounters.driverMs). */
  private driverTime(t: number): void {
    if (this.launching > 0) this.work.driverMs += performance.now() - t;
  }

  /** The buffer a binding of a kernel refers to. */
  recordFor(name: string, ref: GpuBindingRef, inputs: readonly View[], outs: readonly GpuStorage[], scratch: readonly GpuStorage[]): BufferRecord {
    if ('input' in ref) return (inputs[ref.input]!.storage as GpuStorage).record;
    if ('output' in ref) return outs[ref.output]!.record;
    if ('scratch' in ref) return scratch[ref.scratch]!.record;
    if (this.errorBuffer === null) throw new Error(`${name}: binds the error buffer without registering a check`);
    return this.errorBuffer;
  }

  private clearBindGroups(): void {
    this.bindGroups.clear();
    this.bindGroupCount = 0;
  }

  /** The bind group of these buffers for a pipeline with `words` of params: made once, then reused. */
  private bindGroupFor(entry: PipelineEntry, words: number, records: readonly BufferRecord[]): GPUBindGroup {
    let h = Math.imul(entry.id + 1, 0x9e3779b1) ^ words;
    for (let b = 0; b < records.length; b++) h = Math.imul(h ^ records[b]!.id, 16777619);
    h &= SMALL_INT; // a small integer key: no heap number for the map to hash
    let bucket = this.bindGroups.get(h);
    if (bucket !== undefined) {
      search: for (let k = 0; k < bucket.length; k++) {
        const c = bucket[k]!;
        if (c.pipeline !== entry.id || c.words !== words || c.ids.length !== records.length) continue;
        for (let b = 0; b < records.length; b++) if (c.ids[b] !== records[b]!.id) continue search;
        return c.group;
      }
    }
    if (this.bindGroupCount >= MAX_BIND_GROUPS) this.clearBindGroups();
    this.work.bindGroups++;
    const windows = entry.windows;
    const entries: GPUBindGroupEntry[] = windows === undefined
      ? records.map((r, binding): GPUBindGroupEntry => ({ binding, resource: { buffer: r.buffer } }))
      : windows.map((w, binding) => {
        const r = records[w.binding]!;
        if (w.windows === 1) return { binding, resource: { buffer: r.buffer } };
        const offset = w.window * this.windowBytes;
        return { binding, resource: { buffer: r.buffer, offset, size: Math.min(this.windowBytes, r.size - offset) } };
      });
    entries.push({ binding: entries.length, resource: { buffer: this.arenaBuffer, offset: 0, size: words * 4 } });
    const group = this.gpu.createBindGroup({ layout: entry.layout, entries });
    if (bucket === undefined || this.bindGroups.get(h) !== bucket) this.bindGroups.set(h, (bucket = []));
    bucket.push({ pipeline: entry.id, words, ids: Int32Array.from(records, (r) => r.id), group });
    this.bindGroupCount++;
    return group;
  }

  /** Encode one dispatch of a kernel (called through its KernelRun). */
  dispatch(name: string, d: GpuDispatch, inputs: readonly View[], outs: readonly GpuStorage[], scratch: readonly GpuStorage[]): void {
    const refs = d.bindings;
    const records = this.bindingRecords;
    records.length = refs.length;
    let split: Map<number, number> | null = null;
    for (let b = 0; b < refs.length; b++) {
      const record = this.recordFor(name, refs[b]!, inputs, outs, scratch);
      records[b] = record;
      const windows = this.windowsOf(record);
      if (windows > 1) (split ??= new Map()).set(b, windows);
    }
    const entry = split === null ? this.pipelineFor(name, d) : this.windowedPipelineFor(name, d, split);
    if (entry.bindings >= this.caps.maxStorageBuffers) {
      throw new Error(`${name}: binds ${entry.bindings + 1} storage buffers (its tensors and the params); this device binds at most ${this.caps.maxStorageBuffers} per dispatch`);
    }
    const params = d.params;
    const words = Math.max(1, params.length);
    const align = this.offsetAlign / 4;
    let at = Math.ceil(this.arenaUsed / align) * align;
    if ((at + words) * 4 > ARENA_BYTES) {
      this.flush();
      at = 0;
    }
    for (let k = 0; k < params.length; k++) this.arena[at + k] = params[k]! >>> 0;
    this.arenaUsed = at + words;
    const bindGroup = this.bindGroupFor(entry, words, records);
    const w = d.workgroups;
    let x: number, y: number, z = 1;
    if ('threads' in w) {
      const groups = Math.ceil(w.threads / w.size);
      if (groups === 0) return;
      const max = this.maxWorkgroups;
      x = Math.min(groups, max);
      y = Math.ceil(groups / x);
      if (y > max) throw new Error(`webgpu: ${w.threads} threads exceed the dispatch grid`);
    } else {
      x = w[0];
      y = w[1] ?? 1;
      z = w[2] ?? 1;
      if (x === 0) return;
    }
    const t = performance.now();
    const pass = this.computePass();
    if (this.passPipeline !== entry.pipeline) {
      pass.setPipeline(entry.pipeline);
      this.passPipeline = entry.pipeline;
    }
    this.dynamicOffset[0] = at * 4;
    pass.setBindGroup(0, bindGroup, this.dynamicOffset, 0, 1);
    pass.dispatchWorkgroups(x, y, z);
    this.driverTime(t);
    this.recording?.dispatch(entry.pipeline, bindGroup, params, words, x, y, z, d.keyWords, d.refresh);
    this.work.dispatches++;
    if (split !== null) this.work.windowedDispatches++;
    if (this.pacing.encoded(x * y * z, ++this.pending)) this.flush();
  }

  /**
   * The pipeline of a dispatch that binds buffers larger than one binding: its WGSL rewritten to
   * reach them through windows (windows.ts), keyed by the whole source, the binding kinds and the
   * window counts (only such dispatches pay for hashing the source).
   */
  private windowedPipelineFor(name: string, d: GpuDispatch, split: ReadonlyMap<number, number>): PipelineEntry {
    const kinds = bindingKinds(d);
    const key = `${kinds}|${this.windowBytes}|${[...split].map(([b, n]) => `${b}x${n}`).join()}|${d.code}`;
    const cached = this.windowedPipelines.get(key);
    if (cached !== undefined) return cached;
    const total = d.bindings.length + [...split.values()].reduce((a, n) => a + n - 1, 0) + 1;
    if (total > this.caps.maxStorageBuffers) {
      const sizes = [...split.keys()].map((b) => `binding ${b}: ${split.get(b)!} windows`).join(', ');
      throw new Error(`${name}: its tensors larger than one storage binding (${this.bindingLimit} bytes) are bound in windows (${sizes}), which takes ${total} storage buffers; this device binds at most ${this.caps.maxStorageBuffers} per dispatch (use smaller tensors: a lower batch size or block size)`);
    }
    const rewritten = windowedSource(d.code, split, this.windowBytes);
    const entry = this.compile(`${name} (windows)`, rewritten.code, rewritten.layout.map((w) => 'input' in d.bindings[w.binding]!), kinds);
    entry.windows = rewritten.layout;
    this.windowedPipelines.set(key, entry);
    return entry;
  }

  /** Compile `code` whose bindings are read-only where `readOnly` says, then the params buffer (dynamic offset). */
  private compile(label: string, code: string, readOnly: readonly boolean[], kinds: number): PipelineEntry {
    const layout = this.gpu.createBindGroupLayout({
      entries: [
        ...readOnly.map((ro, binding) => ({ binding, visibility: 4 /* COMPUTE */, buffer: { type: (ro ? 'read-only-storage' : 'storage') as GPUBufferBindingType } })),
        { binding: readOnly.length, visibility: 4, buffer: { type: 'read-only-storage' as GPUBufferBindingType, hasDynamicOffset: true } },
      ],
    });
    const module = this.gpu.createShaderModule({ code, label });
    const pipeline = this.gpu.createComputePipeline({ layout: this.gpu.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: 'main' }, label });
    this.work.pipelines++;
    return { pipeline, layout, id: this.pipelineCount++, code, kinds, bindings: readOnly.length };
  }

  /** The largest binding the device takes. */
  private deviceBindingLimit(): number {
    return Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
  }

  /** The window size for a binding limit: rounded down to the offset alignment (and 16, every element size). */
  private windowSize(limit: number): number {
    const align = Math.max(16, this.offsetAlign);
    return Math.floor(limit / align) * align;
  }

  /**
   * Bind buffers larger than `bytes` in windows of about that size; without an argument, only those
   * larger than the device's own limit. Tests use a small limit to run kernels through windows at
   * sizes they can afford.
   */
  setBindingLimit(bytes?: number): void {
    const device = this.deviceBindingLimit();
    const limit = bytes ?? device;
    if (!(limit >= Math.max(16, this.offsetAlign)) || limit > device) {
      throw new Error(`webgpu: a binding limit of ${bytes} bytes is outside ${Math.max(16, this.offsetAlign)}…${device}`);
    }
    this.bindingLimit = limit;
    this.windowBytes = this.windowSize(limit);
    this.clearBindGroups();
  }

  /**
   * Bind at most `count` storage buffers per dispatch (WebGPU's minimum is 8), as a device with that
   * limit would; without an argument, the device's own limit. Kernels that bind many tensors split
   * their work, and the multi-tensor ones group fewer tensors. Tests use it to run them as such a
   * device would.
   */
  setStorageBufferLimit(count?: number): void {
    const device = this.gpu.limits.maxStorageBuffersPerShaderStage;
    const limit = count ?? device;
    if (!(Number.isInteger(limit) && limit >= 8 && limit <= device)) throw new Error(`webgpu: a limit of ${count} storage buffers per dispatch is outside 8…${device}`);
    this.caps = { ...this.caps, maxStorageBuffers: limit };
  }

  /** How many storage bindings a tensor's buffer takes in a dispatch (more than one when bound in windows). */
  bindingsOf(storage: Storage): number {
    return this.windowsOf((storage as GpuStorage).record);
  }

  /** The windows a buffer is bound in: 1 up to the binding limit (always for the error buffer, 16 KiB, which only a test's tiny limit could pass). */
  windowsOf(record: BufferRecord): number {
    return record.size > this.bindingLimit && record !== this.errorBuffer ? Math.ceil(record.size / this.windowBytes) : 1;
  }

  /**
   * The pipeline of a dispatch's WGSL. Kernels rebuild their source on every call, so hashing the
   * whole string (kilobytes) for a map key would cost more than the rest of the dispatch: the
   * lookup hashes its length, binding kinds and 32 characters spread over it, then compares the
   * candidates' full text (a memcmp).
   */
  private pipelineFor(name: string, d: GpuDispatch): PipelineEntry {
    const code = d.code;
    const n = code.length;
    const kinds = bindingKinds(d);
    let h = (n * 31 + kinds) | 0;
    for (let k = 0; k < 32; k++) h = (Math.imul(h, 16777619) ^ code.charCodeAt(Math.floor((k * n) / 32))) | 0;
    h &= SMALL_INT;
    let bucket = this.pipelines.get(h);
    if (bucket === undefined) this.pipelines.set(h, (bucket = []));
    for (const e of bucket) if (e.kinds === kinds && e.bindings === d.bindings.length && e.code === code) return e;
    const entry = this.compile(name, code, d.bindings.map((b) => 'input' in b), kinds);
    bucket.push(entry);
    return entry;
  }

  // ---- captured graphs (see graph.ts) --------------------------------------------------------

  beginCapture(): void {
    if (this.recording !== null) throw new Error('captureGraph: a graph is already being captured (captures do not nest)');
    this.deferPendingChecks();
    const rec = new GraphRecording(ARENA_BYTES / 4, this.offsetAlign / 4);
    this.recording = rec;
    this.pool.beginCapture(rec.memory);
    this.outerDrawLog = logDraws(rec.draws);
  }

  endCapture(outputs: readonly Storage[]): CapturedWork {
    const rec = this.stopRecording();
    const kept = new Set(outputs);
    // (shared constants made meanwhile are not among `made`: see constant())
    const outliving = rec.made.filter((s) => !s.freed && !kept.has(s));
    if (outliving.length > 0) {
      const bytes = outliving.reduce((a, s) => a + (s as GpuStorage).record.size, 0);
      this.disposeRecording(rec);
      throw new Error(`captureGraph: ${outliving.length} tensor(s) made inside the captured function outlive it (${bytes} bytes) besides what it returns: a replay would rewrite them in place instead of making them anew (a gradient left set: call zeroGrad() inside the function; optimizer state made by its first step: take one step before capturing). Return them to keep them as outputs`);
    }
    for (const s of rec.bound) {
      if (s.freed) rec.bound.delete(s);
      else s.refs++; // the graph binds it: kept alive until the graph is disposed
    }
    rec.holdsBound = true;
    let disposed = false;
    return {
      kernels: rec.kernels,
      dispatches: rec.dispatches,
      replay: () => {
        if (disposed) throw new Error('captureGraph: replay() after dispose()');
        this.replay(rec);
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.disposeRecording(rec);
      },
    };
  }

  /** Drop the graph being captured (its function threw). */
  abortCapture(): void {
    if (this.recording !== null) this.disposeRecording(this.stopRecording());
  }

  private stopRecording(): GraphRecording {
    const rec = this.recording;
    if (rec === null) throw new Error('captureGraph: no graph is being captured');
    this.recording = null;
    this.pool.endCapture();
    logDraws(this.outerDrawLog);
    this.outerDrawLog = null;
    return rec;
  }

  /** Storages made before the capture that a captured kernel binds. */
  private noteBound(rec: GraphRecording, inputs: readonly View[], outs: readonly GpuStorage[]): void {
    for (const v of inputs) if ((v.storage as GpuStorage).record.owner !== rec.memory) rec.bound.add(v.storage);
    for (const o of outs) if (o.record.owner !== rec.memory) rec.bound.add(o);
  }

  private disposeRecording(rec: GraphRecording): void {
    this.flush(); // nothing encoded may still name its staging buffers
    if (rec.holdsBound) for (const s of rec.bound) if (--s.refs <= 0 && !s.freed) this.free(s);
    rec.bound.clear();
    this.pool.releaseGraph(rec.memory);
    for (const b of rec.staging) b.destroy();
    rec.staging.length = 0;
    rec.segments.length = 0;
  }

  /** Encode and submit a captured graph's commands again (see graph.ts). */
  private replay(rec: GraphRecording): void {
    if (this.recording !== null) throw new Error('captureGraph: cannot replay a graph while capturing one');
    for (const s of rec.bound) {
      // the graph holds one reference of its own: none left besides it means every tensor let go
      const what = s.replaced === true ? 'was given other memory (setData, loadStateDict or Module.to)' : s.refs <= 1 ? 'was disposed' : null;
      if (what !== null) throw new Error(`captureGraph: a tensor the graph uses (${s.length} ${s.dtype} elements) ${what} after the capture, and a replay would still use its old memory: capture again`);
    }
    const t0 = performance.now();
    this.flush(); // work encoded before the replay goes first, and frees the params buffer
    this.deferPendingChecks();
    for (const c of rec.checks) this.checks.push(c); // the slots the captured kernels write
    rec.patch(rec.draws.length === 0 ? rec.draws : rec.draws.map(() => nextDrawKey()));
    const t1 = performance.now();
    const offset = this.dynamicOffset;
    for (const seg of rec.segments) {
      const enc = this.commandEncoder();
      let pass: GPUComputePassEncoder | null = null;
      let pipeline: GPUComputePipeline | null = null;
      for (const c of seg.commands) {
        if (c.kind === 0) {
          if (pass === null) {
            pass = enc.beginComputePass();
            pipeline = null;
          }
          if (c.pipeline !== pipeline) pass.setPipeline((pipeline = c.pipeline));
          offset[0] = c.at * 4;
          pass.setBindGroup(0, c.group, offset, 0, 1);
          pass.dispatchWorkgroups(c.x, c.y, c.z);
        } else {
          if (pass !== null) {
            pass.end();
            pass = null;
          }
          if (c.kind === 1) enc.clearBuffer(c.dst, 0, c.size);
          else enc.copyBufferToBuffer(c.src!, 0, c.dst, 0, c.size);
        }
      }
      pass?.end();
      if (seg.used > 0) this.gpu.queue.writeBuffer(this.arenaBuffer, 0, seg.words.buffer, 0, seg.used * 4);
      this.gpu.queue.submit([enc.finish()]);
      this.encoder = null;
      this.pacing.encodedMany(seg.dispatches, seg.units);
      this.pacing.submitted(performance.now());
      this.work.submits++;
    }
    const t2 = performance.now();
    this.work.kernels += rec.kernels;
    this.work.dispatches += rec.dispatches;
    this.work.hostMs += t2 - t0;
    this.work.driverMs += t2 - t1;
  }

  // ---- submission ---------------------------------------------------------------------------

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.gpu.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (this.pass === null) {
      this.pass = this.commandEncoder().beginComputePass();
      this.passPipeline = null;
    }
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submit everything encoded so far. */
  flush(): void {
    if (this.encoder === null) return;
    const t = performance.now();
    this.endPass();
    if (this.arenaUsed > 0) this.gpu.queue.writeBuffer(this.arenaBuffer, 0, this.arena.buffer, 0, this.arenaUsed * 4);
    this.gpu.queue.submit([this.encoder.finish()]);
    this.driverTime(t);
    this.pacing.submitted(performance.now());
    this.work.submits++;
    this.encoder = null;
    this.pending = 0;
    this.arenaUsed = 0;
    for (const s of this.stagingToDestroy.splice(0)) s.destroy();
  }

  async sync(): Promise<void> {
    this.refuseWhileCapturing('sync');
    const checks = this.encodeCheckReadback();
    this.flush();
    const pollStart = await this.pacing.beforeWait();
    await this.throwIfChecksFailed(checks);
    await this.pacing.poll(this.gpu.queue.onSubmittedWorkDone());
    this.pacing.settled(pollStart, performance.now());
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.firstError !== null) {
      const message = this.firstError;
      this.firstError = null;
      throw new Error(`webgpu: a GPU command failed: ${message}`);
    }
  }

  /** Release the device (called at process exit so Dawn tears down cleanly). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.flush();
      this.gpu.destroy();
    } catch {
      // exiting anyway
    }
  }

  describe(): string {
    const i = this.info;
    const name = i.description || i.device || [i.vendor, i.architecture].filter((x) => x !== '').join(' ');
    if (!this.executes) return `Dawn's null device (${name}: commands are checked, nothing runs)`;
    return `${name}${this.caps.f16 ? ', shader-f16' : ''}`;
  }
}

/** One kernel being encoded: what its WGSL builder calls (a class, so a kernel costs one object, not a closure per method). */
class KernelRun implements GpuKernelContext {
  readonly caps: GpuCaps;
  readonly scratches: GpuStorage[] = [];
  constructor(private readonly backend: WebGPUBackend, private readonly name: string, private readonly inputs: readonly View[], private readonly outs: readonly GpuStorage[]) {
    this.caps = backend.caps;
  }

  dispatch(d: GpuDispatch): void {
    this.backend.dispatch(this.name, d, this.inputs, this.outs, this.scratches);
  }

  clearOutput(index: number): void {
    this.backend.clearBuffer(this.outs[index]!);
  }

  scratch(bytes: number): number {
    this.scratches.push(this.backend.alloc('int32', Math.ceil(bytes / 4)) as GpuStorage);
    return this.scratches.length - 1;
  }

  check(describe: (failure: GpuFailure) => string): number {
    return this.backend.check(describe);
  }

  bindingsOf(ref: GpuBindingRef): number {
    return 'errors' in ref ? 1 : this.backend.windowsOf(this.backend.recordFor(this.name, ref, this.inputs, this.outs, this.scratches));
  }
}

/** Bit b set when binding b of a dispatch is written (everything but inputs). */
function bindingKinds(d: GpuDispatch): number {
  let kinds = 0;
  for (let b = 0; b < d.bindings.length; b++) if (!('input' in d.bindings[b]!)) kinds |= 1 << b;
  return kinds;
}

/** Identity copy into a contiguous buffer (used by readback of strided views). */
const contiguousKernel: Kernel<null> = {
  name: 'copy',
  cpu: () => { throw new Error('unreachable'); },
  gpu: (ctx, [x], [out]) => elementwise(ctx, [x!], out!, ([a]) => a!),
};

function hostBytes(dtype: DType, data: TypedArray): ArrayBufferView {
  switch (dtype) {
    case 'float32': return data instanceof Float32Array ? data : Float32Array.from(data);
    case 'int32': return data instanceof Int32Array ? data : Int32Array.from(data);
    case 'bool': return Uint32Array.from(data, (v) => (v ? 1 : 0));
    case 'float16': {
      const out = new Uint16Array(Math.ceil(data.length / 2) * 2);
      for (let i = 0; i < data.length; i++) out[i] = toHalfBits(data[i]!);
      return out;
    }
    case 'float64': throw new Error('float64 is CPU-only (WGSL has no 64-bit floats); use float32 on the GPU');
  }
}

function hostArray(dtype: DType, bytes: Uint8Array, n: number): TypedArray {
  const buf = bytes.buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(buf, 0, n);
    case 'int32': return new Int32Array(buf, 0, n);
    case 'bool': return Uint8Array.from(new Uint32Array(buf, 0, n));
    case 'float16': {
      const h = new Uint16Array(buf, 0, n);
      return Float32Array.from(h, fromHalfBits);
    }
    case 'float64': throw new Error('float64 is CPU-only');
  }
}

