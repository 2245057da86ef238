// Every suite sees the GPU when there is one (lavapipe in CI): init() opens it while LLMTS_DEVICE=cpu keeps the CPU the default.
import { afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init } from '@llmts/tensor';

// Each test file gets its own temporary directory as TMPDIR (os.tmpdir() and the processes it
// starts follow it), removed when the file is done: the runs, checkpoints and packed tarballs the
// tests write no longer pile up in the machine's /tmp.
const machineTmp = (process.env.LLMTS_MACHINE_TMPDIR ??= tmpdir());
const fileTmp = mkdtempSync(join(machineTmp, 'llmts-test-'));
process.env.TMPDIR = fileTmp;
afterAll(() => {
  process.env.TMPDIR = machineTmp;
  rmSync(fileTmp, { recursive: true, force: true });
});

await init();
