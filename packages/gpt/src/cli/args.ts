/**
 * A small, strict command-line parser: `--flag value` and `--flag=value`, booleans without a value,
 * typed values, choices, `--help`; unknown flags and bad values are errors that list what is valid.
 */
export interface FlagSpec {
  name: string;
  type: 'string' | 'number' | 'int' | 'boolean';
  help: string;
  choices?: readonly string[];
  /** Allow values outside `choices` (e.g. a path as well as the named tokenizers). */
  openChoices?: boolean;
  default?: string | number | boolean;
  required?: boolean;
  min?: number;
  max?: number;
  /** Exclusive upper bound. */
  below?: number;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  run(args: ParsedArgs): Promise<number>;
  /** Commands under this one (`llmts finetune classify`); the first argument picks one. */
  subcommands?: CommandSpec[];
}

export type ParsedArgs = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {}

/** Parse `argv` against a command's flags; 'help' when --help was asked for. */
export function parseArgs(cmd: CommandSpec, argv: readonly string[]): ParsedArgs | 'help' {
  const out: ParsedArgs = {};
  const byName = new Map(cmd.flags.map((f) => [f.name, f]));
  const valid = () => cmd.flags.map((f) => `--${f.name}`).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (!arg.startsWith('--')) throw new UsageError(`llmts ${cmd.name}: unexpected argument '${arg}' (flags: ${valid()})`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`llmts ${cmd.name}: unknown flag --${name} (valid: ${valid()}, --help)`);
    let raw: string;
    if (spec.type === 'boolean') {
      if (eq >= 0) raw = arg.slice(eq + 1);
      else if (BOOLEAN_WORDS.has((argv[i + 1] ?? '').toLowerCase())) raw = argv[++i]!;
      else { out[name] = true; continue; }
    } else if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`llmts ${cmd.name}: --${name} needs a value (${spec.help})`);
      raw = next;
      i++;
    }
    out[name] = convert(cmd.name, spec, raw);
  }
  for (const f of cmd.flags) {
    if (out[f.name] === undefined && f.default !== undefined) out[f.name] = f.default;
    if (out[f.name] === undefined && f.required) throw new UsageError(`llmts ${cmd.name}: --${f.name} is required (${f.help})`);
  }
  return out;
}

const BOOLEAN_WORDS = new Set(['true', 'false', '1', '0']);
/** Plain decimal numbers only: no hex (0x10), binary, Infinity or empty strings, which Number() accepts. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function convert(cmd: string, spec: FlagSpec, raw: string): string | number | boolean {
  const bad = (what: string) => new UsageError(`llmts ${cmd}: --${spec.name} ${what}, got '${raw}'`);
  switch (spec.type) {
    case 'boolean':
      if (raw.toLowerCase() === 'true' || raw === '1') return true;
      if (raw.toLowerCase() === 'false' || raw === '0') return false;
      throw bad('must be true or false');
    case 'number':
    case 'int': {
      const v = Number(raw);
      if (!DECIMAL.test(raw.trim()) || !Number.isFinite(v)) throw bad(spec.type === 'int' ? 'must be an integer' : 'must be a number');
      if (spec.type === 'int' && !Number.isSafeInteger(v)) throw bad(`must be an integer${Number.isInteger(v) ? ` of at most ${Number.MAX_SAFE_INTEGER}` : ''}`);
      if (spec.min !== undefined && v < spec.min) throw bad(`must be >= ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) throw bad(`must be <= ${spec.max}`);
      if (spec.below !== undefined && v >= spec.below) throw bad(`must be < ${spec.below}`);
      return v;
    }
    case 'string':
      if (spec.choices && !spec.openChoices && !spec.choices.includes(raw)) throw bad(`must be one of ${spec.choices.join(', ')}`);
      return raw;
  }
}

export function helpText(cmd: CommandSpec): string {
  const width = Math.max(...cmd.flags.map((f) => f.name.length + (f.type === 'boolean' ? 0 : 8))) + 4;
  const lines = [`llmts ${cmd.name}: ${cmd.summary}`, '', `usage: ${cmd.usage}`, '', 'flags:'];
  for (const f of cmd.flags) {
    const left = `--${f.name}${f.type === 'boolean' ? '' : ` <${f.type === 'string' ? 'value' : f.type}>`}`;
    const extra = [f.choices ? `one of: ${f.choices.join(', ')}${f.openChoices ? ', or a path' : ''}` : '', f.default !== undefined ? `default ${f.default}` : '', f.required ? 'required' : '']
      .filter(Boolean).join('; ');
    lines.push(`  ${left.padEnd(width)}${f.help}${extra ? ` (${extra})` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(width)}show this help`);
  return lines.join('\n');
}

/** Flags several commands share. */
export const commonFlags = {
  checkpoint: { name: 'checkpoint', type: 'string', help: 'a checkpoint directory, or a training --out directory', required: true },
  device: { name: 'device', type: 'string', help: 'where to run (default: the GPU when there is one)', choices: ['gpu', 'cpu'] },
  quantize: { name: 'quantize', type: 'string', help: 'int8 (per-output-channel scales) or int4 (groups of 32) weights for Linear layers and the token embedding, at load time', choices: ['int8', 'int4'] },
  tokenizer: { name: 'tokenizer', type: 'string', help: 'gpt2, a tokenizer JSON file, or a prepared corpus directory', choices: ['gpt2'], openChoices: true, default: 'gpt2' },
} as const satisfies Record<string, FlagSpec>;
