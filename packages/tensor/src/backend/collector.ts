/**
 * The backstop for tensors nobody disposed: when a storage becomes unreachable (every tensor
 * viewing it was dropped), it is freed. `tidy` and `dispose` stay the deterministic fast path;
 * this is what keeps a loop written the PyTorch way (no tidy) from growing without bound.
 *
 * A FinalizationRegistry alone is not enough: the garbage collector does not know that a small
 * storage object pins megabytes of WebAssembly heap or GPU memory, and finalizers only run between
 * tasks, never inside a synchronous training loop. So when a device's live bytes have doubled
 * since the last collection, the collector forces a full GC and runs the finalizers on the spot
 * (Node: V8's `gc` and `FinalizationRegistry.prototype.cleanupSome` from a private context, the
 * flags set at the first collection). Where that is unavailable, finalizers run between tasks.
 */
import { host } from '#host';
import { noticeOnce, setting } from '../env/env.ts';

type Registry = FinalizationRegistry<() => void> & { cleanupSome?: (callback?: (held: () => void) => void) => void };

interface Realm {
  registry: Registry;
  gc: (() => void) | null;
}

let realm: Realm | null = null;
let enabled = true;
/** The least growth of live bytes between two forced collections. */
let minGrowth = 256 * 2 ** 20;

/** A registry that can run its finalizers synchronously after a forced GC, when the engine allows. */
function open(): Realm {
  if (realm !== null) return realm;
  const release = (free: () => void) => free();
  try {
    if (setting('LLMTS_GC_BACKSTOP') === '0') throw new Error('off');
    const own = host.privateRealm();
    if (own === null) throw new Error('no synchronous collector here');
    realm = { registry: new own.FinalizationRegistry(release) as Registry, gc: own.gc };
  } catch {
    realm = { registry: new FinalizationRegistry(release) as Registry, gc: null };
  }
  return realm;
}

/** Free `target`'s memory with `free` once `target` is unreachable (unregistered by `token` on dispose). */
export function registerStorage(target: object, free: () => void, token: object): void {
  open().registry.register(target, free, token);
}

export function unregisterStorage(token: object): void {
  realm?.registry.unregister(token);
}

/**
 * Per device: collect when live bytes reach twice what they were after the last collection (and
 * at least 256 MiB more), so a steady workload triggers it rarely and a leaking one often.
 */
export class CollectionTrigger {
  /** Live bytes after the last collection (0 before the first). */
  private after = 0;

  constructor(private readonly device: string, private readonly live: () => number) {}

  /** Called before an allocation of `bytes`. */
  check(bytes: number): void {
    if (!enabled || this.live() + bytes < Math.max(2 * this.after, this.after + minGrowth)) return;
    collectGarbage();
    this.after = this.live();
    if (realm?.gc === null) noticeOnce(`collector-${this.device}`, `${(this.after / 2 ** 20).toFixed(0)} MiB of ${this.device} tensors are live and this engine cannot collect forgotten ones synchronously; dispose tensors or use tidy()`);
  }
}

/** Force a full garbage collection and free the storages it found unreachable. Returns whether it could. */
export function collectGarbage(): boolean {
  const r = open();
  if (r.gc === null || typeof r.registry.cleanupSome !== 'function') return false;
  r.gc();
  r.registry.cleanupSome();
  return true;
}

/**
 * Tests of library code turn the backstop off, so a leak shows in live bytes instead of being
 * collected; `minGrowthBytes` (default 256 MiB) sets how much live bytes grow before a collection.
 */
export function setGarbageBackstop(on: boolean, options: { minGrowthBytes?: number } = {}): void {
  enabled = on;
  if (options.minGrowthBytes !== undefined) minGrowth = options.minGrowthBytes;
}
