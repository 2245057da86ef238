/** Yielding to the event loop between steps of synchronous work, in Node and in a page. */
type Channel = { port1: { onmessage: (() => void) | null }; port2: { postMessage(v: unknown): void } };
let channel: Channel | null = null;
const waiting: (() => void)[] = [];

/**
 * Resolve after pending I/O events, timers and clicks had their turn (work on the CPU backend only
 * awaits microtasks, so a loop of it starves them): Node's setImmediate; in a page a message to
 * itself, since a page clamps nested setTimeout(0) to 4 ms or more (which capped sampling at tens of
 * tokens/s). `generate` yields this way between tokens; a training loop in a page, between steps.
 * @example for (;;) { await trainer.step(); await nextTask(); }
 */
export function nextTask(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  if (immediate) return new Promise((resolve) => void immediate(resolve));
  const MessageChannel = (globalThis as unknown as { MessageChannel?: new () => Channel }).MessageChannel;
  if (!MessageChannel) return new Promise((resolve) => setTimeout(resolve, 0));
  if (channel === null) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  const c = channel;
  return new Promise((resolve) => {
    waiting.push(resolve);
    c.port2.postMessage(0);
  });
}
