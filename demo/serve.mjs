// `npm run demo`: builds the page and serves it on http://localhost:PORT (default 8080; --port N or
// PORT; --host 0.0.0.0 to reach it from another machine, which then needs https or localhost for
// WebGPU) with the headers that make it cross-origin isolated (COOP/COEP), so the CPU backend can
// use worker threads on shared WebAssembly memory. Only the built folder is served.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDemo } from './build.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.map': 'application/json',
  '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8', '.json': 'application/json',
};

/**
 * Serve `dir` on `port` (0: any free port); resolves with the server and its URL. `isolate: false`
 * leaves out COOP/COEP (the page then runs the CPU kernels on one thread).
 */
export function serveDemo(dir, port = 8080, host = '127.0.0.1', { isolate = true } = {}) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    const headers = { 'Cache-Control': 'no-cache', ...(isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}) };
    let size = -1;
    try {
      if (file.startsWith(dir + sep) || file === dir) size = statSync(file).isFile() ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    if (size < 0) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${server.address().port}/` }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = Number(i > 0 ? process.argv[i + 1] : process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`demo: --port must be a port number, got ${process.argv[i + 1] ?? process.env.PORT}`);
  const h = process.argv.indexOf('--host');
  const built = await buildDemo();
  const { url } = await serveDemo(built.out, port, h > 0 ? process.argv[h + 1] : '127.0.0.1');
  console.log(`llm.ts demo: ${url} (app.js ${(built.bundleBytes / 1024).toFixed(0)} KiB; Ctrl-C stops)`);
}
