import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('temporary files of the tests', () => {
  it('land in a directory of this test file, inside the machine\'s temporary directory (removed after the file)', () => {
    const machine = process.env.LLMTS_MACHINE_TMPDIR!;
    expect(machine).toBeTruthy();
    expect(tmpdir()).not.toBe(machine);
    expect(tmpdir().startsWith(join(machine, 'llmts-test-'))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    writeFileSync(join(dir, 'f'), 'x');
    expect(existsSync(join(dir, 'f'))).toBe(true);
  });
});
