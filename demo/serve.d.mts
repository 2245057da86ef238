import type { Server } from 'node:http';
/** Serve a built demo folder on `port` (0: any free one), cross-origin isolated unless `isolate: false`. */
export function serveDemo(dir: string, port?: number, host?: string, options?: { isolate?: boolean }): Promise<{ server: Server; url: string }>;
