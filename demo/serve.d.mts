import type { Server } from 'node:http';
/** Serve a built demo folder cross-origin isolated on `port` (0: any free one). */
export function serveDemo(dir: string, port?: number, host?: string): Promise<{ server: Server; url: string }>;
