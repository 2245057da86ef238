/**
 * Whether a graph is being captured (graph.ts): backends that cannot replay their work (the CPU)
 * refuse kernels meanwhile, so nothing of a captured function is left out of its replays silently.
 */
let capturing = false;

/** Whether a graph is being captured (`captureGraph`): ops that keep host state register `onReplay` hooks then. */
export function isCapturing(): boolean {
  return capturing;
}

/** Mark the start and end of a capture (graph.ts). */
export function setCapturing(on: boolean): void {
  capturing = on;
}

/** Throw if a graph is being captured: `what` cannot be part of one. */
export function refuseInCapture(what: string): void {
  if (capturing) throw new Error(`captureGraph: ${what} inside a captured function (only GPU work is recorded and replayed; do it before the capture or between replays)`);
}
