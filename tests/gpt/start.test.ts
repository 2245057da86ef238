// `npm start` is the README's first command: it must work again when run a second time.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npm start (examples/main.ts)', () => {
  it('runs twice in a row: the second run replaces the demo\'s previous one, a directory named with --out is never replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-'));
    mkdirSync(join(dir, 'data'));
    symlinkSync(join(root, 'data', 'tinyshakespeare.txt'), join(dir, 'data', 'tinyshakespeare.txt'));
    const start = (...args: string[]) => spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'examples', 'main.ts'), '--device', 'cpu', '--max-iters', '3', ...args], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, LLMTS_QUIET: '1' }, timeout: 120_000,
    });
    const first = start();
    expect(first.status, first.stderr).toBe(0);
    const second = start();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain('replacing the previous demo run');
    expect(second.stdout).toContain('done: 3 iterations');
    const named = start('--out', join(dir, 'runs', 'shakespeare-char-cpu'));
    expect(named.status).not.toBe(0);
    expect(named.stderr).toMatch(/already holds a run/);
  }, 240_000);
});
