// Builds the demo page into a folder: app.js (esbuild bundle of demo/app.ts and the packages'
// browser builds, through their `browser` export conditions), index.html, the WebAssembly kernels
// and their web-worker script under wasm/, GPT-2's tokenizer tables under gpt2/, and Tiny
// Shakespeare as the default training text.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** Build into `out` (default demo/dist); returns what was written, with the bundle's size in bytes. */
export async function buildDemo(out = join(here, 'dist')) {
  mkdirSync(join(out, 'wasm'), { recursive: true });
  const result = await build({
    entryPoints: [join(here, 'app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    tsconfig: join(here, 'tsconfig.json'),
    outfile: join(out, 'app.js'),
    metafile: true,
    logLevel: 'warning',
  });
  const nodeBuiltins = Object.keys(result.metafile.inputs).filter((p) => p.startsWith('node:'));
  if (nodeBuiltins.length > 0) throw new Error(`the demo bundle imports Node built-ins: ${nodeBuiltins.join(', ')}`);
  const wasm = join(root, 'packages', 'tensor', 'wasm');
  for (const f of ['kernels.wasm', 'kernels-fma.wasm', 'worker-browser.mjs', 'compute-loop.mjs']) copyFileSync(join(wasm, f), join(out, 'wasm', f));
  copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
  // GPT-2's tokenizer tables, for Hugging Face GPT-2 directories that come without tokenizer files
  mkdirSync(join(out, 'gpt2'), { recursive: true });
  const gpt2 = join(root, 'packages', 'data', 'assets', 'gpt2');
  for (const f of ['encoder.json', 'vocab.bpe', 'LICENSE.txt']) copyFileSync(join(gpt2, f), join(out, 'gpt2', f));
  copyFileSync(join(root, 'data', 'tinyshakespeare.txt'), join(out, 'shakespeare.txt'));
  const bundleBytes = statSync(join(out, 'app.js')).size;
  const wasmBytes = ['kernels.wasm', 'kernels-fma.wasm'].map((f) => statSync(join(out, 'wasm', f)).size);
  return { out, bundleBytes, wasmBytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await buildDemo(process.argv[2]);
  console.log(`demo built in ${r.out}: app.js ${(r.bundleBytes / 1024).toFixed(0)} KiB, kernels ${r.wasmBytes.map((b) => `${(b / 1024).toFixed(0)} KiB`).join(' + ')}`);
}
