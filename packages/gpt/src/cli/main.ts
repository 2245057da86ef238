/**
 * The `llmts` command line: `llmts <command> [flags]`, `llmts <command> --help`.
 */
import { readFileSync } from 'node:fs';
import { init, type Device } from '@llmts/tensor';
import { helpText, parseArgs, UsageError, type CommandSpec } from './args.ts';
import { tokenizeCommand, detokenizeCommand } from './commands/tokenize.ts';
import { prepareCommand } from './commands/prepare.ts';
import { trainCommand } from './commands/train.ts';
import { sampleCommand } from './commands/sample.ts';
import { scoreCommand } from './commands/score.ts';
import { chatCommand } from './commands/chat.ts';
import { exportCommand } from './commands/export.ts';
import { serveCommand } from './commands/serve.ts';
import { finetuneCommand } from './commands/finetune.ts';
import { classifyCommand } from './commands/classify.ts';
import { evalCommand } from './commands/eval.ts';
import { tuneCommand } from './commands/tune.ts';

export const commands: CommandSpec[] = [prepareCommand, tuneCommand, trainCommand, finetuneCommand, sampleCommand, scoreCommand, chatCommand, classifyCommand, evalCommand, serveCommand, exportCommand, tokenizeCommand, detokenizeCommand];

function overview(): string {
  const w = Math.max(...commands.map((c) => c.name.length)) + 2;
  return ['llmts: train, sample and fine-tune GPTs in TypeScript', '', 'usage: llmts <command> [flags]   (llmts <command> --help for its flags; llmts --version)', '', 'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}${c.summary}`)].join('\n');
}

/** The version of @llmts/gpt (the same for every package of a release). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Run `llmts <argv…>`; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`llmts ${version()}\n`);
    return 0;
  }
  let cmd = commands.find((c) => c.name === name);
  if (cmd === undefined) {
    process.stderr.write(`llmts: unknown command '${name}' (valid: ${commands.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  if (cmd.subcommands) {
    const [subName, ...subRest] = rest;
    const subs = cmd.subcommands;
    if (subName === undefined || subName === '--help' || subName === '-h') {
      const w = Math.max(...subs.map((c) => c.name.length)) + 2;
      process.stdout.write(`llmts ${cmd.name}: ${cmd.summary}\n\nusage: ${cmd.usage}\n\ncommands:\n${subs.map((c) => `  ${c.name.padEnd(w)}${c.summary}`).join('\n')}\n`);
      return subName === undefined ? 2 : 0;
    }
    const sub = subs.find((c) => c.name === subName);
    if (sub === undefined) {
      process.stderr.write(`llmts ${cmd.name}: unknown command '${subName}' (valid: ${subs.map((c) => c.name).join(', ')})\n`);
      return 2;
    }
    cmd = { ...sub, name: `${cmd.name} ${sub.name}` };
    rest.splice(0, rest.length, ...subRest);
  }
  try {
    const args = parseArgs(cmd, rest);
    if (args === 'help') {
      process.stdout.write(`${helpText(cmd)}\n`);
      return 0;
    }
    // commands that run a model open their device first (the GPU only when it may be used)
    if (cmd.flags.some((f) => f.name === 'device')) await init({ device: (args.device as Device | undefined) ?? 'auto' });
    return await cmd.run(args);
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`${e instanceof UsageError ? '' : 'error: '}${process.env.LLMTS_DEBUG === '1' && !(e instanceof UsageError) ? err.stack ?? err.message : err.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/** Stop with one line for an error that escaped a command (the stack with LLMTS_DEBUG=1). */
function fatal(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`error: ${process.env.LLMTS_DEBUG === '1' ? err.stack ?? err.message : err.message}\n`);
  process.exit(1);
}

/**
 * The `llmts` executable: `main` with the process around it. A closed stdout (`llmts sample | head`)
 * ends the command quietly; any error is one line on stderr.
 */
export async function runCli(argv: readonly string[]): Promise<void> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    fatal(e);
  });
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.exitCode = await main(argv);
}
