// Builds the CPU backend's WebAssembly kernels from AssemblyScript (npm run build:wasm).
// The output kernels.wasm is committed; a test checks that a fresh build reproduces it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, 'kernels.wasm');
const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const flags = ['-O3', '--noAssert', '--runtime', 'stub', '--importMemory', '--sharedMemory', '--initialMemory', '16', '--maximumMemory', '65536', '--enable', 'simd,threads'];
const r = spawnSync(process.execPath, [asc, join(here, 'assembly', 'index.ts'), '--outFile', out, ...flags], { stdio: 'inherit', cwd: here });
process.exit(r.status ?? 1);
