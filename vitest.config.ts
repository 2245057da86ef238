import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

export default defineConfig({
  // the suites run on the TypeScript sources (no build needed); the consumer suite checks the built packages
  resolve: {
    alias: [
      { find: /^@llmts\/(tensor|data)\/internal$/, replacement: src('$1/src/internal.ts') },
      { find: /^@llmts\/(tensor|nn|data|gpt)$/, replacement: src('$1/src/index.ts') },
      { find: /^#host$/, replacement: src('tensor/src/host/node.ts') },
    ],
  },
  test: {
    include: ['tests/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    testTimeout: 60_000,
    // tests say their device explicitly; the default stays the CPU even where a GPU exists
    env: { LLMTS_DEVICE: 'cpu', LLMTS_QUIET: '1' },
    hookTimeout: 60_000,
  },
});
