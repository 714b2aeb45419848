// Parallel coordinates on a 2D canvas, without the DOM: where the axes stand, value <-> pixel, the
// line colours quantised into a few buckets (each bucket is stroked as one path, so 10,000 runs
// cost ~33 strokes, not 10,000), the lines themselves (grey ones first, the best colour last, on
// top) and which line is under the pointer.

/** Lines per colour scale: enough that neighbouring buckets look alike. */
export const BUCKETS = 32;

/** The x of each of `n` axes between the left and right margins (one axis: the middle). */
export function axisXs(n: number, width: number, left: number, right: number): number[] {
  const plot = Math.max(1, width - left - right);
  return Array.from({ length: n }, (_, i) => left + (n > 1 ? (i * plot) / (n - 1) : plot / 2));
}

/** The y of a value on an axis drawn from `bottom` (range[0]) up to `top` (range[1]). */
export function toPixel(range: [number, number], top: number, bottom: number, v: number): number {
  const span = range[1] - range[0] || 1;
  return bottom - ((v - range[0]) / span) * (bottom - top);
}

/** The value at a y on an axis (the inverse of toPixel). */
export function fromPixel(range: [number, number], top: number, bottom: number, y: number): number {
  const h = bottom - top || 1;
  return range[0] + ((bottom - y) / h) * (range[1] - range[0]);
}

/** Every run's y on every axis, run after run (run i's point on axis j at i * axes + j). */
export function linePixels(axes: { values: number[]; range: [number, number] }[], top: number, bottom: number): Float32Array {
  const m = axes.length;
  const n = axes[0]?.values.length ?? 0;
  const ys = new Float32Array(n * m);
  axes.forEach((a, j) => {
    for (let i = 0; i < n; i++) ys[i * m + j] = toPixel(a.range, top, bottom, a.values[i]);
  });
  return ys;
}

// -- colour ---------------------------------------------------------------------------------------
function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** The colour at t in [0, 1] of a piecewise linear scale of #rrggbb stops. */
export function interpolate(scale: [number, string][], t: number): string {
  const x = Math.min(1, Math.max(0, t));
  let k = 0;
  while (k < scale.length - 2 && x > scale[k + 1][0]) k++;
  const [p0, c0] = scale[k];
  const [p1, c1] = scale[Math.min(k + 1, scale.length - 1)];
  const f = p1 > p0 ? (x - p0) / (p1 - p0) : 0;
  const a = rgb(c0);
  const b = rgb(c1);
  return "#" + a.map((v, i) => Math.round(v + (b[i] - v) * f).toString(16).padStart(2, "0")).join("");
}

/** The colour of each bucket: the scale at the bucket's middle. */
export function bucketColours(scale: [number, string][], buckets = BUCKETS): string[] {
  return Array.from({ length: buckets }, (_, b) => interpolate(scale, (b + 0.5) / buckets));
}

/** Each run's bucket from lineColours' numbers (0 grey; 0.1 .. 1 worst .. best): -1 grey, else
 *  0 (worst) .. buckets - 1 (best). */
export function bucketOf(color: number[], buckets = BUCKETS): Int16Array {
  const out = new Int16Array(color.length);
  for (let i = 0; i < color.length; i++) {
    const c = color[i];
    out[i] = !(c >= 0.1) ? -1 : Math.min(buckets - 1, Math.floor(((c - 0.1) / 0.9) * buckets));
  }
  return out;
}

// -- lines ----------------------------------------------------------------------------------------
/** What drawLines needs of a CanvasRenderingContext2D. */
export interface Pen {
  strokeStyle: string | CanvasGradient | CanvasPattern;
  globalAlpha: number;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
}

export interface LineStyle {
  grey: string;
  greyAlpha: number;
  alpha: number;
}

/** How opaque coloured lines are: solid for a few runs, lighter for thousands (so the mass of
 *  lines still shows where runs cluster). */
export function lineAlpha(n: number): number {
  return n <= 300 ? 0.85 : Math.max(0.35, 0.85 * Math.sqrt(300 / n));
}

/** Stroke every run: runs not `shown` (outside the brushes) or grey (bucket -1) first, in one
 *  faint path, then one path per bucket from the worst to the best. Returns the lines drawn. */
export function drawLines(g: Pen, xs: number[], ys: Float32Array, bucket: Int16Array, shown: Uint8Array | null, colours: string[], style: LineStyle): number {
  const m = xs.length;
  const n = bucket.length;
  if (!m || !n) return 0;
  const slots = colours.length + 1;
  const slot = (i: number): number => ((shown && !shown[i]) || bucket[i] < 0 ? 0 : bucket[i] + 1);
  // a counting sort of the runs by slot: each slot's runs are one path
  const start = new Int32Array(slots + 1);
  for (let i = 0; i < n; i++) start[slot(i) + 1]++;
  for (let s = 0; s < slots; s++) start[s + 1] += start[s];
  const order = new Int32Array(n);
  const fill = start.slice(0, slots);
  for (let i = 0; i < n; i++) order[fill[slot(i)]++] = i;
  for (let s = 0; s < slots; s++) {
    if (start[s] === start[s + 1]) continue;
    g.beginPath();
    for (let k = start[s]; k < start[s + 1]; k++) {
      const base = order[k] * m;
      if (m === 1) {
        g.moveTo(xs[0] - 6, ys[base]);
        g.lineTo(xs[0] + 6, ys[base]);
        continue;
      }
      g.moveTo(xs[0], ys[base]);
      for (let j = 1; j < m; j++) g.lineTo(xs[j], ys[base + j]);
    }
    g.strokeStyle = s ? colours[s - 1] : style.grey;
    g.globalAlpha = s ? style.alpha : style.greyAlpha;
    g.stroke();
  }
  g.globalAlpha = 1;
  return n;
}

/** The run whose line passes nearest (x, y), within `tol` px, among the runs `only` keeps; -1 if
 *  none. Distances are perpendicular to the segment between the two axes around x. */
export function nearestLine(xs: number[], ys: Float32Array, x: number, y: number, tol: number, only?: (i: number) => boolean): number {
  const m = xs.length;
  if (m < 2 || x < xs[0] - tol || x > xs[m - 1] + tol) return -1;
  let k = 0;
  while (k < m - 2 && x > xs[k + 1]) k++;
  const dx = xs[k + 1] - xs[k] || 1;
  const t = Math.min(1, Math.max(0, (x - xs[k]) / dx));
  const n = ys.length / m;
  let best = -1;
  let bestD = tol;
  for (let i = 0; i < n; i++) {
    if (only && !only(i)) continue;
    const a = ys[i * m + k];
    const b = ys[i * m + k + 1];
    const slope = (b - a) / dx;
    const d = Math.abs(a + (b - a) * t - y) / Math.sqrt(1 + slope * slope);
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** The axis whose brush strip (|x - axis| <= half) holds x, or -1. */
export function axisAt(xs: number[], x: number, half = 12): number {
  let best = -1;
  let bestD = half;
  xs.forEach((ax, j) => {
    const d = Math.abs(x - ax);
    if (d <= bestD) (best = j), (bestD = d);
  });
  return best;
}

/** A mask of the runs inside the brushed runs' indices (null: nothing brushed). */
export function maskOf(n: number, inside: number[] | null): Uint8Array | null {
  if (!inside) return null;
  const mask = new Uint8Array(n);
  for (const i of inside) mask[i] = 1;
  return mask;
}
