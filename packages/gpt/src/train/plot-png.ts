/** Loss curves as PNG: the rasteriser of plot.ts, encoded with node:zlib (Node only). */
import { deflateSync } from 'node:zlib';
import { Raster, fmtTick, frameFor, sx, sy, ticks, type Series } from './plot.ts';

const rgb = (hex: string): [number, number, number] => [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];

/** The plot as PNG bytes. */
export function plotPng(series: readonly Series[], options: { width?: number; height?: number } = {}): Uint8Array {
  const f = frameFor(series, options.width ?? 800, options.height ?? 480);
  const r = new Raster(f.width, f.height);
  const grey: [number, number, number] = [225, 225, 225];
  const dark: [number, number, number] = [40, 40, 40];
  for (const t of ticks(f.y0, f.y1)) {
    r.line(f.left, sy(f, t), f.right, sy(f, t), grey);
    const label = fmtTick(t);
    r.text(f.left - 8 - label.length * 12, sy(f, t) - 7, label, dark);
  }
  for (const t of ticks(f.x0, f.x1)) {
    r.line(sx(f, t), f.top, sx(f, t), f.bottom, grey);
    const label = fmtTick(t);
    r.text(sx(f, t) - label.length * 6, f.bottom + 8, label, dark);
  }
  r.line(f.left, f.top, f.right, f.top, dark); r.line(f.left, f.bottom, f.right, f.bottom, dark);
  r.line(f.left, f.top, f.left, f.bottom, dark); r.line(f.right, f.top, f.right, f.bottom, dark);
  series.forEach((s, i) => {
    const c = rgb(s.color);
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => [sx(f, x), sy(f, y)] as const);
    for (let k = 1; k < pts.length; k++) r.line(pts[k - 1]![0], pts[k - 1]![1], pts[k]![0], pts[k]![1], c, s.markers ? 2 : 1);
    if (s.markers) for (const [x, y] of pts) for (let dx = -3; dx <= 3; dx++) for (let dy = -3; dy <= 3; dy++) if (dx * dx + dy * dy <= 10) r.set(x + dx, y + dy, c);
    const legendX = f.right - 30 - 12 * Math.max(...series.map((t) => t.label.length));
    for (let dx = 0; dx < 14; dx++) for (let dy = 0; dy < 14; dy++) r.set(legendX - 20 + dx, f.top + 10 + i * 22 + dy, c);
    r.text(legendX, f.top + 10 + i * 22, s.label.toLowerCase(), dark);
  });
  return encodePng(r.w, r.h, r.px);
}

const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** RGB 8-bit PNG. */
export function encodePng(w: number, h: number, rgbPixels: Uint8Array): Uint8Array {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    raw.set(rgbPixels.subarray(y * w * 3, (y + 1) * w * 3), y * (w * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
