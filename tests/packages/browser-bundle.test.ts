// Each package, as a bundler resolves it for a web page (the `browser` export condition of the
// built packages), bundles with no Node built-in, no `process`, no `Buffer` and no `require`;
// and in Node the same import still offers the file-based API. Needs the build (npm test runs it).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function bundle(source: string): Promise<{ code: string; inputs: string[] }> {
  // the entry lives in the repository so that @llmts/* resolve to the workspace packages' dist
  const dir = mkdtempSync(join(root, 'demo', '.bundle-test-'));
  try {
    writeFileSync(join(dir, 'entry.js'), source);
    const r = await build({ entryPoints: [join(dir, 'entry.js')], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent', tsconfigRaw: '{}' });
    return { code: r.outputFiles[0]!.text, inputs: Object.keys(r.metafile.inputs) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('browser bundles', () => {
  for (const pkg of ['tensor', 'nn', 'data', 'gpt']) {
    it(`@llmts/${pkg} bundles for a page without Node built-ins`, async () => {
      const { code, inputs } = await bundle(`export * from '@llmts/${pkg}';\n`);
      // tensor has one index for both (its host differs through #host); the others have a browser door
      expect(inputs.filter((p) => p.startsWith('node:') || /\/host\/node\.js$|(nn|data|gpt)\/dist\/index\.js$/.test(p))).toEqual([]);
      expect(inputs.some((p) => p.endsWith(pkg === 'tensor' ? 'dist/host/browser.js' : `${pkg}/dist/browser.js`))).toBe(true);
      expect(code).not.toMatch(/\bprocess\.(env|stderr|stdout|pid|platform)\b|\brequire\(|\bBuffer\.(from|alloc|concat|byteLength)\b/);
    });
  }

  it('a page gets what it needs and not the file-based API; Node keeps both', async () => {
    const door = (pkg: string) => import(join(root, 'packages', pkg, 'dist', 'browser.js')) as Promise<Record<string, unknown>>;
    const page = [...Object.keys(await door('gpt')), ...Object.keys(await door('data')), ...Object.keys(await door('nn'))];
    expect(page).toEqual(expect.arrayContaining(['GPT', 'generate', 'TextTrainer', 'loadGPTFromFiles', 'gptToFiles', 'gptToTar', 'TextStream', 'trainStep', 'CharTokenizer', 'gpt2FromTables', 'tokenizerFromJSON', 'AdamW', 'Linear']));
    for (const nodeOnly of ['loadGPT', 'saveGPT', 'train', 'serve', 'loadTokenizer', 'TokenDataset', 'prepareCorpus', 'saveCheckpoint']) expect(page, nodeOnly).not.toContain(nodeOnly);
    const node = await import('@llmts/gpt');
    expect(typeof node.loadGPT).toBe('function');
    expect(typeof node.loadGPTFromFiles).toBe('function');
    expect(typeof (await import('@llmts/data')).loadTokenizer).toBe('function');
  });
});
