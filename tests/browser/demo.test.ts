// The demo page in headless Chromium (Debian's `chromium`, driven by puppeteer-core; nothing is
// downloaded): built and served as `npm run demo` does, loaded (a) with WebGPU (SwiftShader's
// adapter here and in CI, chosen with ?device=gpu; by default the page prefers the CPU to a software
// adapter) and (b) without it. In each: greedy sampling from a checkpoint made in
// Node gives exactly the tokens `llmts sample --temperature 0` gives; 20 training iterations lower
// the loss; a Hugging Face GPT-2 directory without tokenizer files samples PyTorch's greedy tokens;
// no page error is logged; a screenshot is saved under out/browser/. The CPU run also stops and
// resumes training, and downloads its checkpoint (.tar), which `llmts sample` reads back to the
// page's own tokens.
// LLMTS_REQUIRE_BROWSER=1 (CI) turns a missing chromium into a failure instead of a skip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { manualSeed } from '@llmts/tensor';
import { TextTrainer, saveGPT } from '@llmts/gpt';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && existsSync(p));
const required = process.env.LLMTS_REQUIRE_BROWSER === '1';
const shots = join(root, 'out', 'browser');
const PROMPT = 'ROMEO:';
const NEW_TOKENS = 40;

let work = '';
let checkpoint = '';
let nodeTokens: number[] = [];
let server: Server | null = null;
let plainServer: Server | null = null;
let url = '';
let plainUrl = '';
let bundleBytes = 0;

const hfTiny = join(root, '../shared/fixtures/hf-gpt2-tiny');
const HF_PROMPT = 'The quick brown fox jumps over the lazy dog.';

/** `llmts sample --temperature 0` in Node (the built CLI), its tokens. */
function cliGreedy(path: string, prompt = PROMPT, count = NEW_TOKENS): number[] {
  const out = execFileSync(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), 'sample', '--checkpoint', path, '--prompt', prompt, '--max-new-tokens', String(count), '--temperature', '0', '--device', 'cpu', '--json'], {
    encoding: 'utf8', env: { ...process.env, LLMTS_QUIET: '1', LLMTS_DEVICE: 'cpu' },
  });
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { tokens: number[] }).tokens;
}

beforeAll(async () => {
  if (CHROMIUM === undefined) {
    if (required) throw new Error('LLMTS_REQUIRE_BROWSER=1 but no chromium was found (apt-get install chromium, or set CHROMIUM_PATH)');
    return;
  }
  work = mkdtempSync(join(tmpdir(), 'llmts-browser-'));
  // a small character model that has learned something, saved as `llmts train` saves checkpoints
  manualSeed(7);
  const text = readFileSync(join(root, 'data/tinyshakespeare.txt'), 'utf8').slice(0, 200_000);
  const trainer = TextTrainer.fromText(text, { model: { nLayer: 2, nHead: 2, nEmbd: 48, blockSize: 32 }, batchSize: 8, maxIters: 150, learningRate: 3e-3, warmupIters: 10, device: 'cpu' });
  for (let i = 0; i < 150; i++) await trainer.step();
  checkpoint = join(work, 'run', 'best');
  mkdirSync(join(work, 'run'));
  await saveGPT(trainer.model, trainer.tokenizer, checkpoint, { optimizer: trainer.optimizer, state: { iter: trainer.iter } });
  trainer.dispose();
  nodeTokens = cliGreedy(checkpoint);
  const { buildDemo } = await import('../../demo/build.mjs');
  const { serveDemo } = await import('../../demo/serve.mjs');
  const built = await buildDemo(join(work, 'site'));
  bundleBytes = built.bundleBytes;
  ({ server, url } = await serveDemo(built.out, 0));
  ({ server: plainServer, url: plainUrl } = await serveDemo(built.out, 0, '127.0.0.1', { isolate: false }));
  mkdirSync(shots, { recursive: true });
}, 240_000);

afterAll(() => {
  server?.close();
  plainServer?.close();
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

/** A headless page on the demo, its errors collected. */
async function open(webgpu: boolean, at = url): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM!,
    headless: true,
    protocolTimeout: 600_000, // waitForSelector is one call that lasts until the page is done
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...(webgpu ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] : [])],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 1000 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${(e as Error).message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  await page.goto(at);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  return { browser, page, errors };
}

async function setField(page: Page, id: string, value: string): Promise<void> {
  await page.$eval(`#${id}`, (e, v) => { (e as unknown as { value: string }).value = v; }, value);
}

/** Greedy tokens from the page's current model, through the Generate button. */
async function pageGreedy(page: Page, prompt = PROMPT, count = NEW_TOKENS): Promise<number[]> {
  await setField(page, 'prompt', prompt);
  await setField(page, 'temperature', '0');
  await setField(page, 'max-new-tokens', String(count));
  await page.waitForSelector('#generate:not([disabled])', { timeout: 60_000 });
  await page.$eval('#output', (e) => { delete (e as unknown as { dataset: Record<string, string> }).dataset.state; });
  await page.click('#generate');
  await page.waitForSelector('#output[data-state="done"]', { timeout: 240_000 });
  expect(await page.$eval('#sample-error', (e) => e.textContent)).toBe('');
  return JSON.parse(await page.$eval('#output', (e) => (e as unknown as { dataset: Record<string, string | undefined> }).dataset.tokens ?? '[]')) as number[];
}

/** Train `iters` iterations of a small model through the Train button; the losses. */
async function pageTrain(page: Page, iters: number): Promise<number[]> {
  for (const [id, v] of [['n-layer', '1'], ['n-head', '2'], ['n-embd', '32'], ['block-size', '32'], ['batch-size', '8'], ['max-iters', String(iters)], ['lr', '0.003']]) await setField(page, id!, v!);
  await page.click('#train');
  await page.waitForSelector('#train-section[data-state="stopped"]', { timeout: 420_000 });
  expect(await page.$eval('#train-error', (e) => e.textContent)).toBe('');
  return page.evaluate('window.llmtsDemo.losses.map((l) => l.loss)') as Promise<number[]>;
}

async function loadCheckpoint(page: Page, files: string[]): Promise<string> {
  await page.$eval('#model-info', (e) => { e.textContent = ''; });
  await page.$eval('#sample-error', (e) => { e.textContent = ''; });
  const input = (await page.$('#files'))!;
  await (input as unknown as { uploadFile(...paths: string[]): Promise<void> }).uploadFile(...files);
  await page.waitForFunction("/^Loaded /.test(document.getElementById('model-info').textContent) || document.getElementById('sample-error').textContent !== ''", { timeout: 60_000 });
  return page.$eval('#model-info', (e) => e.textContent ?? '');
}

/** A Hugging Face GPT-2 directory without tokenizer files: the page's greedy tokens against PyTorch's and llmts's. */
async function checkHuggingFace(page: Page): Promise<void> {
  expect(await loadCheckpoint(page, ['config.json', 'model.safetensors'].map((f) => join(hfTiny, f)))).toMatch(/^Loaded checkpoint: 2 layers, 4 heads, 64 wide, block 128, vocabulary 50257/);
  const expected = JSON.parse(readFileSync(join(hfTiny, 'expected.json'), 'utf8')) as { greedy_20: number[] };
  const tokens = await pageGreedy(page, HF_PROMPT, 20);
  expect(tokens).toEqual(expected.greedy_20);
  expect(tokens).toEqual(cliGreedy(hfTiny, HF_PROMPT, 20));
}

const checkpointFiles = () => readdirSync(checkpoint).map((f) => join(checkpoint, f));

describe.skipIf(CHROMIUM === undefined && !required)('the demo page in headless Chromium', () => {
  it('builds a bundle without Node built-ins', () => {
    expect(bundleBytes).toBeGreaterThan(50_000);
    expect(nodeTokens).toHaveLength(NEW_TOKENS);
  });

  it('(a) with WebGPU: samples the tokens llmts sample gives, and 20 iterations lower the loss', async () => {
    const { browser, page, errors } = await open(true, `${url}?device=gpu`);
    try {
      expect(await page.$eval('#device', (e) => e.textContent)).toMatch(/^WebGPU: /);
      expect(await loadCheckpoint(page, checkpointFiles())).toMatch(/^Loaded checkpoint: 2 layers, 2 heads, 48 wide/);
      expect(await pageGreedy(page)).toEqual(nodeTokens);
      await checkHuggingFace(page);
      const losses = await pageTrain(page, 20);
      expect(losses).toHaveLength(20);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.3);
      await page.screenshot({ path: join(shots, 'demo-webgpu.png'), fullPage: true });
      // by default a software adapter is passed over for the faster CPU backend, and the page says so
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      expect(await page.$eval('#device', (e) => e.textContent)).toBe('CPU (WebAssembly)');
      expect(await page.$eval('#device-note', (e) => e.textContent)).toMatch(/only WebGPU adapter is a software one .*choose WebGPU to use it/);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);

  it('(b) without WebGPU: says so, runs on the CPU, matches llmts sample, trains, and its downloaded .tar is read by llmts sample', async () => {
    const { browser, page, errors } = await open(false);
    try {
      expect(await page.$eval('#device', (e) => e.textContent)).toBe('CPU (WebAssembly)');
      expect(await page.$eval('#device-note', (e) => e.textContent)).toMatch(/WebGPU is not available here .*the CPU runs everything/);
      // cross-origin isolated: the kernels run on worker threads as well
      const [threads, cores, kernels] = (await page.evaluate('[window.llmtsDemo.init.cpu.threads, Math.min(navigator.hardwareConcurrency, 8), window.llmtsDemo.init.cpu.kernels]')) as [number, number, string];
      expect(threads).toBe(cores);
      expect(kernels).toMatch(/^simd/);
      // a broken checkpoint is a clear message naming the file, and the page carries on
      const bad = join(work, 'bad');
      mkdirSync(bad);
      execFileSync('sh', ['-c', `printf '{"model_type": "gpt2"' > ${bad}/config.json`]);
      await loadCheckpoint(page, [join(bad, 'config.json')]);
      expect(await page.$eval('#sample-error', (e) => e.textContent)).toMatch(/config\.json: not valid JSON/);
      expect(await loadCheckpoint(page, checkpointFiles())).toMatch(/^Loaded /);
      expect(await pageGreedy(page)).toEqual(nodeTokens);
      await checkHuggingFace(page);
      const losses = await pageTrain(page, 20);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.3);
      // Stop mid-run, then Resume: the same run continues to its target
      await setField(page, 'max-iters', '400');
      await page.click('#resume');
      await page.waitForFunction('window.llmtsDemo.losses.length >= 30', { timeout: 120_000 });
      await page.click('#stop');
      await page.waitForSelector('#train-section[data-state="stopped"]', { timeout: 60_000 });
      const stoppedAt = (await page.evaluate('window.llmtsDemo.trainer.iter')) as number;
      expect(stoppedAt).toBeGreaterThanOrEqual(30);
      expect(stoppedAt).toBeLessThan(400);
      await setField(page, 'max-iters', String(stoppedAt + 10));
      await page.click('#resume');
      await page.waitForFunction(`window.llmtsDemo.trainer.iter === ${stoppedAt + 10} && !window.llmtsDemo.training`, { timeout: 120_000 });
      expect(await page.evaluate('window.llmtsDemo.losses.map((l) => l.iter)')).toEqual(Array.from({ length: stoppedAt + 10 }, (_, i) => i + 1));
      // the trained model: the page's greedy tokens, then the same from its download in Node
      const own = await pageGreedy(page);
      const downloads = join(work, 'downloads');
      mkdirSync(downloads);
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
      await page.click('#download');
      const tar = join(downloads, 'llmts-browser-char.tar');
      for (let i = 0; i < 200 && !(existsSync(tar) && readdirSync(downloads).every((f) => !f.endsWith('.crdownload'))); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(tar)).toBe(true);
      expect(cliGreedy(tar)).toEqual(own);
      await page.screenshot({ path: join(shots, 'demo-cpu.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);

  it('(c) served without COOP/COEP: one thread, and the page still trains', async () => {
    const { browser, page, errors } = await open(false, `${plainUrl}?device=cpu`);
    try {
      expect(await page.evaluate('[crossOriginIsolated, typeof SharedArrayBuffer, window.llmtsDemo.init.cpu.threads]')).toEqual([false, 'undefined', 1]);
      expect(await page.$eval('#device-note', (e) => e.textContent)).toMatch(/1 thread \(the page is not cross-origin isolated/);
      const losses = await pageTrain(page, 20);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.3);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
