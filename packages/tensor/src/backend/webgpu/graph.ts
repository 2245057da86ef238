/// <reference types="@webgpu/types" preserve="true" />
/**
 * What a captured graph keeps on the WebGPU backend: every command encoded while it was captured
 * (dispatches with their pipeline, bind group and params; buffer clears; uploads), so a replay
 * encodes the same commands again without running any op, kernel builder or lookup: three Dawn
 * calls per dispatch.
 *
 * The params of each dispatch are laid out in the graph's own arena segments (each fits the
 * backend's params buffer, written before the segment is submitted). Words that change from replay
 * to replay are patched first: random draw keys (a replay draws as many keys afresh, in the same
 * order, so it gives what running the ops again would) and the params of dispatches that recompute
 * them (`GpuDispatch.refresh`, e.g. an optimizer's learning rate and step).
 */
import type { Storage } from '../types.ts';
import type { PendingCheck } from './backend.ts';
import { GraphMemory } from './pool.ts';

export interface RecordedDispatch {
  kind: 0;
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  /** Where its params start in its segment's words, and how many. */
  at: number;
  words: number;
  x: number;
  y: number;
  z: number;
  refresh?: () => ArrayLike<number>;
  segment: GraphSegment;
}

interface RecordedTransfer {
  /** 1: zero-fill `dst`; 2: copy `src` (the graph's staging buffer of an upload) into `dst`. */
  kind: 1 | 2;
  src: GPUBuffer | null;
  dst: GPUBuffer;
  size: number;
}

export type RecordedCommand = RecordedDispatch | RecordedTransfer;

/** Commands submitted together: their params fit the backend's params buffer. */
export interface GraphSegment {
  words: Uint32Array;
  used: number;
  commands: RecordedCommand[];
  /** Workgroups dispatched (for the backend's pacing). */
  units: number;
  dispatches: number;
}

export class GraphRecording {
  readonly segments: GraphSegment[] = [];
  readonly memory = new GraphMemory();
  /** The keys drawn while captured, in order (filled by random.ts's draw log). */
  readonly draws: number[] = [];
  /** (segment index, word, draw index) for every params word that holds one of those keys. */
  readonly keyWords: number[] = [];
  readonly refreshed: RecordedDispatch[] = [];
  /** Checks registered by validating kernels while captured, with the slots they write. */
  readonly checks: PendingCheck[] = [];
  /** Staging buffers of uploads made while captured (their data is copied again at every replay). */
  readonly staging: GPUBuffer[] = [];
  /** Storages made before the capture that its commands bind (kept alive while the graph lives). */
  readonly bound = new Set<Storage>();
  /** Whether the graph holds a reference on each of `bound` (from the end of its capture). */
  holdsBound = false;
  /** Storages made while captured (to find those that outlive the captured function). */
  readonly made: Storage[] = [];
  kernels = 0;
  dispatches = 0;

  constructor(private readonly arenaWords: number, private readonly align: number) {}

  private segment(words: number): GraphSegment {
    let s = this.segments[this.segments.length - 1];
    if (s === undefined || Math.ceil(s.used / this.align) * this.align + words > this.arenaWords) {
      s = { words: new Uint32Array(this.arenaWords), used: 0, commands: [], units: 0, dispatches: 0 };
      this.segments.push(s);
    }
    return s;
  }

  dispatch(pipeline: GPUComputePipeline, group: GPUBindGroup, params: ArrayLike<number>, words: number, x: number, y: number, z: number, keyWords: readonly number[] | undefined, refresh: (() => ArrayLike<number>) | undefined): void {
    const segment = this.segment(words);
    const at = Math.ceil(segment.used / this.align) * this.align;
    for (let k = 0; k < params.length; k++) segment.words[at + k] = params[k]! >>> 0;
    segment.used = at + words;
    const d: RecordedDispatch = { kind: 0, pipeline, group, at, words, x, y, z, segment };
    if (refresh !== undefined) {
      d.refresh = refresh;
      this.refreshed.push(d);
    }
    if (keyWords !== undefined) {
      for (const k of keyWords) {
        const draw = this.draws.lastIndexOf(params[k]! >>> 0);
        // a key drawn before the capture is an input of the graph: kept as it is
        if (draw >= 0) this.keyWords.push(this.segments.length - 1, at + k, draw);
      }
    }
    segment.commands.push(d);
    segment.units += x * y * z;
    segment.dispatches++;
    this.dispatches++;
  }

  transfer(kind: 1 | 2, src: GPUBuffer | null, dst: GPUBuffer, size: number): void {
    this.segment(0).commands.push({ kind, src, dst, size });
  }

  /** Patch the params that change at a replay: fresh draw keys, and what refreshing kernels recompute. */
  patch(keys: readonly number[]): void {
    const kw = this.keyWords;
    for (let i = 0; i < kw.length; i += 3) this.segments[kw[i]!]!.words[kw[i + 1]!] = keys[kw[i + 2]!]!;
    for (const d of this.refreshed) {
      const params = d.refresh!();
      if (params.length > d.words) throw new Error(`captureGraph: a replayed kernel's params grew from ${d.words} to ${params.length} words (its settings changed its shape)`);
      for (let k = 0; k < params.length; k++) d.segment.words[d.at + k] = params[k]! >>> 0;
    }
  }
}
