/**
 * Swapping submodules in place (what quantization and LoRA do to a trained model): every module
 * held by a property or an array/ModuleList slot is offered, with its dotted name, to a function
 * that returns its replacement or null to keep it.
 */
import { Module } from './module.ts';

/**
 * Replace submodules of `model` for which `fn` returns a module; returns the names replaced.
 * Replacements are not visited again.
 * @example replaceModules(model, (name, m) => (m instanceof Linear ? new MyLinear(m) : null))
 */
export function replaceModules(model: Module, fn: (name: string, module: Module) => Module | null): string[] {
  const replaced: string[] = [];
  for (const [prefix, parent] of [...model.namedModules()]) {
    const props = parent as unknown as Record<string, unknown>;
    const offer = (child: unknown, name: string, set: (m: Module) => void) => {
      if (!(child instanceof Module)) return;
      const r = fn(name, child);
      if (r === null) return;
      set(r);
      replaced.push(name);
    };
    const dotted = (key: string) => (prefix ? `${prefix}.${key}` : key);
    // a ModuleList or Sequential keeps its children in an array named by position
    const positional = [...parent.namedChildren()].every(([n]) => /^\d+$/.test(n));
    for (const [key, value] of Object.entries(parent)) {
      if (Array.isArray(value)) value.forEach((v, i) => offer(v, positional ? dotted(String(i)) : dotted(`${key}.${i}`), (r) => { value[i] = r; }));
      else offer(value, dotted(key), (r) => { props[key] = r; });
    }
  }
  return replaced;
}
