/** Build the demo page into `out` (default demo/dist). */
export function buildDemo(out?: string): Promise<{ out: string; bundleBytes: number; wasmBytes: number[] }>;
