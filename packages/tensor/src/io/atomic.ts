/**
 * Files written so that readers see the old content or the new, never a mix (a temporary sibling,
 * flushed, renamed over the target, the directory flushed), and whether a lock's owner still runs.
 * Node only: in a browser page these throw an error naming the byte-level alternative.
 */
import { host } from '#host';

export function writeFileAtomic(path: string, chunks: readonly Uint8Array[] | Uint8Array | string): void {
  host.writeFileAtomic(path, chunks);
}

/** Flush a directory's entries (a rename is durable once its directory is). */
export function syncDir(dir: string): void {
  host.syncDir(dir);
}

/** Whether a process with this pid is running (the owner of a lock or of a `*.tmp-<pid>` file). */
export function processAlive(pid: number): boolean {
  return host.processAlive(pid);
}
