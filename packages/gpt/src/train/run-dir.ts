/**
 * The output directory of a training run: refuse to overwrite a run unless asked (--resume
 * continues it, --force replaces it), one trainer at a time (a lock file holding the pid), and
 * leftovers of saves killed half-way (`*.tmp-<pid>`) removed when their process is gone.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleTemps } from '@llmts/nn';
import { processAlive } from '@llmts/tensor/internal';

/** What makes a directory hold a run. */
const RUN_FILES = ['best', 'last', 'best.previous', 'last.previous', 'log.jsonl'];
/** What --force removes (the run's own files; anything else in the directory is left alone). */
const REPLACED = [...RUN_FILES, 'loss.svg', 'loss.png'];

/**
 * Take `outDir` for a run: create it, check it holds no run (unless resuming or replacing), take
 * the lock and tidy stale temporaries. Returns the function that releases the lock.
 */
export function claimOutDir(outDir: string, o: { resume: boolean; force: boolean; command?: string; outputs?: readonly string[] }): () => void {
  const cmd = o.command ?? 'train';
  mkdirSync(outDir, { recursive: true });
  const lock = join(outDir, '.lock');
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${cmd}: cannot lock --out ${outDir} (${(e as Error).message})`);
    const holder = Number(readFileSync(lock, 'utf8').trim());
    if (processAlive(holder) && holder !== process.pid) {
      throw new Error(`${cmd}: --out ${outDir} is in use by another trainer (pid ${holder}); wait for it to finish, or use another --out`);
    }
    rmSync(lock, { force: true }); // left by a trainer that was killed
    fd = openSync(lock, 'wx');
  }
  writeSync(fd, `${process.pid}\n`);
  closeSync(fd);
  const release = () => rmSync(lock, { force: true });
  try {
    const existing = RUN_FILES.filter((f) => existsSync(join(outDir, f)));
    if (existing.length > 0 && !o.resume) {
      if (!o.force) throw new Error(`${cmd}: --out ${outDir} already holds a run (${existing.join(', ')}); ${cmd === 'train' ? 'pass --resume to continue it or --force to replace it' : 'pass --force to replace it'}`);
      for (const f of [...REPLACED, ...(o.outputs ?? [])]) rmSync(join(outDir, f), { recursive: true, force: true });
    }
    removeStaleTemps(outDir);
  } catch (e) {
    release();
    throw e;
  }
  return release;
}
