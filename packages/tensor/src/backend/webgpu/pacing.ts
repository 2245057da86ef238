/**
 * Waiting for the GPU without spinning, and submitting early enough to keep it busy.
 *
 * Dawn's Node binding resolves a pending promise (mapAsync, onSubmittedWorkDone) by calling
 * ProcessEvents from `setImmediate` over and over, allocating a function each time, until the work
 * is done. A long wait therefore keeps a core busy and fills the heap: on lavapipe, whose
 * rasteriser threads share the cores, a shakespeare-char step took 1,585 ms with the spin and 992 ms
 * without it, and the collections the garbage set off landed in the next step's encoding.
 *
 * So before a wait the backend sleeps through most of the time the submitted work took the last
 * time the same work was waited for, and only then creates the promise. "The same work" is the
 * same number of dispatches and workgroups since the GPU was last idle: a training loop, an
 * evaluation loop or a benchmark repeats exactly that between its syncs. Work never seen before is
 * polled from the start, as Dawn would, so a read's latency never rests on a guess about other
 * work. The sleep ends 5% (at least 2 ms, a timer's lateness) before the work should; a wait that
 * found the work already done after it shortens the next sleep; sleeps under 10 ms are not taken
 * (a generated token's read keeps its latency). Browsers resolve promises from their own event loop, so
 * there the backend never sleeps.
 *
 * What is left of a wait is polled gently: while a Dawn promise is pending, each turn of the event
 * loop after the first 2 ms also blocks for 0.1 ms (Atomics.wait), so the polling runs ~10,000
 * times a second instead of ~1,000,000. Without it the functions Dawn creates for each turn are
 * freed at the next native call that creates an object (measured in Dawn alone on lavapipe: the
 * first beginComputePass after a 370 ms polled wait took 3-13 ms; throttled, 0.2-0.3 ms), and the
 * spinning core is taken from lavapipe. Short waits (a generated token's read) finish inside the
 * first 2 ms, unthrottled.
 *
 * Submission: after a wait the GPU is idle, so the first batch is submitted after a few dispatches
 * and the batches then double, letting the GPU start while the host still encodes the step.
 */
export class GpuPacing {
  /** Dispatches and workgroups encoded since the last submit. */
  private encodedDispatches = 0;
  private encodedUnits = 0;
  /** Dispatches and workgroups submitted and not yet known to be done, and when the GPU started on them. */
  private inFlightDispatches = 0;
  private inFlightUnits = 0;
  private busySince = 0;
  /** Milliseconds the GPU took, by the work's signature (see `signature`). */
  private readonly took = new Map<string, number>();
  /** Dispatches encoded before the next submit. */
  private batch = FIRST_BATCH;
  /** Whether the last wait slept first. */
  private slept = false;

  /** Dawn promises being waited for, and the generation of the throttling loop (one at a time). */
  private polling = 0;
  private throttle = 0;

  constructor(private readonly sleeps: boolean) {}

  /** Wait for a Dawn promise, throttling the event loop's spin after the first 2 ms (not in a browser). */
  poll<T>(promise: Promise<T>): Promise<T> {
    const block = this.sleeps ? blockFor() : null;
    if (block === null) return promise;
    if (this.polling++ === 0) this.startThrottle(block);
    return promise.finally(() => { this.polling--; });
  }

  /** Each turn of the event loop blocks briefly while a promise is pending, once the free spin is over. */
  private startThrottle(block: (ms: number) => void): void {
    const generation = ++this.throttle;
    const start = performance.now();
    const turn = (): void => {
      if (this.polling === 0 || generation !== this.throttle) return;
      if (performance.now() - start >= FREE_SPIN_MS) block(THROTTLE_MS);
      setImmediate(turn);
    };
    setImmediate(turn);
  }

  /** Count the dispatches of a replayed graph's segment, encoded at once. */
  encodedMany(dispatches: number, workgroups: number): void {
    this.encodedDispatches += dispatches;
    this.encodedUnits += workgroups;
  }

  /** A dispatch of `workgroups` was encoded; true when it is time to submit. */
  encoded(workgroups: number, pending: number): boolean {
    this.encodedDispatches++;
    this.encodedUnits += workgroups;
    return pending >= this.batch;
  }

  /** What was encoded was submitted. */
  submitted(now: number): void {
    if (this.encodedDispatches === 0) return;
    if (this.inFlightDispatches === 0) this.busySince = now;
    this.inFlightDispatches += this.encodedDispatches;
    this.inFlightUnits += this.encodedUnits;
    this.encodedDispatches = 0;
    this.encodedUnits = 0;
    this.batch = Math.min(MAX_BATCH, this.batch * 2);
  }

  private signature(): string {
    return `${this.inFlightDispatches}:${this.inFlightUnits}`;
  }

  /** Sleep through most of the time the same work took before (nothing in a browser). Returns when the poll starts. */
  async beforeWait(): Promise<number> {
    const now = performance.now();
    this.slept = false;
    if (!this.sleeps || this.inFlightDispatches === 0) return now;
    const took = this.took.get(this.signature());
    if (took === undefined) return now;
    // wake a margin early: 5% of the work, and never less than a timer's lateness
    const sleep = this.busySince + took - now - Math.max((1 - SLEEP_SHARE) * took, TIMER_SLACK_MS);
    if (sleep < MIN_SLEEP_MS) return now;
    await new Promise((resolve) => setTimeout(resolve, sleep));
    this.slept = true;
    return performance.now();
  }

  /**
   * Everything submitted is done: `pollStart` is when the wait's promise was created, `now` when it
   * resolved. Remember how long the work took and start the next round of submissions small.
   */
  settled(pollStart: number, now: number): void {
    if (this.inFlightDispatches > 0) {
      const key = this.signature();
      if (now - pollStart >= DONE_AT_ONCE_MS) {
        if (this.took.size >= MAX_SIGNATURES) this.took.clear();
        this.took.set(key, now - this.busySince);
      } else if (this.slept) {
        // done before the promise existed: the sleep was at least long enough
        this.took.set(key, this.took.get(key)! * SHRINK);
      }
      // done at once without a sleep: the time since the submit says nothing about the GPU
    }
    this.inFlightDispatches = 0;
    this.inFlightUnits = 0;
    this.batch = FIRST_BATCH;
  }
}

/** How long a wait polls freely, and how long each later turn of the event loop blocks. */
const FREE_SPIN_MS = 2;
const THROTTLE_MS = 0.1;

/**
 * A function that blocks the thread for `ms` without spinning (Atomics.wait), where the host allows
 * it (Node's main thread does; a browser's does not), else null. Made at the first wait.
 */
let blocker: ((ms: number) => void) | null | undefined;
function blockFor(): ((ms: number) => void) | null {
  if (blocker !== undefined) return blocker;
  blocker = null;
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics.wait !== 'function' || typeof setImmediate !== 'function') return blocker;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  try {
    Atomics.wait(cell, 0, 0, 0);
  } catch {
    return blocker;
  }
  return (blocker = (ms: number) => { Atomics.wait(cell, 0, 0, ms); });
}

/** Dispatches in the first submit after the GPU went idle, and the cap the batches double to. */
const FIRST_BATCH = 32;
const MAX_BATCH = 256;
/** The share of the expected remaining time slept before polling. */
const SLEEP_SHARE = 0.95;
/**
 * Sleeps shorter than this are not taken: a short wait spins little, and a timer firing a
 * millisecond late would cost a generated token's read more than the spin does.
 */
const MIN_SLEEP_MS = 10;
/** How late a timer may fire: the sleep ends at least this long before the work should. */
const TIMER_SLACK_MS = 2;
/** A wait that resolved faster than this found the work done already. */
const DONE_AT_ONCE_MS = 0.5;
const SHRINK = 0.8;
/** Signatures remembered before the memory starts over. */
const MAX_SIGNATURES = 256;
