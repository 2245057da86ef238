/**
 * The host environment, read without assuming Node: settings from `process.env` where there is a
 * `process` (a browser page has none), and the one line of device news on stderr (or the console).
 */
type ProcessLike = { env?: Record<string, string | undefined>; stderr?: { write(s: string): unknown } };

function hostProcess(): ProcessLike | undefined {
  return (globalThis as { process?: ProcessLike }).process;
}

/** An LLMTS_* setting, or undefined when unset or empty. */
export function setting(name: string): string | undefined {
  const v = hostProcess()?.env?.[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Whether LLMTS_QUIET=1 asks for silence. */
export function quiet(): boolean {
  return setting('LLMTS_QUIET') === '1';
}

/** Write one line of news for the user (`llm.ts: …`) unless LLMTS_QUIET=1. */
export function notice(message: string): void {
  if (quiet()) return;
  const stderr = hostProcess()?.stderr;
  if (stderr !== undefined) stderr.write(`llm.ts: ${message}\n`);
  else console.warn(`llm.ts: ${message}`);
}

const said = new Set<string>();

/** `notice`, once per `key` for the life of the process. */
export function noticeOnce(key: string, message: string): void {
  if (said.has(key)) return;
  said.add(key);
  notice(message);
}
