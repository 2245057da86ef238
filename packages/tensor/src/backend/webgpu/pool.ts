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
  /** The captured graph whose memory this buffer is (see GraphMemory), or null. */
  owner?: GraphMemory | null;
}

/**
 * The memory of a captured graph (graph.ts): every buffer handed out or released while the graph
 * was captured belongs to it, and goes back to it (not to the shared pool) when freed, so no later
 * tensor can be given a buffer a replay writes. Inside the capture it is reused as the shared pool
 * would be (lowest id first), so a graph needs no more memory than the step it recorded.
 */
export class GraphMemory {
  /** Free buffers of the graph per size class, sorted like the pool's. */
  readonly free = new Map<number, GPUBuffer[]>();
  /** Buffers the graph owns, free or handed out. */
  readonly records = new Set<BufferRecord>();
  /** Bytes of its free buffers. */
  heldBytes = 0;
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
  /** While a graph is captured: the memory it takes its buffers from and gives them back to. */
  private capturing: GraphMemory | null = null;
  /** Free bytes held by captured graphs (reserved for their replays). */
  private graphHeld = 0;

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
    this.live += size;
    if (this.live > this.peak) this.peak = this.live;
    const graph = this.capturing;
    if (graph !== null) {
      const own = graph.free.get(size)?.pop();
      if (own !== undefined) {
        graph.heldBytes -= size;
        this.graphHeld -= size;
        return own;
      }
    }
    const reused = this.free.get(size)?.pop();
    if (reused !== undefined) {
      this.pooled -= size;
      if (graph !== null) this.adopt(graph, this.records.get(reused)!);
      return reused;
    }
    this.created += size;
    const buffer = this.device.createBuffer({ size, usage: this.usage });
    const record: BufferRecord = { id: this.nextId++, size, buffer, owner: null };
    this.records.set(buffer, record);
    if (graph !== null) this.adopt(graph, record);
    return buffer;
  }

  private adopt(graph: GraphMemory, record: BufferRecord): void {
    record.owner = graph;
    graph.records.add(record);
  }

  /** Hand out and take back buffers from `graph` until `endCapture()` (see GraphMemory). */
  beginCapture(graph: GraphMemory): void {
    if (this.capturing !== null) throw new Error('webgpu: a graph is already being captured');
    this.capturing = graph;
  }

  endCapture(): void {
    this.capturing = null;
  }

  /** Run `f` with the shared pool (memory that outlives any graph, such as shared constants). */
  outsideCapture<T>(f: () => T): T {
    const graph = this.capturing;
    this.capturing = null;
    try {
      return f();
    } finally {
      this.capturing = graph;
    }
  }

  /** A disposed graph's buffers go back to the shared pool: the free ones now, the others when freed. */
  releaseGraph(graph: GraphMemory): void {
    for (const record of graph.records) record.owner = null;
    for (const [size, bucket] of graph.free) {
      for (const buffer of bucket) this.insertFree(this.free, buffer);
      this.pooled += size * bucket.length;
    }
    this.graphHeld -= graph.heldBytes;
    graph.heldBytes = 0;
    graph.free.clear();
    graph.records.clear();
  }

  /** The pool's record of a buffer it created (its id is stable while the buffer lives), or undefined. */
  recordOf(buffer: GPUBuffer): BufferRecord | undefined {
    return this.records.get(buffer);
  }

  release(buffer: GPUBuffer): void {
    const record = this.records.get(buffer)!;
    const size = record.size;
    this.live -= size;
    let graph = record.owner ?? null;
    if (graph === null && this.capturing !== null) {
      // freed inside a capture: the graph may have bound it, so it keeps it
      graph = this.capturing;
      this.adopt(graph, record);
    }
    if (graph !== null) {
      this.insertFree(graph.free, buffer);
      graph.heldBytes += size;
      this.graphHeld += size;
      return;
    }
    this.pooled += size;
    this.insertFree(this.free, buffer);
  }

  /** Put a buffer in its size class of `free`, keeping the bucket sorted by descending id. */
  private insertFree(free: Map<number, GPUBuffer[]>, buffer: GPUBuffer): void {
    const record = this.records.get(buffer)!;
    let bucket = free.get(record.size);
    if (bucket === undefined) free.set(record.size, (bucket = []));
    // binary search for the insertion point
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

  stats(): { liveBytes: number; peakBytes: number; pooledBytes: number; createdBytes: number; graphBytes: number } {
    return { liveBytes: this.live, peakBytes: this.peak, pooledBytes: this.pooled, createdBytes: this.created, graphBytes: this.graphHeld };
  }

  resetPeak(): void {
    this.peak = this.live;
  }
}
