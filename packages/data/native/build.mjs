// Builds the optional mmap addon (native/mmap.c, Node-API) with the C compiler and Node's own
// headers, straight into build/llmts_mmap.node: no node-gyp, no download. It never fails the
// install: without a compiler or headers, token datasets use positional reads (said once at run
// time). Runs as this package's postinstall (npm 11 runs it once allowed:
// `npm install-scripts approve @llmts/data`), or by hand: `node node_modules/@llmts/data/native/build.mjs`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (m) => process.stderr.write(`@llmts/data: ${m}\n`);
const fallback = 'token datasets will use positional reads';

/** A directory holding node_api.h: npm's nodedir, the Node install's own headers, or node-gyp's cache. */
function findHeaders() {
  const candidates = [];
  if (process.env.npm_config_nodedir) candidates.push(join(process.env.npm_config_nodedir, 'include/node'));
  candidates.push(join(dirname(dirname(process.execPath)), 'include/node'));
  const version = process.versions.node;
  candidates.push(join(homedir(), '.cache/node-gyp', version, 'include/node'), join(homedir(), '.node-gyp', version, 'include/node'));
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
}

function build() {
  if (process.platform === 'win32') return say(`the mmap addon is not built on Windows; ${fallback}`);
  const headers = findHeaders();
  if (headers === undefined) return say(`Node's headers (node_api.h) were not found; ${fallback}`);
  const cc = process.env.CC || 'cc';
  const out = join(pkg, 'build', 'llmts_mmap.node');
  const tmp = `${out}.tmp-${process.pid}`;
  mkdirSync(dirname(out), { recursive: true });
  const args = ['-O2', '-Wall', '-shared', '-fPIC', `-I${headers}`, join(pkg, 'native', 'mmap.c'), '-o', tmp];
  if (process.platform === 'darwin') args.splice(3, 0, '-undefined', 'dynamic_lookup');
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  const cleanUp = () => {
    rmSync(tmp, { force: true });
    if (readdirSync(dirname(out)).length === 0) rmdirSync(dirname(out));
  };
  if (r.error !== undefined) {
    cleanUp();
    return say(`no C compiler (${cc}: ${r.error.code ?? r.error.message}); ${fallback}`);
  }
  if (r.status !== 0) {
    cleanUp();
    return say(`could not build the mmap addon (${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}); ${fallback}`);
  }
  renameSync(tmp, out);
  say('built the mmap addon (build/llmts_mmap.node)');
}

try {
  build();
} catch (e) {
  say(`could not build the mmap addon (${e.message}); ${fallback}`);
}
