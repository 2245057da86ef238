// The public doors: every exported function, class and public method has JSDoc, and the
// internals live behind the /internal subpaths, not in the root exports.
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { fileURLToPath } from 'node:url';
import * as tensorPkg from '@llmts/tensor';
import * as nnPkg from '@llmts/nn';
import * as dataPkg from '@llmts/data';
import * as gptPkg from '@llmts/gpt';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGES = ['tensor', 'nn', 'data', 'gpt'];

/** Exported functions, classes and their own public methods/getters that have no JSDoc. */
function undocumented(): string[] {
  const entries = PACKAGES.map((p) => `${root}packages/${p}/src/index.ts`);
  const program = ts.createProgram(entries, {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, allowImportingTsExtensions: true, noEmit: true, strict: true,
  });
  const checker = program.getTypeChecker();
  const documented = (s: ts.Symbol) => s.getDocumentationComment(checker).length > 0 || s.getJsDocTags(checker).length > 0;
  const missing: string[] = [];
  entries.forEach((entry, k) => {
    const mod = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const exported of checker.getExportsOfModule(mod)) {
      const sym = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decl = sym.declarations?.[0];
      if (decl === undefined) continue;
      const isClass = (sym.flags & ts.SymbolFlags.Class) !== 0;
      if ((isClass || sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) && !documented(sym)) missing.push(`@llmts/${PACKAGES[k]}: ${exported.name}`);
      if (!isClass) continue;
      for (const member of checker.getDeclaredTypeOfSymbol(sym).getProperties()) {
        const d = member.declarations?.[0];
        if (d === undefined || d.parent !== decl || !(ts.isMethodDeclaration(d) || ts.isGetAccessorDeclaration(d))) continue;
        if (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        if (!documented(member)) missing.push(`@llmts/${PACKAGES[k]}: ${exported.name}.${member.name}`);
      }
    }
  });
  return missing;
}

describe('public API', () => {
  it('every public function, class and method has JSDoc', () => {
    expect(undocumented()).toEqual([]);
  }, 60_000);

  it('internals are not in the root exports', () => {
    const internals: [object, string[]][] = [
      [tensorPkg, ['primitives', 'reference', 'registerBackend', 'getBackend', 'writeFileAtomic', 'parseHeader', 'encodeSafetensors', 'adamUpdate_', 'sgdUpdate_', 'sumToShape', 'initWebGPU', 'webgpuBackend', 'setWasmKernels', 'compareArrays', 'unary', 'binary']],
      [dataPkg, ['mmapAddon', 'Utf8Validator', 'ProgressLine', 'formatBytes', 'seededPermutation']],
      [gptPkg, ['cliMain', 'commands', 'parseArgs', 'helpText', 'UsageError', 'encodePng']],
      [nnPkg, []],
    ];
    for (const [pkg, names] of internals) for (const name of names) expect(Object.keys(pkg), name).not.toContain(name);
    expect(Object.keys(tensorPkg)).toEqual(expect.arrayContaining(['init', 'tensor', 'tidy', 'memoryStats', 'gradcheck', 'saveSafetensors']));
  });
});
