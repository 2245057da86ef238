/**
 * Loss curves as images a person can open: SVG (crisp, in any browser; this file) and PNG (a small
 * rasteriser with a 5×7 bitmap font here, encoded with node:zlib in plot-png.ts), no dependencies.
 */

export interface Series {
  label: string;
  color: string; // #rrggbb
  points: [number, number][];
  /** Draw markers rather than a line (sparse evaluations). */
  markers?: boolean;
}

export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export function frameFor(series: readonly Series[], width: number, height: number): Frame {
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  let x0 = Math.min(...pts.map((p) => p[0]), 0), x1 = Math.max(...pts.map((p) => p[0]), 1);
  let y0 = Math.min(...pts.map((p) => p[1])), y1 = Math.max(...pts.map((p) => p[1]));
  if (!Number.isFinite(y0)) { y0 = 0; y1 = 1; }
  if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad; y1 += pad;
  if (x1 === x0) x1 = x0 + 1;
  return { width, height, left: 70, right: width - 20, top: 40, bottom: height - 50, x0, x1, y0, y1 };
}

export const sx = (f: Frame, x: number) => f.left + ((x - f.x0) / (f.x1 - f.x0)) * (f.right - f.left);
export const sy = (f: Frame, y: number) => f.bottom - ((y - f.y0) / (f.y1 - f.y0)) * (f.bottom - f.top);

export function ticks(a: number, b: number, n = 5): number[] {
  const step0 = (b - a) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  const out: number[] = [];
  for (let v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) out.push(+v.toPrecision(10));
  return out;
}

export const fmtTick = (v: number) => (Math.abs(v) >= 10000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toPrecision(4)}`);

/** The plot as SVG text. */
export function plotSvg(series: readonly Series[], options: { title: string; xLabel: string; yLabel: string; width?: number; height?: number }): string {
  const f = frameFor(series, options.width ?? 800, options.height ?? 480);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`, `<text x="${f.width / 2}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`];
  for (const t of ticks(f.y0, f.y1)) {
    out.push(`<line x1="${f.left}" x2="${f.right}" y1="${sy(f, t)}" y2="${sy(f, t)}" stroke="#e5e5e5"/>`, `<text x="${f.left - 6}" y="${sy(f, t) + 4}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  for (const t of ticks(f.x0, f.x1)) {
    out.push(`<line y1="${f.top}" y2="${f.bottom}" x1="${sx(f, t)}" x2="${sx(f, t)}" stroke="#f0f0f0"/>`, `<text x="${sx(f, t)}" y="${f.bottom + 16}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  out.push(`<rect x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${f.bottom - f.top}" fill="none" stroke="#333"/>`,
    `<text x="${(f.left + f.right) / 2}" y="${f.height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text x="16" y="${(f.top + f.bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(f.top + f.bottom) / 2})">${esc(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (s.markers) for (const [x, y] of pts) out.push(`<circle cx="${sx(f, x).toFixed(1)}" cy="${sy(f, y).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.markers ? 1.5 : 1.2}" points="${pts.map(([x, y]) => `${sx(f, x).toFixed(1)},${sy(f, y).toFixed(1)}`).join(' ')}"/>`);
    out.push(`<rect x="${f.right - 110}" y="${f.top + 10 + i * 18}" width="12" height="12" fill="${s.color}"/>`, `<text x="${f.right - 92}" y="${f.top + 20 + i * 18}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// 5x7 glyphs (rows of 5 bits, top to bottom) for the characters the PNG labels use.
const FONT: Record<string, number[]> = {
  '0': [14, 17, 19, 21, 25, 17, 14], '1': [4, 12, 4, 4, 4, 4, 14], '2': [14, 17, 1, 2, 4, 8, 31], '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2], '5': [31, 16, 30, 1, 1, 17, 14], '6': [6, 8, 16, 30, 17, 17, 14], '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14], '9': [14, 17, 17, 15, 1, 2, 12], '.': [0, 0, 0, 0, 0, 12, 12], '-': [0, 0, 0, 31, 0, 0, 0],
  k: [16, 16, 18, 20, 24, 20, 18], a: [0, 0, 14, 1, 15, 17, 15], e: [0, 0, 14, 17, 31, 16, 14], i: [4, 0, 12, 4, 4, 4, 14],
  l: [12, 4, 4, 4, 4, 4, 14], n: [0, 0, 22, 25, 17, 17, 17], o: [0, 0, 14, 17, 17, 17, 14], r: [0, 0, 22, 25, 16, 16, 16],
  s: [0, 0, 15, 16, 14, 1, 30], t: [8, 8, 28, 8, 8, 9, 6], v: [0, 0, 17, 17, 17, 10, 4], ' ': [0, 0, 0, 0, 0, 0, 0],
  b: [16, 16, 22, 25, 17, 17, 30], c: [0, 0, 14, 16, 16, 17, 14], h: [16, 16, 22, 25, 17, 17, 17], p: [0, 0, 30, 17, 30, 16, 16],
  u: [0, 0, 17, 17, 17, 19, 13], '(': [2, 4, 8, 8, 8, 4, 2], ')': [8, 4, 2, 2, 2, 4, 8],
};

export class Raster {
  readonly px: Uint8Array;
  constructor(readonly w: number, readonly h: number) {
    this.px = new Uint8Array(w * h * 3).fill(255);
  }
  set(x: number, y: number, c: [number, number, number]): void {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    this.px.set(c, (y * this.w + x) * 3);
  }
  line(x0: number, y0: number, x1: number, y1: number, c: [number, number, number], thick = 1): void {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n, y = y0 + ((y1 - y0) * i) / n;
      for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) this.set(x + dx, y + dy, c);
    }
  }
  text(x: number, y: number, s: string, c: [number, number, number], scale = 2): void {
    for (const ch of s) {
      const g = FONT[ch] ?? FONT[' ']!;
      g.forEach((row, r) => { for (let b = 0; b < 5; b++) if (row & (16 >> b)) for (let u = 0; u < scale; u++) for (let v = 0; v < scale; v++) this.set(x + b * scale + u, y + r * scale + v, c); });
      x += 6 * scale;
    }
  }
}
