import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GpuPacing } from '@llmts/tensor/internal';

/** Encode `dispatches` dispatches of `units` workgroups each, submitting when the pacing says so. */
function encode(p: GpuPacing, dispatches: number, units: number): number {
  let pending = 0;
  let submits = 0;
  for (let d = 0; d < dispatches; d++) {
    if (p.encoded(units, ++pending)) {
      p.submitted(performance.now());
      pending = 0;
      submits++;
    }
  }
  if (pending > 0) {
    p.submitted(performance.now());
    submits++;
  }
  return submits;
}

/** A wait: the sleep the pacing takes, then `pollMs` of polling; returns the ms slept. */
async function wait(p: GpuPacing, pollMs: number): Promise<number> {
  const t0 = performance.now();
  const pending = p.beforeWait();
  await vi.runAllTimersAsync();
  const pollStart = await pending;
  const slept = pollStart - t0;
  vi.advanceTimersByTime(pollMs);
  p.settled(pollStart, performance.now());
  return slept;
}

describe('GpuPacing: sleeping through a wait for work seen before, submitting early after idle', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] }); });
  afterEach(() => { vi.useRealTimers(); });

  it('polls work it has not seen; sleeps through most of the time the same work took; shrinks a sleep that was too long', async () => {
    const p = new GpuPacing(true);
    encode(p, 194, 400);
    vi.advanceTimersByTime(10); // host encoding after the first submit
    expect(await wait(p, 990)).toBe(0); // unknown work: no sleep, the whole wait polled
    encode(p, 194, 400);
    vi.advanceTimersByTime(10);
    const slept = await wait(p, 60);
    // 1000 ms the work took − 10 ms already gone − a 5% margin
    expect(Math.abs(slept - (990 - 50))).toBeLessThanOrEqual(1);
    // the same work again, finished before the promise: the next sleep is shorter
    encode(p, 194, 400);
    expect(await wait(p, 0)).toBeGreaterThan(900);
    encode(p, 194, 400);
    const shorter = await wait(p, 0);
    expect(shorter).toBeLessThan(0.85 * 1000);
    // other work (one more dispatch) is not guessed at
    encode(p, 195, 400);
    expect(await wait(p, 5)).toBe(0);
  });

  it('never sleeps where promises resolve on their own (a browser), or for waits under 10 ms, and wakes 2 ms early at least', async () => {
    const browser = new GpuPacing(false);
    encode(browser, 50, 10);
    await wait(browser, 500);
    encode(browser, 50, 10);
    expect(await wait(browser, 500)).toBe(0);
    const node = new GpuPacing(true);
    encode(node, 3, 1);
    await wait(node, 11);
    encode(node, 3, 1);
    expect(await wait(node, 11)).toBe(0); // 11 − 2 ms of slack: under 10 ms
    encode(node, 4, 1);
    await wait(node, 30);
    encode(node, 4, 1);
    expect(Math.abs(await wait(node, 2) - 28)).toBeLessThanOrEqual(1);
  });

  it('polls a pending Dawn promise gently in Node: after 2 ms every turn of the event loop blocks 0.1 ms; a browser\'s promise is returned as it is', async () => {
    vi.useRealTimers();
    const browser = new GpuPacing(false);
    const pending = new Promise<number>((resolve) => setTimeout(() => resolve(7), 5));
    expect(browser.poll(pending)).toBe(pending);
    await pending;
    const node = new GpuPacing(true);
    const turns: number[] = [];
    let waiting = true;
    const count = (): void => {
      if (!waiting) return;
      turns.push(performance.now());
      setImmediate(count);
    };
    const t0 = performance.now();
    setImmediate(count);
    const value = await node.poll(new Promise<number>((resolve) => setTimeout(() => resolve(42), 40)));
    waiting = false;
    expect(value).toBe(42);
    // past the free 2 ms (+1 ms of slack), turns come at most every 0.1 ms; spinning, they come every few µs
    const late = turns.filter((t) => t - t0 > 3);
    const span = turns[turns.length - 1]! - (t0 + 3);
    expect(late.length).toBeGreaterThan(10);
    expect(late.length).toBeLessThanOrEqual(span / 0.1 + 2);
  });

  it('submits 32 dispatches after an idle GPU, then doubles the batches up to 256, and starts small again after a wait', async () => {
    const p = new GpuPacing(true);
    // 32 + 64 + 128 + 256 + 256 + the last 64
    expect(encode(p, 800, 1)).toBe(6);
    await wait(p, 1);
    expect(encode(p, 96, 1)).toBe(2);
  });
});
