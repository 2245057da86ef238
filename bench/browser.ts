/**
 * The demo page against Node on the same machine: training tokens/s and sampling tokens/s of the
 * same character model (the page's defaults: 2 layers, 4 heads, 64 wide, block 64, batch 12), in
 * headless Chromium on the CPU (WebAssembly) and on WebGPU (whatever adapter Chromium offers:
 * SwiftShader without a GPU), next to Node's CPU and Node's WebGPU (Dawn). Training speed is the
 * mean over steps after the first few (which compile kernels); sampling is 100 tokens at
 * temperature 0.8 with the KV cache. Also the bundle's size.
 *
 *   npm run bench -- browser [--steps 30] [--chromium /usr/bin/chromium]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { hasBackend, init, manualSeed, type Device } from '@llmts/tensor';
import { TextTrainer, generate } from '@llmts/gpt';
import { buildDemo } from '../demo/build.mjs';
import { serveDemo } from '../demo/serve.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const MODEL = { nLayer: 2, nHead: 4, nEmbd: 64, blockSize: 64, dropout: 0 };
const BATCH = 12;
const SAMPLE = 100;

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

async function nodeRow(device: Device, steps: number, text: string): Promise<Record<string, unknown>> {
  manualSeed(1337);
  const t = TextTrainer.fromText(text, { model: MODEL, batchSize: BATCH, maxIters: 500, learningRate: 2e-3, device });
  const ms: number[] = [];
  for (let i = 0; i < steps; i++) ms.push((await t.step()).ms);
  const steady = ms.slice(Math.min(5, steps - 1));
  const train = (t.tokensPerStep * steady.length * 1000) / steady.reduce((a, b) => a + b, 0);
  const t0 = performance.now();
  await generate(t.model, [[0]], { maxNewTokens: SAMPLE, temperature: 0.8 });
  const sample = (SAMPLE * 1000) / (performance.now() - t0);
  t.dispose();
  return { where: 'node', device, trainTokensPerSec: Math.round(train), sampleTokensPerSec: +sample.toFixed(1) };
}

async function pageRow(chromium: string, url: string, webgpu: boolean, steps: number): Promise<Record<string, unknown>> {
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, protocolTimeout: 1_800_000, args: ['--no-sandbox', ...(webgpu ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] : [])] });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}?device=${webgpu ? 'gpu' : 'cpu'}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    const device = await page.$eval('#device', (e) => e.textContent ?? '');
    await page.$eval('#max-iters', (e, v) => { (e as unknown as { value: string }).value = v; }, String(steps));
    await page.click('#train');
    await page.waitForSelector('#train-section[data-state="stopped"]', { timeout: 1_200_000 });
    await page.$eval('#max-new-tokens', (e, v) => { (e as unknown as { value: string }).value = v; }, String(SAMPLE));
    await page.click('#generate');
    await page.waitForSelector('#output[data-state="done"]', { timeout: 600_000 });
    const speed = await page.evaluate('window.llmtsDemo.tokensPerSec') as { train: number; sample: number };
    return { where: 'chromium', device, trainTokensPerSec: Math.round(speed.train), sampleTokensPerSec: +speed.sample.toFixed(1) };
  } finally {
    await browser.close();
  }
}

export async function run(args: string[]): Promise<{ rows: Record<string, unknown>[]; meta: Record<string, unknown> }> {
  const steps = Number(flag(args, 'steps', '30'));
  const chromium = flag(args, 'chromium', process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
  if (!existsSync(chromium)) throw new Error(`bench browser: no chromium at ${chromium} (scripts/install-chromium.sh, or --chromium PATH)`);
  const text = readFileSync(join(root, 'data/tinyshakespeare.txt'), 'utf8');
  const site = mkdtempSync(join(tmpdir(), 'llmts-bench-site-'));
  const built = await buildDemo(site);
  const { server, url } = await serveDemo(built.out, 0);
  const rows: Record<string, unknown>[] = [];
  try {
    await init({ device: 'cpu' });
    rows.push(await nodeRow('cpu', steps, text));
    await init({ device: 'auto' });
    if (hasBackend('gpu')) rows.push(await nodeRow('gpu', steps, text));
    rows.push(await pageRow(chromium, url, false, steps));
    rows.push(await pageRow(chromium, url, true, steps));
  } finally {
    server.close();
  }
  const bundle = readFileSync(join(built.out, 'app.js'));
  rmSync(site, { recursive: true, force: true });
  return { rows, meta: { model: MODEL, batchSize: BATCH, steps, bundleBytes: bundle.byteLength, bundleGzipBytes: gzipSync(bundle).byteLength, wasmBytes: built.wasmBytes } };
}
