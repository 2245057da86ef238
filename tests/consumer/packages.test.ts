// The packages as a user gets them: `npm pack` each into a directory outside the repository,
// install the tarballs into a fresh "type": "module" project with no C compiler on PATH and
// without `webgpu`, then use them from plain Node, from strict TypeScript, and through the
// installed `llmts` bin; then add `webgpu` and get the GPU. Needs the build (npm test runs it).
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { hasBackend } from '@llmts/tensor';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGES = ['tensor', 'nn', 'data', 'gpt'] as const;
const COMPILERS = /^(cc|c\+\+|gcc.*|g\+\+.*|clang.*|cpp.*|tcc|make|gmake|.*-linux-gnu-(gcc|g\+\+|cc|c\+\+|cpp).*)$/;

let work = '';
let app = '';
let bin = '';
let packed: { name: string; filename: string; files: { path: string }[] }[] = [];
let install: SpawnSyncReturns<string>;

/** A PATH with every program of the current PATH except C/C++ compilers and make. */
function pathWithoutCompilers(dir: string): string {
  mkdirSync(dir);
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (COMPILERS.test(name) || existsSync(join(dir, name))) continue;
      try { symlinkSync(join(d, name), join(dir, name)); } catch { /* a broken entry */ }
    }
  }
  return dir;
}

/** Run in the consumer project, as its user would: nothing of ours in the environment. */
function run(cmd: string, args: string[], env: Record<string, string> = {}, input?: string): SpawnSyncReturns<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LLMTS_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return spawnSync(cmd, args, { cwd: app, encoding: 'utf8', input, timeout: 240_000, env: { ...clean, PATH: bin, ...env } });
}

const node = (args: string[], env: Record<string, string> = {}) => run(process.execPath, args, env);
const llmts = (args: string[]) => run(join(app, 'node_modules/.bin/llmts'), args, { LLMTS_QUIET: '1' });

beforeAll(() => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' }); // fresh dist to pack
  work = mkdtempSync(join(tmpdir(), 'llmts-consumer-'));
  app = join(work, 'app');
  bin = pathWithoutCompilers(join(work, 'bin'));
  const out = execFileSync('npm', ['pack', '--workspaces', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  packed = JSON.parse(out) as typeof packed;
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module', allowScripts: { '@llmts/data': true } }, null, 2)}\n`);
  install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => join(work, p.filename)), '@types/node@20']);
}, 300_000);

describe('npm pack', () => {
  it('holds what a user needs and no build debris', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(PACKAGES.map((p) => `@llmts/${p}`).sort());
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      for (const need of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map']) expect(files, `${p.name} ${need}`).toContain(need);
      for (const f of files) expect(f, p.name).not.toMatch(/(^|\/)(build|node_modules|test|tests)\/|\.(o|node|tsbuildinfo|wat|tgz)$|\.tmp|binding\.gyp/);
    }
    const files = (name: string) => packed.find((p) => p.name === name)!.files.map((f) => f.path);
    expect(files('@llmts/tensor')).toEqual(expect.arrayContaining(['wasm/kernels.wasm', 'wasm/kernels-fma.wasm', 'wasm/worker.mjs', 'wasm/worker-browser.mjs', 'wasm/compute-loop.mjs', 'dist/internal.js', 'dist/host/browser.js', 'dist/host/node.js']));
    expect(files('@llmts/data')).toEqual(expect.arrayContaining(['assets/gpt2/encoder.json', 'assets/gpt2/vocab.bpe', 'assets/gpt2/LICENSE.txt', 'native/mmap.c', 'native/build.mjs']));
    expect(files('@llmts/gpt')).toContain('bin/llmts.js');
    for (const p of PACKAGES) {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(pkg.private, p).toBeUndefined();
      expect(pkg.sideEffects, p).toBe(false);
      expect((pkg.exports as Record<string, { types: string }>)['.']!.types, p).toBe('./dist/index.d.ts');
      for (const [dep, range] of Object.entries((pkg.dependencies ?? {}) as Record<string, string>)) expect(range, `${p} -> ${dep}`).toMatch(/^\^\d+\.\d+\.\d+$/);
    }
  });
});

describe('a fresh project with the tarballs, no C compiler and no webgpu', () => {
  it('installs (the mmap addon falls back, webgpu is not pulled in)', () => {
    expect(install.status, install.stderr).toBe(0);
    expect(run('sh', ['-c', 'command -v cc gcc || true']).stdout.trim()).toBe('');
    expect(existsSync(join(app, 'node_modules/webgpu'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/@llmts/data/build/llmts_mmap.node'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
  });

  it('plain node imports every package and runs a forward, backward and AdamW step', () => {
    writeFileSync(join(app, 'step.mjs'), `
import { randn, tensor, crossEntropy, getDefaultDevice } from '@llmts/tensor';
import { AdamW } from '@llmts/nn';
import { CharTokenizer } from '@llmts/data';
import { GPT } from '@llmts/gpt';
const tok = CharTokenizer.fromText('hello world');
const ids = tok.encode('hello world');
const model = new GPT({ vocabSize: tok.vocabSize, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 });
const opt = new AdamW(model.parameters(), { lr: 1e-2 });
const x = tensor([ids.slice(0, 8)]), y = tensor([ids.slice(1, 9)]);
const before = await model.forward(x, y).loss.item();
for (let i = 0; i < 10; i++) { const { loss } = model.forward(x, y); loss.backward(); opt.step(); opt.zeroGrad(); }
const after = await model.forward(x, y).loss.item();
console.log(JSON.stringify({ device: getDefaultDevice(), before, after, dtype: y.dtype }));
`);
    const r = node(['step.mjs']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { device: string; before: number; after: number; dtype: string };
    expect(out.device).toBe('cpu');
    expect(out.dtype).toBe('int32');
    expect(out.after).toBeLessThan(out.before);
    expect(r.stderr).toMatch(/default device cpu \(no WebGPU: the optional 'webgpu' package is not installed\)/);
  });

  it('a strict TypeScript consumer (nodenext, exactOptionalPropertyTypes, no skipLibCheck) type-checks', () => {
    writeFileSync(join(app, 'check.ts'), `
import { init, tensor, randn, zeros, crossEntropy, memoryStats, tidy, type Tensor, type Device, type InitResult } from '@llmts/tensor';
import { Module, Linear, AdamW, warmupCosine, type AdamOptions } from '@llmts/nn';
import { gpt2Tokenizer, TokenDataset, type Tokenizer, type CorpusMeta } from '@llmts/data';
import { GPT, generate, train, loadGPT, presets, type GPTConfig, type TrainOptions, type GenerateOptions } from '@llmts/gpt';
class Head extends Module {
  fc = new Linear(8, 2, { bias: false });
  forward(x: Tensor): Tensor { return this.fc.forward(x); }
}
export async function main(): Promise<number> {
  const r: InitResult = await init({ device: 'cpu' });
  const device: Device = r.device;
  const x = randn([4, 8], { device });
  const head = new Head();
  const opts: Partial<AdamOptions> = { lr: 1e-3, betas: [0.9, 0.95] };
  const opt = new AdamW(head.parameters(), opts);
  const loss: Tensor = tidy(() => crossEntropy(head.forward(x), tensor([0, 1, 1, 0])));
  loss.backward();
  opt.step();
  const { values, indices } = head.forward(x).max(-1);
  using z = zeros(2, 3);
  const tok: Tokenizer = gpt2Tokenizer();
  const cfg: Partial<GPTConfig> = { vocabSize: tok.vocabSize, nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 8 };
  const g: GenerateOptions = { maxNewTokens: 2, temperature: 0 };
  const [ids] = await generate(new GPT(cfg), [[1, 2]], g);
  const t: TrainOptions = { preset: presets['shakespeare-char-cpu']!, dataDir: 'd', outDir: 'o', train: { maxIters: 1 }, model: { nLayer: 2 } };
  const lr = warmupCosine({ maxLr: 1, minLr: 0.1, warmupIters: 1, decayIters: 10 });
  const meta: CorpusMeta | null = null;
  void [train, loadGPT, TokenDataset, t, lr, meta, values, indices, z, ids];
  return memoryStats(device).liveBytes + (await loss.item());
}
`);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', lib: ['ES2023', 'ESNext.Disposable'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true, types: ['node'] },
      files: ['check.ts'],
    }));
    const r = node([join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('the installed llmts bin prints its version, prepares, trains 20 iterations and samples', () => {
    const version = JSON.parse(readFileSync(join(root, 'packages/gpt/package.json'), 'utf8')).version as string;
    expect(llmts(['--version']).stdout.trim()).toBe(`llmts ${version}`);
    const p = llmts(['prepare', '--input', join(root, 'data/the-verdict.txt'), '--out', 'data/verdict', '--tokenizer', 'char']);
    expect(p.status, p.stderr).toBe(0);
    const t = llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', 'data/verdict', '--out', 'runs/verdict', '--max-iters', '20', '--eval-interval', '10',
      '--eval-iters', '2', '--batch-size', '4', '--n-layer', '1', '--n-head', '2', '--n-embd', '32', '--block-size', '32', '--warmup-iters', '2']);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/train: 20 iterations/);
    const s = llmts(['sample', '--checkpoint', 'runs/verdict', '--prompt', 'I had', '--max-new-tokens', '30', '--json']);
    expect(s.status, s.stderr).toBe(0);
    expect((JSON.parse(s.stdout) as { tokens: number[] }).tokens).toHaveLength(30);
  });

  it("runs the README's In code example exactly as printed", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /## In code\s+```ts\n([\s\S]*?)```/.exec(readme);
    expect(block, 'README.md has an "In code" TypeScript block').not.toBeNull();
    const js = ts.transpileModule(block![1]!, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    writeFileSync(join(app, 'readme-example.mjs'), js);
    const dataDir = /TokenDataset\.open\('([^']+)'\)/.exec(block![1]!)![1]!;
    const p = llmts(['prepare', '--input', join(root, 'data/tinyshakespeare.txt'), '--out', dataDir, '--tokenizer', 'char']);
    expect(p.status, p.stderr).toBe(0);
    const r = node(['readme-example.mjs'], { LLMTS_QUIET: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(100);
  });

  it('importing any package prints nothing, opens no device, adds no globals and starts no thread', () => {
    // with webgpu installed too, so a side-effectful import would have something to open
    symlinkSync(join(root, 'node_modules/webgpu'), join(app, 'node_modules/webgpu'));
    writeFileSync(join(app, 'imports.mjs'), `
import { readFileSync } from 'node:fs';
const before = new Set(Object.getOwnPropertyNames(globalThis));
for (const p of ['@llmts/tensor', '@llmts/nn', '@llmts/data', '@llmts/gpt', '@llmts/tensor/internal', '@llmts/data/internal']) await import(p);
await new Promise((r) => setTimeout(r, 100));
const added = Object.getOwnPropertyNames(globalThis).filter((k) => !before.has(k));
const dawn = /dawn/.test(readFileSync('/proc/self/maps', 'utf8'));
const threads = Number(/Threads:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
process.stdout.write(JSON.stringify({ added, dawn, threads }));
`);
    writeFileSync(join(app, 'bare.mjs'), `import { readFileSync } from 'node:fs'; await new Promise((r) => setTimeout(r, 100)); process.stdout.write(String(Number(/Threads:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1])));`);
    const r = node(['imports.mjs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { added: string[]; dawn: boolean; threads: number };
    expect(out.added).toEqual([]);
    expect(out.dawn).toBe(false);
    expect(out.threads).toBe(Number(node(['bare.mjs']).stdout));
  });

  it.skipIf(!hasBackend('gpu'))('adding webgpu gets the GPU', () => {
    writeFileSync(join(app, 'gpu.mjs'), `
import { init, randn, manualSeed } from '@llmts/tensor';
const { device, gpu } = await init({ device: 'gpu' });
manualSeed(1);
const a = randn([32, 48], { device: 'gpu' }), b = randn([48, 16], { device: 'gpu' });
const onGpu = await a.matmul(b).sum().item();
const onCpu = await (await a.toAsync('cpu')).matmul(await b.toAsync('cpu')).sum().item();
console.log(JSON.stringify({ device, adapter: gpu.description, diff: Math.abs(onGpu - onCpu) }));
`);
    const r = node(['gpu.mjs']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { device: string; adapter: string; diff: number };
    expect(out.device).toBe('gpu');
    expect(out.adapter.length).toBeGreaterThan(0);
    expect(out.diff).toBeLessThan(1e-2);
    // LLMTS_QUIET=1 silences Dawn's own warnings too, with stderr a shell pipe or a file
    const piped = run('sh', ['-c', `"${process.execPath}" gpu.mjs 2>&1 >out.json | cat`], { LLMTS_QUIET: '1' });
    expect(piped.status).toBe(0);
    expect(piped.stdout).toBe('');
    expect(JSON.parse(readFileSync(join(app, 'out.json'), 'utf8')).device).toBe('gpu');
    const filed = run('sh', ['-c', `"${process.execPath}" gpu.mjs 2>err.txt`], { LLMTS_QUIET: '1' });
    expect(filed.status).toBe(0);
    expect(readFileSync(join(app, 'err.txt'), 'utf8')).toBe('');
  });
});
