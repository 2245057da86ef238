/** Reading instruction data from a JSON file (Node; a page parses the JSON itself). */
import { readFileSync } from 'node:fs';
import type { InstructionExample } from './instruction.ts';

/** Read a JSON list of {instruction, input, output}, checking every entry. */
export function loadInstructionData(path: string): InstructionExample[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read instruction data (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error(`${path}: expected a JSON list of {instruction, input, output}`);
  data.forEach((e, i) => {
    for (const key of ['instruction', 'input', 'output'] as const) {
      if (typeof (e as Record<string, unknown>)?.[key] !== 'string') throw new Error(`${path}: entry ${i} has no string '${key}'`);
    }
  });
  return data as InstructionExample[];
}
