/// <reference types="@webgpu/types" preserve="true" />
/**
 * Size-class buffer pool: freed buffers wait in a bucket of their class and are handed out again
 * instead of being destroyed. Reuse is safe without waiting for the GPU because every use of a
 * buffer is ordered on the one queue. Live bytes (handed out, not freed) are what tests watch.
 *
 * A bucket hands out its oldest buffer (the lowest id) first, so a loop that allocates and frees
 * the same way every iteration gets the same buffers every iteration, and the backend's bind
 * groups (keyed by buffer) are reused instead of created.
 */
/** What the pool knows of a buffer it made: its id and size (no native calls to ask). */
export interface BufferRecord {
  readonly id: number;
  readonly size: number;
  readonly buffer: GPUBuffer;
}

export class BufferPool {
  /** Free buffers per size class, sorted by id from highest to lowest (pop() gives the lowest). */
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly records = new WeakMap<GPUBuffer, BufferRecord>();
  private nextId = 0;
  private live = 0;
  private peak = 0;
  private pooled = 0;
  private created = 0;

  /** `maxSize`: the device's largest buffer (a size class never rounds past it). */
  constructor(private readonly device: GPUDevice, private readonly usage: number, private readonly maxSize = Infinity) {}

  /** Round up to a size class: 256 B multiples below 64 KiB, then steps of 1/8 of a power of two. */
  static sizeClass(bytes: number): number {
    const b = Math.max(bytes, 16);
    if (b <= 65536) return Math.ceil(b / 256) * 256;
    const step = 2 ** (Math.floor(Math.log2(b)) - 3);
    return Math.ceil(b / step) * step;
  }

  acquire(bytes: number): GPUBuffer {
    const rounded = BufferPool.sizeClass(bytes);
    const size = rounded <= this.maxSize ? rounded : Math.ceil(bytes / 4) * 4;
    const bucket = this.free.get(size);
    const reused = bucket?.pop();
    this.live += size;
    if (this.live > this.peak) this.peak = this.live;
    if (reused !== undefined) {
      this.pooled -= size;
      return reused;
    }
    this.created += size;
    const buffer = this.device.createBuffer({ size, usage: this.usage });
    const id = this.nextId++;
    this.records.set(buffer, { id, size, buffer });
    return buffer;
  }

  /** The pool's record of a buffer it created (its id is stable while the buffer lives), or undefined. */
  recordOf(buffer: GPUBuffer): BufferRecord | undefined {
    return this.records.get(buffer);
  }

  release(buffer: GPUBuffer): void {
    const record = this.records.get(buffer)!;
    const size = record.size;
    this.live -= size;
    this.pooled += size;
    let bucket = this.free.get(size);
    if (bucket === undefined) this.free.set(size, (bucket = []));
    // keep the bucket sorted by descending id: binary search for the insertion point
    const id = record.id;
    let lo = 0;
    let hi = bucket.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.records.get(bucket[mid]!)!.id > id) lo = mid + 1;
      else hi = mid;
    }
    if (lo === bucket.length) bucket.push(buffer);
    else bucket.splice(lo, 0, buffer);
  }

  /** Destroy every pooled (free) buffer, returning the memory to the driver. */
  emptyCache(): void {
    for (const bucket of this.free.values()) for (const b of bucket) b.destroy();
    this.free.clear();
    this.pooled = 0;
  }

  /** Bytes handed out and not released (read before every allocation: no object built). */
  liveBytes(): number {
    return this.live;
  }

  stats(): { liveBytes: number; peakBytes: number; pooledBytes: number; createdBytes: number } {
    return { liveBytes: this.live, peakBytes: this.peak, pooledBytes: this.pooled, createdBytes: this.created };
  }

  resetPeak(): void {
    this.peak = this.live;
  }
}
