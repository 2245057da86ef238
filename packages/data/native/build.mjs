// Builds the optional mmap addon with node-gyp against the local Node headers (no download).
// Never fails the install: without a compiler or headers the dataset uses positional reads.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (m) => process.stderr.write(`@llmts/data: ${m}\n`);

function findNodeGyp() {
  const candidates = [];
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
  if (npmRoot.status === 0) candidates.push(join(npmRoot.stdout.trim(), 'npm/node_modules/node-gyp/bin/node-gyp.js'));
  candidates.push(join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'));
  return candidates.find((c) => existsSync(c));
}

function findNodeDir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv && existsSync(join(fromEnv, 'include/node/node_api.h'))) return fromEnv;
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include/node/node_api.h'))) return prefix;
  return undefined;
}

const gyp = findNodeGyp();
const nodedir = findNodeDir();
if (!gyp) {
  say('node-gyp not found; memory-mapped datasets fall back to positional reads');
} else if (!nodedir) {
  say('Node headers (include/node/node_api.h) not found; memory-mapped datasets fall back to positional reads');
} else {
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: pkg, encoding: 'utf8' });
  if (r.status === 0 && existsSync(join(pkg, 'build/Release/llmts_mmap.node'))) say('built the mmap addon (build/Release/llmts_mmap.node)');
  else say(`could not build the mmap addon (${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}); datasets use positional reads`);
}
