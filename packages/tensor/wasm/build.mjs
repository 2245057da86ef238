// Builds the CPU backend's WebAssembly kernels from AssemblyScript (npm run build:wasm).
// The output kernels.wasm is committed; a test checks that a fresh build reproduces it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = process.argv[2] ?? here;
const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const flags = ['-O3', '--noAssert', '--runtime', 'stub', '--importMemory', '--sharedMemory', '--initialMemory', '16', '--maximumMemory', '65536'];
// kernels.wasm: 128-bit SIMD; kernels-fma.wasm: plus relaxed SIMD's fused multiply-add (used when
// the engine accepts it; Node 20 needs V8's --experimental-wasm-relaxed-simd, set at start-up)
for (const [file, features] of [['kernels.wasm', 'simd,threads'], ['kernels-fma.wasm', 'simd,threads,relaxed-simd']]) {
  const r = spawnSync(process.execPath, [asc, join(here, 'assembly', 'index.ts'), '--outFile', join(outDir, file), ...flags, '--enable', features], { stdio: 'inherit', cwd: here });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
