import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    // tests say their device explicitly; the default stays the CPU even where a GPU exists
    env: { LLMTS_DEVICE: 'cpu', LLMTS_QUIET: '1' },
    hookTimeout: 60_000,
  },
});
